"""Where a training step's time goes: torch.profiler over a few steps of the trainer's own loop pieces.

    python bench/bench_train_profile.py [--config trainer/configs/default.yaml] [--steps 4] [key=value ...]

Prints the operators with the most self CPU time, and the share of the step spent in matmuls
(aten::mm / addmm / bmm / SDPA), the fused head loss, the optimizer and data loading.
"""

import argparse
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainer.autotune import choose_dtype  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.data import Batches, Shards  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.optim import make_optimizer  # noqa: E402

MATMULS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::_scaled_dot_product_flash_attention_for_cpu",
           "aten::_scaled_dot_product_flash_attention_for_cpu_backward")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "trainer", "configs", "default.yaml"))
    ap.add_argument("--data", default="data/shards")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.data, "manifest.json")):
        print(f"skipped: no shard set at {args.data} (run make data first)")
        return
    cfg = load_config(args.config, args.overrides)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    shards = Shards(args.data)
    cfg.model.vocab_size = shards.vocab_size
    dtype, note, _ = choose_dtype(cfg.dtype, "cpu", cfg.batch_size * cfg.model.block_size, cfg.model.n_embd)
    print(note)
    model = build_model(cfg.model)
    optimizer = make_optimizer(model, cfg, "cpu")
    batches = Batches(shards.tokens("train"), cfg.batch_size, cfg.model.block_size, cfg.seed, cfg.sampling, 0, 1)
    autocast = torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32)

    def step():
        with record_function("data"):
            x, y = batches.next()
        with record_function("forward"), autocast:
            _, loss = model(x, y)
        with record_function("backward"):
            loss.backward()
        with record_function("optimizer"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    step(), step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=15))
    total = sum(e.self_cpu_time_total for e in events if not e.key.startswith("ProfilerStep"))
    by_key = {e.key: e for e in events}
    matmul = sum(by_key[k].self_cpu_time_total for k in MATMULS if k in by_key)
    print(f"matmuls (mm/addmm/bmm/attention): {100 * matmul / total:.0f}% of self CPU time")
    for region in ("data", "forward", "backward", "optimizer"):
        if region in by_key:
            print(f"{region}: {by_key[region].cpu_time_total / args.steps / 1e3:.0f} ms/step (wall, including children)")


if __name__ == "__main__":
    main()
