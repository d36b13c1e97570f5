"""Connected components over candidate pairs, vectorized: every node ends up labelled with
the smallest node number in its component.

Documents are numbered in input order, so the label is also the first document of the
cluster, the default keeper. The algorithm is union-find by min-label hooking with pointer
jumping, done on whole edge arrays with numpy (a handful of passes, not one Python call
per pair), and the result is independent of edge order: deterministic by construction.
"""

from __future__ import annotations

import numpy as np


def components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Label (int64, length n) of each node's component: the smallest node number in it."""
    parent = np.arange(n, dtype=np.int64)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if len(u) == 0:
        return parent
    while True:
        pu, pv = parent[u], parent[v]
        lo, hi = np.minimum(pu, pv), np.maximum(pu, pv)
        active = lo != hi
        if not active.any():
            break
        # hook each root onto the smallest root it touches
        np.minimum.at(parent, hi[active], lo[active])
        # pointer jumping until every node points at a root
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        keep = active  # edges already inside one component never matter again
        u, v = u[keep], v[keep]
    return parent
