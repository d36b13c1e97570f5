"""A training step with the model's RoPE and RMSNorm autograd functions against the plain expressions.

    python bench/bench_train_kernels.py [--config trainer/configs/default.yaml] [--rounds 6] [--steps 4]

trainer/model.py computes RoPE (`_Rope`) and RMSNorm (`_RMSNorm`: the blocks' norms and the
queries' and keys' QK-norm) as autograd functions with few passes over the activations. The
reference here is what they replaced: `x * cos + cat(-x2, x1) * sin` and `F.rms_norm`. One model, one optimizer, random
tokens; rounds alternate the two versions in this process so that load from elsewhere hits both
alike. A step is forward, backward, clip and the optimizer, at the config's batch and block size
under bf16 autocast where trainer/autotune.py picks it. Prints ms a step per round and the
speed-up per round (min / median / max).
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import trainer.model as model_module  # noqa: E402
from trainer.autotune import choose_dtype  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.optim import make_optimizer  # noqa: E402


def plain_rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class PlainRMSNorm:
    apply = staticmethod(lambda x, weight, eps: F.rms_norm(x, (x.size(-1),), weight, eps))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "trainer", "configs", "default.yaml"))
    ap.add_argument("--vocab-size", type=int, default=8192, help="the default corpus's vocabulary")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per round and version")
    args = ap.parse_args()
    cfg = load_config(args.config, [])
    cfg.model.vocab_size = args.vocab_size
    B, T = cfg.batch_size, cfg.model.block_size
    dtype, note, _ = choose_dtype(cfg.dtype, "cpu", B * T, cfg.model.n_embd)
    print(note)
    torch.manual_seed(0)
    model = model_module.build_model(cfg.model)
    optimizer = make_optimizer(model, cfg, "cpu")
    g = torch.Generator().manual_seed(1)
    x, y = (torch.randint(0, args.vocab_size, (B, T), generator=g) for _ in range(2))
    autocast = torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32)

    def step():
        with autocast:
            _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    versions = {"plain": (plain_rope, PlainRMSNorm), "model.py": (model_module.apply_rope, model_module._RMSNorm)}
    times = {name: [] for name in versions}
    for _ in range(args.rounds):
        for name, (rope, norm) in versions.items():
            model_module.apply_rope, model_module._RMSNorm = rope, norm
            step()  # untimed: the first step after a switch
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - t0) / args.steps)
    model_module.apply_rope, model_module._RMSNorm = versions["model.py"]
    for name, ts in times.items():
        print(f"{name:>9}: ms a step per round {' '.join(f'{t * 1e3:.0f}' for t in ts)} | "
              f"median {statistics.median(ts) * 1e3:.0f}")
    ratio = [a / b for a, b in zip(times["plain"], times["model.py"])]
    print(f"speed-up of model.py per round: min {min(ratio):.2f}x, median {statistics.median(ratio):.2f}x, "
          f"max {max(ratio):.2f}x (batch {B}x{T}, {str(dtype)[6:]})")


if __name__ == "__main__":
    main()
