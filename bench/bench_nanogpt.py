"""`make train` against nanoGPT's own train.py, given the same wall-clock seconds, shards and condition.

    python bench/bench_nanogpt.py --nanogpt DIR [--data data/shards] [--conditions idle,one-thread,busy]
                                  [--busy 4] [--budget 225] [key=value ...]

DIR is a checkout of karpathy/nanoGPT (train.py, model.py, configurator.py); corpuskit ships none
of its code. Per condition (bench_train_budget.py's: idle, one-thread, busy beside --busy
spinning processes):

1. corpuskit: make train's command (trainer/configs/default.yaml, max_time=--budget, held-out
   web and textbook) through bench_train_budget.run; its wall seconds are the whole command's.
2. nanoGPT: the same shards exported with `corpuskit export --format nanogpt` into
   DIR/data/corpuskit (train.bin, val.bin, meta.pkl), then `python train.py` run from DIR with
   the README's CPU command (config/train_shakespeare_char.py's optimizer settings, given as flags
   here, and `--device=cpu --compile=False --eval_iters=20 --log_interval=1 --block_size=64
   --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --dropout=0.0`), except max_iters and
   lr_decay_iters, which a user fitting a wall-clock budget sets: a short calibration run in the
   same condition gives the seconds per iteration (the median of the times train.py prints) and
   the fixed cost (start-up, its two evaluations, the checkpoint), and max_iters = lr_decay_iters
   is chosen so that the whole nanoGPT command takes corpuskit's wall seconds; warmup_iters is
   min(100, max_iters // 10). eval_interval = max_iters with always_save_checkpoint=True makes it
   evaluate and save ckpt.pt at the end, inside its wall time; wandb_log=False. A run whose wall time
   misses corpuskit's by more than 2% (the calibration's iterations include its warm-up, so it tends
   to overestimate one) is run again with max_iters refitted from that run's own time.
3. Both scored on the same held-out texts with the trainer's bits-per-byte path (trainer.evaluate.
   eval_text: the shards' tokenizer, an end-of-text token first, windows of each model's block size,
   the summed loss over the file's bytes), and on the whole validation split of the shards (the
   books held out of training, nanoGPT's val.bin; trainer.evaluate.mean_loss, bits per byte from
   the manifest). nanoGPT's ckpt.pt is read with weights_only=True into the
   GPT class of DIR/model.py.

Prints per condition: corpuskit steps, bits per byte and wall seconds; nanoGPT iterations, bits per
byte and wall seconds; the ratios of held-out and of validation bits per byte (below 1: corpuskit is
better). Without --nanogpt it prints one line and exits 0. Figures worth reporting need a quiet machine.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from bench_train_budget import HELDOUT, REPO, run, under  # noqa: E402

README_CPU = ["--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1", "--block_size=64",
              "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--dropout=0.0"]
# config/train_shakespeare_char.py, which README's CPU command starts from (without it train.py would
# accumulate 40 micro-batches a step and warm up for 2,000 steps)
SHAKESPEARE_CHAR = ["--gradient_accumulation_steps=1", "--learning_rate=0.001", "--min_lr=0.0001", "--beta2=0.99"]
CALIBRATE = 30  # iterations of the calibration run
REFIT = 0.02  # a nanoGPT run further than this share from corpuskit's wall seconds is run again, refitted
NAME = "corpuskit"  # DIR/data/NAME


def export(data, nanogpt):
    """The shards as nanoGPT's dataset DIR/data/NAME (an earlier export there is replaced)."""
    out = os.path.join(nanogpt, "data", NAME)
    subprocess.run([sys.executable, "-m", "corpuskit", "export", data, out, "--format", "nanogpt"], cwd=REPO,
                   check=True, stdout=subprocess.DEVNULL)
    return out


