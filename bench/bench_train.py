"""Training throughput of trainer/ against a plain fp32 nanoGPT-style loop, on the same model and batch.

    python bench/bench_train.py [--config trainer/configs/default.yaml] [--steps 8] [--rounds 5] [key=value ...]

The baseline is nanoGPT's train.py loop on our model: fp32, full (B, T, V) logits and
F.cross_entropy, AdamW at nanoGPT's defaults (lr 6e-4, betas 0.9/0.95, weight decay 0.1 on every
parameter with dim >= 2, embeddings included; not fused, as nanoGPT on CPU), grad clip 1.0. The
trainer runs as `trainer train` would with the config: dtype and compile as decided by
trainer/autotune.py (the measured figures are printed), its optimizer (Muon + AdamW for the default),
the fused head loss. Prints the matmul peak per dtype, tokens/s and MFU of both loops (MFU against
the peak of the dtype each uses), the speedup (per round: min / median / max), and peak memory.
Data are random tokens: throughput does not depend on them. Rounds alternate the two loops so
that load from other processes on a shared machine hits both alike.
"""

import argparse
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainer.autotune import choose_compile, choose_dtype  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.metrics import matmul_flops  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.optim import make_optimizer  # noqa: E402


def nanogpt_adamw(model):
    """nanoGPT's configure_optimizers: decay every parameter with dim >= 2, the others not."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=6e-4, betas=(0.9, 0.95))


def make_step(model, optimizer, x, y, dtype, plain):
    """One optimizer step. plain: full logits + F.cross_entropy in fp32, as nanoGPT's train.py does."""
    autocast = torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32)

    def step():
        with autocast:
            if plain:
                logits, _ = model(x)  # (B, T, V)
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
            else:
                _, loss = model(x, y)  # the trainer's path: fused head + loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def tokens_per_s(step, n_steps, tokens_per_step):
    t0 = time.perf_counter()
    for _ in range(n_steps):
        step()
    return n_steps * tokens_per_step / (time.perf_counter() - t0)


def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "trainer", "configs", "default.yaml"))
    ap.add_argument("--vocab-size", type=int, default=8192, help="the default corpus's vocabulary")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("overrides", nargs="*", help="key=value config overrides")
    args = ap.parse_args()

    cfg = load_config(args.config, args.overrides)
    cfg.model.vocab_size = args.vocab_size
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    B, T = cfg.batch_size, cfg.model.block_size
    print(f"device: cpu, {torch.get_num_threads()} threads, torch {torch.__version__}, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} (a shared machine: compare the ratios)")
    dtype, dtype_note, _ = choose_dtype(cfg.dtype, "cpu", B * T, cfg.model.n_embd)
    compiled, compile_note = choose_compile(cfg.compile, "cpu")
    print(f"{dtype_note}; {compile_note}")
    peaks = {d: matmul_flops("cpu", d, n=2048, seconds=2.0) for d in (torch.float32, torch.bfloat16)}
    for d, p in peaks.items():
        print(f"peak matmul {str(d)[6:]} (2048x2048x2048): {p / 1e9:.1f} GFLOP/s")

    torch.manual_seed(0)
    x = torch.randint(0, args.vocab_size, (B, T))
    y = torch.randint(0, args.vocab_size, (B, T))
    ours_model = build_model(cfg.model)
    flops_per_token = ours_model.flops_per_token()
    print(f"model: {cfg.model.arch} {cfg.model.n_layer}x{cfg.model.n_embd}, {sum(p.numel() for p in ours_model.parameters()) / 1e6:.2f}M "
          f"parameters, {flops_per_token / 1e6:.1f} MFLOP/token (training), batch {B}x{T}, vocab {args.vocab_size}")
    ours = make_step(torch.compile(ours_model) if compiled else ours_model, make_optimizer(ours_model, cfg, "cpu"),
                     x, y, dtype, plain=False)
    t0 = time.perf_counter()
    ours(), ours()  # warm-up (and compile, if enabled); the trainer first, so that its maxrss is its own
    warm, ours_rss = time.perf_counter() - t0, maxrss_mib()
    base_model = build_model(cfg.model)
    baseline = make_step(base_model, nanogpt_adamw(base_model), x, y, torch.float32, plain=True)
    baseline(), baseline()
    print(f"trainer warm-up: {warm:.1f} s{' (includes torch.compile)' if compiled else ''}")

    results = {"baseline": [], "trainer": []}
    for _ in range(args.rounds):
        results["baseline"].append(tokens_per_s(baseline, args.steps, B * T))
        results["trainer"].append(tokens_per_s(ours, args.steps, B * T))
    ratios = sorted(o / b for o, b in zip(results["trainer"], results["baseline"]))
    base, best = statistics.median(results["baseline"]), statistics.median(results["trainer"])
    name = str(dtype)[6:]
    print(f"baseline (plain fp32 nanoGPT-style loop): {base:,.0f} tokens/s (median), "
          f"MFU {100 * base * flops_per_token / peaks[torch.float32]:.1f}% of float32 peak")
    print(f"trainer ({name}{', compiled' if compiled else ''}, {cfg.optimizer}, fused head loss): {best:,.0f} tokens/s "
          f"(median), MFU {100 * best * flops_per_token / peaks[dtype]:.1f}% of {name} peak")
    print(f"speedup over baseline, per round: min {ratios[0]:.2f}x, median {statistics.median(ratios):.2f}x, "
          f"max {ratios[-1]:.2f}x")
    print(f"rounds (tokens/s): baseline {' '.join(f'{v:,.0f}' for v in results['baseline'])} | "
          f"trainer {' '.join(f'{v:,.0f}' for v in results['trainer'])}")
    print(f"peak memory (maxrss): trainer {ours_rss:.0f} MiB; with the baseline loop too {maxrss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
