"""Greedy generation with the KV cache against full recomputation, and the time of `eval --tasks quick`.

    python bench/bench_eval.py [--config trainer/configs/default.yaml] [--new 256] [--prompt 16] [--rounds 5]
                               [--batch 1] [--checkpoint CKPT] [key=value ...]

The model is the config's (the default: 4 layers, 192 wide), with block_size raised to hold the
prompt and the new tokens (512 for 16 + 256): within its window, generation with the cache feeds
each new token alone; past it the window slides and both ways recompute (sample.py says why).
Weights are random (the time of a forward pass does not depend on them), or a checkpoint's with
--checkpoint, whose block_size then stands. Rounds alternate the two ways so that load from other
processes hits both alike; per round the speed-up, then min / median / max. Both ways must give
the same tokens at temperature 0; the script says whether they did. With --checkpoint it also
times `eval --tasks quick` on it.
"""

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainer.config import load_config  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.sample import generate  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="trainer/configs/default.yaml")
    ap.add_argument("--checkpoint")
    ap.add_argument("--new", type=int, default=256, help="new tokens")
    ap.add_argument("--prompt", type=int, default=16, help="prompt tokens")
    ap.add_argument("--batch", type=int, default=1, help="sequences generated at once")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.checkpoint:
        from trainer.checkpoint import load_model, resolve_checkpoint

        model, cfg = load_model(resolve_checkpoint(args.checkpoint), "cpu")
        mcfg = cfg.model
    else:
        cfg = load_config(args.config, args.overrides)
        mcfg = cfg.model
        mcfg.vocab_size = mcfg.vocab_size or 8192
        mcfg.block_size = max(mcfg.block_size, args.prompt + args.new)
        model = build_model(mcfg)
    model.eval()
    prompt = torch.randint(0, mcfg.vocab_size, (args.batch, args.prompt))
    print(f"model: {mcfg.n_layer} layers x {mcfg.n_embd}, vocab {mcfg.vocab_size}, block_size {mcfg.block_size}; "
          f"batch {args.batch}, prompt {args.prompt} + {args.new} new tokens, greedy; torch threads "
          f"{torch.get_num_threads()}; {'checkpoint ' + args.checkpoint if args.checkpoint else 'random weights'}")
    generate(model, prompt, 8, temperature=0)  # warm up kernels
    times = {"full": [], "cache": []}
    same = True
    for _ in range(args.rounds):
        outs = {}
        for name in ("full", "cache"):
            t0 = time.perf_counter()
            outs[name] = generate(model, prompt, args.new, temperature=0, use_cache=name == "cache")
            times[name].append(time.perf_counter() - t0)
        same &= torch.equal(outs["full"], outs["cache"])
    ratios = [f / c for f, c in zip(times["full"], times["cache"])]
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:>5}: median {med:.3f} s for {args.new} tokens ({args.new * args.batch / med:,.0f} tokens/s)")
    print(f"speed-up per round: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x, "
          f"max {max(ratios):.2f}x")
    print(f"same tokens at temperature 0: {'yes' if same else 'NO'}")
    if args.checkpoint:
        from trainer.downstream import eval_tasks_checkpoint, format_table

        t0 = time.perf_counter()
        result = eval_tasks_checkpoint(args.checkpoint, "quick")
        print(format_table(result))
        print(f"eval --tasks quick: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