def nanogpt_run(nanogpt, condition, busy, iters, out_dir):
    """(wall seconds, seconds of each iteration as train.py printed them) of train.py for `iters`."""
    args = [*README_CPU, *SHAKESPEARE_CHAR, f"--dataset={NAME}", f"--out_dir={out_dir}", f"--max_iters={iters}",
            f"--lr_decay_iters={iters}", f"--warmup_iters={min(100, iters // 10)}", f"--eval_interval={iters}",
            "--always_save_checkpoint=True", "--wandb_log=False"]
    with under(condition, busy) as env:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "train.py", *args], cwd=nanogpt, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"nanoGPT train.py failed ({done.returncode}):\n{done.stderr[-2000:]}")
    times = [float(t) / 1000 for t in re.findall(r"^iter \d+: loss [\d.]+, time ([\d.]+)ms", done.stdout, re.M)]
    return wall, times


def fit_iters(nanogpt, condition, busy, target, tmp):
    """max_iters whose whole train.py command takes `target` seconds, from a calibration run:
    (iters, seconds per iteration, calibration wall seconds)."""
    wall, times = nanogpt_run(nanogpt, condition, busy, CALIBRATE, os.path.join(tmp, f"calibrate-{condition}"))
    # iterations 0 and CALIBRATE include the two evaluations: they stay in the fixed cost
    per_iter = statistics.median(times[1:-1])
    return max(CALIBRATE, CALIBRATE + int((target - wall) / per_iter)), per_iter, wall


def nanogpt_bpb(nanogpt, ckpt, data, heldout):
    """(mean held-out bits per byte, validation-split bits per byte, iterations) of nanoGPT's ckpt.pt,
    scored as the trainer scores its own."""
    import torch
    from tokenizers import Tokenizer

    from trainer.data import Shards
    from trainer.evaluate import eval_text, mean_loss, summarize

    sys.path.insert(0, nanogpt)
    from model import GPT, GPTConfig  # DIR/model.py: nanoGPT's own class

    class Contiguous(torch.nn.Module):
        """nanoGPT's forward takes targets.view(-1); the trainer's evaluation windows are slices."""

        def __init__(self, gpt):
            super().__init__()
            self.gpt = gpt

        def forward(self, x, y):
            return self.gpt(x.contiguous(), y.contiguous())

    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    gpt = GPT(GPTConfig(**state["model_args"]))
    gpt.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in state["model"].items()})
    model = Contiguous(gpt)
    shards = Shards(data)
    tokenizer = Tokenizer.from_file(shards.tokenizer_path)
    bpb = [eval_text(model, tokenizer, shards.eot_id, p, state["model_args"]["block_size"], 64)["bits_per_byte"]
           for p in heldout]
    block = state["model_args"]["block_size"]
    val = summarize(mean_loss(model, shards.tokens("validation"), block, 64, "cpu")[0],
                    shards.bytes_per_token("validation"))["bits_per_byte"]
    return sum(bpb) / len(bpb), val, state["iter_num"]


