"""Training throughput of trainer/ against a plain fp32 nanoGPT-style loop, on the same model and batch.

    python bench/bench_train.py [--config trainer/configs/default.yaml] [--steps 8] [--rounds 3]

Prints plain lines: the machine's peak (a large matmul in the training dtype, measured here and
now), tokens/s and MFU of both loops, the speedup, and peak memory (maxrss). Data are random
tokens: throughput does not depend on them. Rounds alternate the two loops so that load from
other processes on a shared machine hits both alike; the best round of each is reported.
"""

import argparse
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainer.config import load_config  # noqa: E402
from trainer.metrics import matmul_flops  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.train import cpu_has_bf16_matmul, make_optimizer, resolve_dtype  # noqa: E402


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "trainer", "configs", "default.yaml"))
    ap.add_argument("--vocab-size", type=int, default=8192, help="the default corpus's vocabulary")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("overrides", nargs="*", help="key=value config overrides")
    args = ap.parse_args()

    cfg = load_config(args.config, args.overrides)
    cfg.model.vocab_size = args.vocab_size
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dtype = resolve_dtype(cfg.dtype, "cpu")
    B, T = cfg.batch_size, cfg.model.block_size
    print(f"device: cpu, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"bf16 matrix unit (AMX): {'yes' if cpu_has_bf16_matmul() else 'no'}; training dtype: {str(dtype)[6:]}")
    peaks = {d: matmul_flops("cpu", d, n=2048, seconds=2.0) for d in (torch.float32, torch.bfloat16)}
    for d, p in peaks.items():
        print(f"peak matmul {str(d)[6:]} (2048x2048x2048): {p / 1e9:.1f} GFLOP/s")
    peak = peaks[dtype]

    torch.manual_seed(0)
    x = torch.randint(0, args.vocab_size, (B, T))
    y = torch.randint(0, args.vocab_size, (B, T))
    base_model = build_model(cfg.model)
    flops_per_token = base_model.flops_per_token()
    print(f"model: {cfg.model.arch} {cfg.model.n_layer}x{cfg.model.n_embd}, {sum(p.numel() for p in base_model.parameters()) / 1e6:.2f}M "
          f"parameters, {flops_per_token / 1e6:.1f} MFLOP/token (training), batch {B}x{T}, vocab {args.vocab_size}")

    baseline = make_step(base_model, torch.optim.AdamW(base_model.parameters(), lr=1e-3, weight_decay=0.1),
                         x, y, torch.float32, plain=True)
    ours_model = build_model(cfg.model)
    ours_fwd = torch.compile(ours_model) if cfg.compile else ours_model
    ours = make_step(ours_fwd, make_optimizer(ours_model, cfg, "cpu"), x, y, dtype, plain=False)
    t0 = time.perf_counter()
    for step in (baseline, ours):
        step(), step()  # warm-up (and compile, if enabled)
    print(f"warm-up: {time.perf_counter() - t0:.1f} s{' (includes torch.compile)' if cfg.compile else ''}")

    results = {"baseline": [], "trainer": []}
    for _ in range(args.rounds):
        results["baseline"].append(tokens_per_s(baseline, args.steps, B * T))
        results["trainer"].append(tokens_per_s(ours, args.steps, B * T))
    base, best = max(results["baseline"]), max(results["trainer"])
    print(f"baseline (plain fp32 nanoGPT-style loop): {base:,.0f} tokens/s, MFU {100 * base * flops_per_token / peaks[torch.float32]:.1f}% of fp32 peak")
    print(f"trainer ({str(dtype)[6:]}{', compiled' if cfg.compile else ''}, fused head loss, fused AdamW): "
          f"{best:,.0f} tokens/s, MFU {100 * best * flops_per_token / peak:.1f}% of {str(dtype)[6:]} peak")
    print(f"speedup over baseline: {best / base:.2f}x")
    print(f"rounds (tokens/s): baseline {' '.join(f'{v:,.0f}' for v in results['baseline'])} | "
          f"trainer {' '.join(f'{v:,.0f}' for v in results['trainer'])}")
    print(f"peak memory (maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
