"""Array helpers the reduce's hot paths share."""

from __future__ import annotations

import numpy as np


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d array, ascending: what `np.unique(a)` returns.

    A sort and one comparison of neighbours. NumPy 2.3+ answers a plain `np.unique` of integers
    with a hash table and then sorts it: on this project's machine 3.8 s for 4M int64 keys
    against 0.07 s here, 5-15x slower from 200 values up (bench/bench_dedup_scale.py's 100M
    band tasks spent a quarter of their time in it)."""
    a = np.sort(a, axis=None)
    if len(a) == 0:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]
