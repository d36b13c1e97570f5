"""The training loop: one process, or DDP under torchrun (gloo on CPU, NCCL on GPU).

Data and model go in, checkpoints, metrics.jsonl and loss.png come out. On CPU a resumed run
reproduces the loss sequence of an uninterrupted one bit for bit: weights, optimizer, schedule,
RNG states and the data cursor are all in the checkpoint, and batches depend only on the cursor.
"""

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from tokenizers import Tokenizer
from torch.nn.parallel import DistributedDataParallel as DDP

from .autotune import DTYPES, choose_compile, choose_dtype, resolve_device
from . import budget as budgeting
from .budget import Schedule, TimeBudget, steps_within_time  # noqa: F401 (steps_within_time: as before)
from .checkpoint import (check_out, check_same_tokenizer, load_autotune, load_config_from, load_training_state,
                         load_weights, remove_previous_run, resolve_checkpoint, save_checkpoint)
from .config import apply_overrides
from .data import Batches, Shards
from .errors import ConfigError, DivergedError
from .downstream import evaluate_tasks, task_config, task_names
from .evaluate import eval_text, mean_loss, summarize
from .files import folder_lock, remove_temporaries
from .metrics import MetricsLog, keep_metrics_until, peak_flops, plot_losses
from .model import build_model
from .optim import make_optimizer
from .progress import Progress
from .reserve import time_scoring
from .sample import complete


@dataclass
class Dist:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def master(self):
        return self.rank == 0


def setup_distributed(device_pref):
    """Join the torchrun process group if RANK/WORLD_SIZE are set; a plain run is world size 1."""
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return Dist()
    d = Dist(int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"]))
    use_cuda = device_pref.startswith("cuda") or (device_pref == "auto" and torch.cuda.is_available())
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return d


def rng_state(device):
    state = {"torch": torch.get_rng_state()}
    if device.startswith("cuda"):
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state, device):
    torch.set_rng_state(state["torch"])
    if "cuda" in state and device.startswith("cuda"):
        torch.cuda.set_rng_state(state["cuda"], device)


def gather_rng_states(d, device):
    """Every rank's RNG state (rank order), so that dropout resumes identically on each rank."""
    mine = rng_state(device)
    if d.world_size == 1:
        return [mine]
    states = [None] * d.world_size
    dist.all_gather_object(states, mine)
    return states


def train(cfg, resume=None, overrides=(), overwrite=False, started=None):
    """Train per `cfg` (or continue checkpoint `resume`, whose config `overrides` may amend).
    A folder `cfg.out` that holds another run is refused unless `overwrite` (which deletes that
    run's checkpoints and metrics first). `max_time` counts from `started` (a reading of
    budget.now(); the command line passes the process's start), else from this call. Returns a
    dict with the final checkpoint path and validation metrics (on rank 0)."""
    started = budgeting.now() if started is None else started
    state, new_length = None, False
    if resume:
        resume = resolve_checkpoint(resume)
        saved = load_config_from(resume)
        asked = apply_overrides(saved, overrides)  # the checkpoint's run as the overrides amend it
        # A run keeps the length it settled on (see max_time) unless the overrides extend or shorten
        # it; a given cfg's own max_steps does not count, since it may be the cap max_time refitted.
        new_length = asked.max_steps != saved.max_steps
        cfg = apply_overrides(cfg, overrides) if cfg else asked
        state = load_training_state(resume)
    # One run at a time in a folder. Rank 0 of a torchrun group holds the lock for all its ranks
    # (torchrun stops the others when rank 0 exits refused); a second run gets a one-line error.
    master = os.environ.get("RANK", "0") == "0"
    with folder_lock(cfg.out) if master else contextlib.nullcontext():
        check_out(cfg.out, resume, cfg.init_from, overwrite)  # in every process, before any of them writes
        return _train(cfg, resume, state, new_length, overwrite, started)


