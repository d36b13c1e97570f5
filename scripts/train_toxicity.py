"""Train the shipped classifier (`weights.npz`) from the Davidson tweets, deterministically.

    python scripts/train_toxicity.py /path/to/davidson_labeled_data.csv

Labels: `class` 0 (hate) and 1 (offensive) are toxic, 2 (neither) is not. One tweet in
five is held out for evaluation by a stable hash of its normalized text (`is_heldout`),
so retweets of the same text never straddle the split; `corpuskit toxicity eval
--split test` scores exactly those. Training is full-batch Adam on a class-balanced
logistic loss with L2, no random numbers, so a rerun writes the same weights.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from corpuskit.stages.toxicity.classifier import WEIGHTS, unit_slots
from corpuskit.stages.toxicity.labelled import is_heldout, read_labelled
from corpuskit.stages.toxicity.normalize import tokens

N_BUCKETS = 1 << 18


def featurize(texts: list[str], n_buckets: int = N_BUCKETS):
    """(rows, slots, values): the classifier's features, each row scaled by 1/sqrt(its slot count)."""
    rows, slots = unit_slots([tokens(t) for t in texts], n_buckets)
    counts = np.bincount(rows, minlength=len(texts))
    return rows, slots, 1.0 / np.sqrt(counts[rows])


def fit(rows, indices, values, y, n_buckets: int = N_BUCKETS, steps: int = 400, lr: float = 0.05,
        l2: float = 1e-4) -> tuple[np.ndarray, float]:
    """Full-batch Adam on the class-balanced logistic loss; returns (weights, bias)."""
    n = len(y)
    pos = y.sum()
    sample_w = np.where(y == 1, n / (2 * pos), n / (2 * (n - pos))) / n  # balanced, mean 1/n
    params = np.zeros(n_buckets + 1)  # weights then bias
    m, v = np.zeros_like(params), np.zeros_like(params)
    b1, b2 = 0.9, 0.999
    for step in range(1, steps + 1):
        w, b = params[:-1], params[-1]
        z = np.bincount(rows, weights=w[indices] * values, minlength=n) + b
        p = 1.0 / (1.0 + np.exp(-z))
        g_row = (p - y) * sample_w
        grad = np.empty_like(params)
        grad[:-1] = np.bincount(indices, weights=g_row[rows] * values, minlength=n_buckets) + l2 * w
        grad[-1] = g_row.sum()
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        params -= lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + 1e-8)
    return params[:-1], float(params[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("davidson_csv")
    ap.add_argument("--out", default=str(WEIGHTS))
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--all", action="store_true", help="Train on every row, held-out split included (tests).")
    args = ap.parse_args(argv)
    texts, y = read_labelled(args.davidson_csv, "tweet", "class", {"0", "1"})
    train = [i for i, t in enumerate(texts) if args.all or not is_heldout(t)]
    print(f"{len(texts)} labelled tweets, {len(train)} for training, {len(texts) - len(train)} held out",
          file=sys.stderr)
    rows, slots, values = featurize([texts[i] for i in train])
    weights, bias = fit(rows, slots, values, y[train], steps=args.steps, l2=args.l2)
    np.savez_compressed(args.out, weights=weights.astype(np.float16), bias=np.float64(bias),
                        n_buckets=np.int64(N_BUCKETS))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes), bias {bias:.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
