"""`make train`'s recipe under slow-machine conditions: does it end within its budget and decay?

    python bench/bench_train_budget.py [--data data/shards] [--conditions idle,one-thread,busy]
                                       [--busy 4] [--heldout FILE ...] [key=value ...]

Each condition trains trainer/configs/default.yaml (max_time 225 s unless overridden) into a
temporary folder: `idle` as configured; `one-thread` with threads=1 (OMP_NUM_THREADS=1 too);
`busy` with one thread while --busy processes spin in pure-Python loops on the same cores (the
issue's simulation of a machine ~5x slower). Prints per condition: steps, the batch the budget
chose, seconds of training and wall seconds of the whole command (start-up and the scoring after
training included: max_time bounds both), the seconds the budget reserved for that scoring, the
LR at the last step, validation and held-out bits per byte (--heldout: make train's files unless
given). Needs a quiet machine for figures worth reporting (other load adds to every condition).

bench/bench_nanogpt.py runs nanoGPT's own train.py beside it, in the same conditions, for the
same wall-clock seconds.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _shared import shown  # noqa: E402

CONDITIONS = ("idle", "one-thread", "busy")
HELDOUT = [os.path.join(REPO, "corpuskit", "ablation", "heldout", f) for f in ("web.txt.gz", "textbook.txt.gz")]


@contextlib.contextmanager
def under(condition, busy):
    """The environment of a command run in `condition` (one-thread, busy: OMP_NUM_THREADS=1), with
    `busy` spinning processes alive until the block ends in the busy condition."""
    if condition not in CONDITIONS:
        raise SystemExit(f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
    env = dict(os.environ)
    if condition != "idle":
        env["OMP_NUM_THREADS"] = "1"
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy if condition == "busy" else 0)]
    try:
        yield env
    finally:
        for p in loops:
            p.kill()
            p.wait()


def run(condition, data, heldout, busy, overrides, out):
    """make train's command (default.yaml) in `condition`: its figures, wall seconds included."""
    extra = ["threads=1"] if condition != "idle" else []
    if heldout:
        extra.append("heldout=" + ",".join(heldout))
    with under(condition, busy) as env:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "trainer", "train", "--config", "trainer/configs/default.yaml",
                        "--data", data, "--out", out, "--overwrite", "progress=false", *extra, *overrides],
                       cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    lrs = [r["lr"] for r in rows if "lr" in r]
    ckpt = sorted(d for d in os.listdir(out) if d.startswith("ckpt-"))[-1]
    cfg = json.load(open(os.path.join(out, ckpt, "config.json")))
    scores = json.load(open(os.path.join(out, ckpt, "scores.json")))
    state_lr = None
    try:
        import torch

        state = torch.load(os.path.join(out, ckpt, "training_state.pt"), weights_only=True)
        state_lr = state["scheduler"]["_last_lr"][0]
    except Exception:  # noqa: BLE001 (a figure missing, not a failure)
        pass
    return {"steps": scores["step"], "batch": cfg["batch_size"], "train_s": next(r["time"] for r in reversed(rows)
                                                                                if "time" in r),
            "wall_s": wall, "max_time": cfg["max_time"], "final_lr": state_lr, "peak_lr": max(lrs) if lrs else None,
            "val_bpb": scores["validation"]["bits_per_byte"], "heldout": scores.get("heldout", {}).get("mean"),
            "reserved": scores.get("budget", {}).get("reserved"), "scoring": scores.get("budget", {}).get("scoring")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/shards")
    ap.add_argument("--conditions", default="idle,one-thread,busy")
    ap.add_argument("--busy", type=int, default=4, help="busy-loop processes in the busy condition")
    ap.add_argument("--heldout", nargs="*", default=HELDOUT, help="text files (.gz allowed) for held-out bits per byte "
                                                                "(default: make train's web and textbook)")
    ap.add_argument("overrides", nargs="*", help="key=value for the trainer (max_time=60 for a quick look)")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(REPO, args.data, "manifest.json")) and not os.path.isfile(
            os.path.join(args.data, "manifest.json")):
        print(f"skipped: needs {shown(args.data)} (make data)")
        return
    data = os.path.abspath(os.path.join(REPO, args.data))
    print(f"{'condition':<11} {'steps':>5} {'batch':>5} {'train s':>7} {'wall s':>7} {'budget':>6} {'reserve':>7} "
          f"{'scoring':>7} {'final lr':>8} {'val bpb':>8} {'held-out':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for condition in args.conditions.split(","):
            r = run(condition, data, [os.path.abspath(h) for h in args.heldout], args.busy, args.overrides,
                    os.path.join(tmp, condition))
            final = "?" if r["final_lr"] is None else f"{r['final_lr']:.1e}"
            held = "-" if r["heldout"] is None else f"{r['heldout']:.4f}"
            reserve, scoring = ("-" if r[k] is None else f"{r[k]:.1f}" for k in ("reserved", "scoring"))
            print(f"{condition:<11} {r['steps']:>5} {r['batch']:>5} {r['train_s']:>7.1f} {r['wall_s']:>7.1f} "
                  f"{r['max_time']:>6.0f} {reserve:>7} {scoring:>7} {final:>8} {r['val_bpb']:>8.4f} {held:>8}", flush=True)


if __name__ == "__main__":
    main()