def _train(cfg, resume, state, new_length, overwrite, started):
    """train()'s work, in the run folder it holds."""
    d = setup_distributed(cfg.device)
    device = resolve_device(cfg.device, d.local_rank if d.world_size > 1 else None)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device_type = "cuda" if device.startswith("cuda") else "cpu"

    shards = Shards(cfg.data)
    if cfg.eval_tasks:  # a misspelt task or a missing file is refused now, not after the training it would follow
        task_names(cfg.eval_tasks, task_config())
    heldout = [p.strip() for p in cfg.heldout.split(",") if p.strip()]
    for p in heldout:
        if not os.path.isfile(p):
            raise ConfigError(f"heldout: {p} is not a file")
    init_path = None
    if cfg.init_from and state is None:  # transfer: the architecture comes with the weights; dropout stays ours
        init_path = resolve_checkpoint(cfg.init_from)
        dropout = cfg.model.dropout
        cfg.model = load_config_from(init_path).model
        cfg.model.dropout = dropout
        check_same_tokenizer(init_path, shards)
    if state is not None:
        check_same_tokenizer(resume, shards)  # a resumed run's data must be the shard set it began on
    if cfg.model.vocab_size == 0:
        cfg.model.vocab_size = shards.vocab_size
    elif cfg.model.vocab_size < shards.vocab_size:
        raise ConfigError(f"model.vocab_size {cfg.model.vocab_size} < the shard set's vocabulary {shards.vocab_size}")

    if state is not None and "dtype" in state:  # a resumed run keeps the dtype it measured, bit for bit
        dtype, dtype_note = DTYPES[state["dtype"]], f"dtype {state['dtype']} (as the run began)"
        autotune = load_autotune(resume)
    else:
        dtype, dtype_note, measured = choose_dtype(cfg.dtype, device, cfg.batch_size * cfg.model.block_size,
                                                   cfg.model.n_embd)
        autotune = {"dtype": measured} if measured else None
    if d.world_size > 1:  # every rank trains in rank 0's choice
        choice = [dtype, dtype_note, autotune]
        dist.broadcast_object_list(choice, src=0)
        dtype, dtype_note, autotune = choice
    autocast = torch.autocast(device_type, dtype=dtype, enabled=dtype != torch.float32)
    compiled, compile_note = choose_compile(cfg.compile, device)

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    model = build_model(cfg.model)
    if init_path:
        load_weights(model, init_path)
    if state is not None:
        load_weights(model, resume)
    torch.manual_seed(cfg.seed + 1 + d.rank)  # per-rank dropout streams
    model.to(device)
    optimizer = make_optimizer(model, cfg, device)
    schedule = Schedule(cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    batches = Batches(shards.tokens("train"), cfg.batch_size, cfg.model.block_size, cfg.seed, cfg.sampling,
                      d.rank, d.world_size)
    val = shards.tokens("validation")
    step = 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        batches.load_state_dict(state["data"])
        rngs = state["rng"]
        set_rng_state(rngs[d.rank] if len(rngs) == d.world_size else rngs[0], device)
        step = int(state["step"])
        if new_length:
            schedule.max_steps = cfg.max_steps
        cfg.max_steps = schedule.max_steps
        cfg.max_time = 0.0

    raw_model = model
    if compiled:
        model = torch.compile(model)
    if d.world_size > 1:
        model = DDP(model, device_ids=[d.local_rank] if device_type == "cuda" else None)

    if d.master:  # config, checkpoint and shards checked first: a run refused changes nothing in its folder
        if overwrite:
            remove_previous_run(cfg.out)
        remove_temporaries(cfg.out)  # what a run killed mid-write left: a half checkpoint, a metrics rewrite
        if state is not None:  # rows a killed continuation logged after this checkpoint would come twice
            keep_metrics_until(os.path.join(cfg.out, "metrics.jsonl"), int(state["step"]))
    log = MetricsLog(cfg.out, cfg.tensorboard) if d.master else None
    tokens_per_step = cfg.batch_size * cfg.model.block_size * cfg.grad_accum * d.world_size
    # scoring reads batches of the size it was timed at for max_time's reserve: a batch the budget
    # halves makes training steps cheaper, and would make the scoring after them slower
    score_batch = cfg.batch_size
    flops_per_token = raw_model.flops_per_token()
    peak = peak_flops(device, dtype) if d.master else 0.0  # for MFU in every progress line
    bpt_val = shards.bytes_per_token("validation")

    def evaluate(max_windows):
        report = progress.validation(step, cfg.max_steps) if progress else None
        loss, _ = mean_loss(raw_model, val, cfg.model.block_size, score_batch, device, autocast,
                            max_windows, d.rank, d.world_size, report)
        metrics = summarize(loss, bpt_val)
        if progress:
            progress.validated(step, cfg.max_steps, metrics)
        return metrics

    def checkpoint(name, scores=None):
        # One sync per checkpoint (none per step): weights that are NaN or inf are never saved. Every
        # rank holds the same weights, so every rank stops here together.
        if not torch.stack([torch.isfinite(p).all() for p in raw_model.parameters()]).all():
            raise DivergedError(f"step {step}: the weights are no longer finite (NaN or inf); training diverged and "
                                f"{name} was not written: lower lr (now {cfg.lr:g}) or keep grad_clip on")
        train_state = {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                       "rng": gather_rng_states(d, device), "data": batches.state_dict(), "dtype": str(dtype)[6:]}
        path = os.path.join(cfg.out, name)
        if d.master:
            save_checkpoint(path, raw_model, cfg, shards, train_state, autotune, scores)
        if d.world_size > 1:
            dist.barrier()
        return path

    bar = progress = None
    if d.master:
        # A bar only where a person watches it: in a log file its carriage returns are noise (progress.py).
        if cfg.progress and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=cfg.max_steps, initial=step, unit="step", mininterval=1.0, dynamic_ncols=True,
                       bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")  # progress.py's ETA
        progress = Progress(cfg.out, step, bar, resumed_from=resume if state is not None else None)
        n_params = sum(p.numel() for p in raw_model.parameters())
        progress.say(f"model {cfg.model.arch}: {n_params / 1e6:.2f}M parameters | {tokens_per_step} tokens/step | "
                     f"{len(batches.stream) / 1e6:.2f}M train tokens | device {device} "
                     f"{str(dtype).removeprefix('torch.')}{' compiled' if compiled else ''} | {cfg.optimizer} | "
                     f"world size {d.world_size}")
        progress.say(f"{dtype_note}; {compile_note}")

    t_start = time.perf_counter()
    budget = scoring = None
    val_windows = 0  # the final validation's windows: 0, all of them, unless the budget cuts the scoring
    if cfg.max_time > 0:  # plan, refit and stop (budget.py); rank 0 decides for every rank
        def measure():
            nonlocal scoring
            tokenizer = Tokenizer.from_file(shards.tokenizer_path) if heldout or cfg.eval_tasks or cfg.sample_tokens \
                else None
            scoring = time_scoring(raw_model, cfg, val, heldout, tokenizer, shards.eot_id, device, autocast,
                                   d.world_size, budgeting.now, batch=score_batch)
            return scoring.fit(cfg.score_share * cfg.max_time / (1 + budgeting.RESERVE_MARGIN)).parts()

        budget = TimeBudget(cfg.max_time, cfg.max_steps, cfg.batch_size, tokens_per_step // cfg.batch_size, len(val),
                            cfg.min_steps, max(1, cfg.batch_size // 16), measure=measure if d.master else None)
        budget.start(step, started)
        reserve_told = False
    tokens = step * tokens_per_step
    t_last, step_last = time.perf_counter(), step
    model.train()
    while step < cfg.max_steps:
        loss_sum = torch.zeros((), device=device)
        for micro in range(cfg.grad_accum):
            x, y = batches.next()
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            last = micro == cfg.grad_accum - 1
            sync = contextlib.nullcontext() if last or d.world_size == 1 else model.no_sync()
            with sync:
                with autocast:
                    _, loss = model(x, y)
                (loss / cfg.grad_accum).backward()
            loss_sum += loss.detach()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.grad_clip)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        if progress:
            progress.stepped(step)

        tokens += tokens_per_step
        if budget is not None:
            plan = budget.stepped(step) if d.master else None
            cut = scoring.val_batches * score_batch * d.world_size if scoring else 0
            plan = (plan.max_steps, plan.batch_size, cut) if plan else (0, 0, 0)
            if d.master and budget.reserve and not reserve_told:  # where a user sees what the budget kept back
                reserve_told = True
                progress.say(f"step {step}: {budget.reserve.describe()} of max_time={cfg.max_time:g}s reserved for the "
                             f"scoring after training (the budget counts start-up too)")
                if scoring.describe():
                    progress.say(f"step {step}: the scoring is cut to score_share={cfg.score_share:g} of max_time: "
                                 f"{scoring.describe()}")
                log.log(step=step, reserve={**budget.reserve.parts, "margin": budgeting.RESERVE_MARGIN,
                                            "total": budget.kept})
            if d.world_size > 1:  # every rank must stop at the same step, with the same batch
                t = torch.tensor(plan, device=device)
                dist.broadcast(t, src=0)
                plan = tuple(t.tolist())
            val_windows = plan[2]
            if plan[1] != cfg.batch_size:
                if d.master:
                    progress.say(f"step {step}: fewer than min_steps={cfg.min_steps} steps of batch {cfg.batch_size} "
                                 f"fit in max_time={cfg.max_time:g}s: batch {plan[1]} from here (timed afresh)")
                cfg.batch_size = plan[1]
                batches.resize(cfg.batch_size)
                tokens_per_step = cfg.batch_size * cfg.model.block_size * cfg.grad_accum * d.world_size
            if plan[0] != cfg.max_steps:
                schedule.set_length(plan[0], step)
                cfg.max_steps = plan[0]
                if bar is not None:
                    bar.total = cfg.max_steps
                    bar.refresh()
        if step % cfg.log_interval == 0 or step == cfg.max_steps:
            if d.world_size > 1:
                dist.all_reduce(loss_sum, op=dist.ReduceOp.SUM)
                loss_sum /= d.world_size
            loss_val = loss_sum.item() / cfg.grad_accum
            if not math.isfinite(loss_val):  # checked where .item() syncs anyway: at the log interval
                raise DivergedError(f"step {step}: training loss is {loss_val}; training diverged and stopped "
                                    f"without a checkpoint: lower lr (now {cfg.lr:g}) or keep grad_clip on")
            now = time.perf_counter()
            tok_s = (step - step_last) * tokens_per_step / max(now - t_last, 1e-9)
            mfu = tok_s * flops_per_token / peak if peak else 0.0
            t_last, step_last = now, step
            if d.master:
                log.log(step=step, loss=loss_val, lr=lr, tokens=tokens, tok_per_s=round(tok_s, 1),
                        mfu=round(mfu, 4), epoch=round(batches.epoch(), 4), time=round(now - t_start, 2))
                progress.interval(step, cfg.max_steps, loss_val, lr, tok_s, mfu)
        if bar is not None:
            bar.update(1)
        if cfg.eval_interval and step % cfg.eval_interval == 0 and step < cfg.max_steps:
            metrics = evaluate(cfg.eval_batches * score_batch)
            if d.master:
                log.log(step=step, **{f"val_{k}": v for k, v in metrics.items()})
        if cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0 and step < cfg.max_steps:
            checkpoint(f"ckpt-{step:06d}")
        if step == cfg.halt_at_step and step < cfg.max_steps:
            path = checkpoint(f"ckpt-{step:06d}")
            if bar is not None:
                bar.close()
            if d.master:
                progress.say(f"halted at step {step}; resume with --resume {path}")
                progress.close()
                log.close()
            return {"checkpoint": path, "step": step}

    if bar is not None:
        bar.close()
    train_time = time.perf_counter() - t_start
    scoring_from = budgeting.now()
    metrics = evaluate(val_windows)  # the whole validation split, unless the budget cut the scoring
    scores = {"step": step, "validation": metrics}  # the final checkpoint's scores.json (export-hf's card)
    if cfg.heldout and d.master:  # text the shard set never saw: bits per byte of each file, and their mean
        tokenizer = Tokenizer.from_file(shards.tokenizer_path)
        scores["heldout"] = {os.path.basename(p).split(".")[0]: eval_text(
            raw_model, tokenizer, shards.eot_id, p, cfg.model.block_size, score_batch, device,
            autocast)["bits_per_byte"] for p in heldout}
        scores["heldout"]["mean"] = sum(scores["heldout"].values()) / len(heldout)
    if cfg.eval_tasks and d.master:
        scores.update(tasks_spec=cfg.eval_tasks, **evaluate_tasks(raw_model, Tokenizer.from_file(shards.tokenizer_path),
                                                                  shards.eot_id, cfg.eval_tasks, device=device,
                                                                  limit=scoring.task_limit if scoring else 0))
    if budget is not None and budget.reserve is not None:  # the reserve beside what the scoring took
        scores["budget"] = {"max_time": cfg.max_time, "before_scoring": round(scoring_from - budget.t0, 2),
                            "reserved": round(budget.kept, 2), "parts": budget.reserve.parts,
                            "scoring": round(budgeting.now() - scoring_from, 2)}
        if scoring.describe():
            scores["budget"]["cut"] = {"score_share": cfg.score_share, "validation_windows": val_windows,
                                       "task_items": scoring.task_limit}
    path = checkpoint(f"ckpt-{step:06d}", scores)
    result = {"checkpoint": path, "step": step, "train_time": train_time,
              **{f"val_{k}": v for k, v in metrics.items()}, **{k: scores[k] for k in ("heldout", "tasks", "core")
                                                                if k in scores}}
    if d.master:
        log.log(step=step, **{f"val_{k}": v for k, v in metrics.items()})
        if "tasks" in scores or "heldout" in scores:
            log.log(step=step, **{k: scores[k] for k in ("heldout", "tasks", "core") if k in scores})
        log.close()
        if cfg.plot:
            plot_losses(log.path, os.path.join(cfg.out, "loss.png"))
        progress.say(f"checkpoint: {path}")
        if cfg.sample_tokens:
            tokenizer = Tokenizer.from_file(shards.tokenizer_path)
            text = complete(raw_model.eval(), tokenizer, cfg.sample_prompt, shards.eot_id, cfg.sample_tokens,
                            seed=cfg.seed)[0]
            result["sample"] = text
            progress.say(f"sample: {text}")
        # the scores last, where a person looks when the run ends
        if "budget" in scores:
            b = scores["budget"]
            progress.say(f"time: {budgeting.now() - budget.t0:.0f} s of max_time={cfg.max_time:g}s, start-up included; "
                         f"scoring took {b['scoring']:.0f} s of the {b['reserved']:.0f} s reserved")
        progress.scores(step, train_time, scores, cfg.eval_tasks, scoring.task_limit if scoring else 0)
        progress.close()
    if d.world_size > 1:
        dist.destroy_process_group()
    return result