def corpuskit_val(out):
    """Validation-split bits per byte of the run's final checkpoint, the whole split (the run itself
    may read part of it: score_share)."""
    from trainer.evaluate import eval_checkpoint

    return eval_checkpoint(out, batch_size=64)["bits_per_byte"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nanogpt", help="a checkout of karpathy/nanoGPT (train.py, model.py, configurator.py)")
    ap.add_argument("--data", default="data/shards")
    ap.add_argument("--conditions", default="idle,one-thread,busy")
    ap.add_argument("--busy", type=int, default=4, help="busy-loop processes in the busy condition")
    ap.add_argument("--budget", type=float, default=225.0, help="corpuskit's max_time (make train: 225)")
    ap.add_argument("overrides", nargs="*", help="key=value for the trainer (eval_tasks= for a quick look)")
    args = ap.parse_args()
    if not args.nanogpt or not all(os.path.isfile(os.path.join(args.nanogpt, f))
                                   for f in ("train.py", "model.py", "configurator.py")):
        print("skipped: needs --nanogpt DIR (a checkout of karpathy/nanoGPT)")
        return
    data = os.path.abspath(os.path.join(REPO, args.data))
    if not os.path.isfile(os.path.join(data, "manifest.json")):
        print(f"skipped: needs {args.data} (make data)")
        return
    nanogpt = os.path.abspath(args.nanogpt)
    sys.path.insert(0, REPO)
    export(data, nanogpt)
    print(f"corpuskit: make train's recipe, max_time={args.budget:g}; nanoGPT: train.py with README's CPU settings, "
          f"max_iters = lr_decay_iters fitted to corpuskit's wall seconds in the same condition")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for condition in args.conditions.split(","):
            try:
                ck = run(condition, data, HELDOUT, args.busy, [f"max_time={args.budget:g}", *args.overrides],
                         os.path.join(tmp, condition))
            except subprocess.CalledProcessError:  # its one-line error is above (a budget too short for the scoring)
                print(f"{condition}: the corpuskit run failed; nothing to compare")
                continue
            lr = "n/a" if ck["final_lr"] is None else f"{ck['final_lr']:.1e}"
            print(f"{condition}: corpuskit {ck['steps']} steps of batch {ck['batch']} ({ck['train_s']:.0f} s training, "
                  f"final lr {lr}), scoring {ck['scoring']} s of {ck['reserved']} s reserved, {ck['wall_s']:.1f} s "
                  f"wall for max_time={args.budget:g}", flush=True)
            iters, per_iter, cal_wall = fit_iters(nanogpt, condition, args.busy, ck["wall_s"], tmp)
            print(f"{condition}: nanoGPT calibration {CALIBRATE} iters in {cal_wall:.1f} s, {per_iter * 1000:.1f} ms "
                  f"an iteration: max_iters = lr_decay_iters = {iters} for corpuskit's {ck['wall_s']:.1f} s",
                  flush=True)
            out_dir = os.path.join(tmp, f"nanogpt-{condition}")
            ng_wall, _ = nanogpt_run(nanogpt, condition, args.busy, iters, out_dir)
            if abs(ng_wall - ck["wall_s"]) > REFIT * ck["wall_s"]:
                # the calibration's iterations include its warm-up: fit again from the whole run's time
                fixed = cal_wall - CALIBRATE * per_iter
                run_iter = max(1e-6, (ng_wall - fixed) / iters)
                refit = max(CALIBRATE, iters + int((ck["wall_s"] - ng_wall) / run_iter))
                print(f"{condition}: nanoGPT took {ng_wall:.1f} s for corpuskit's {ck['wall_s']:.1f} s "
                      f"({run_iter * 1000:.1f} ms an iteration): again with max_iters = lr_decay_iters = {refit}",
                      flush=True)
                iters = refit
                ng_wall, _ = nanogpt_run(nanogpt, condition, args.busy, iters, out_dir)
            ng_bpb, ng_val, ng_iters = nanogpt_bpb(nanogpt, os.path.join(out_dir, "ckpt.pt"), data, HELDOUT)
            ck_val = corpuskit_val(os.path.join(tmp, condition))
            rows.append((condition, ck["steps"], ck["heldout"], ck_val, ck["wall_s"], ng_iters, ng_bpb, ng_val, ng_wall))
    print(f"\n{'condition':<11} {'ck steps':>8} {'ck bpb':>7} {'ck val':>7} {'ck wall':>7} {'ng iters':>8} {'ng bpb':>7} "
          f"{'ng val':>7} {'ng wall':>7} {'bpb ratio':>9} {'val ratio':>9}")
    for condition, steps, bpb, val, wall, iters, ng_bpb, ng_val, ng_wall in rows:
        print(f"{condition:<11} {steps:>8} {bpb:>7.4f} {val:>7.4f} {wall:>7.1f} {iters:>8} {ng_bpb:>7.4f} {ng_val:>7.4f} "
              f"{ng_wall:>7.1f} {bpb / ng_bpb:>8.3f}x {val / ng_val:>8.3f}x")
    print("bpb: mean of held-out " + " and ".join(os.path.basename(p) for p in HELDOUT) + " (make train's held-out "
          "text); val: the shards' validation split (the books held out of training; nanoGPT's val.bin), all of it")


if __name__ == "__main__":
    main()
