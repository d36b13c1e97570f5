"""Connected components over candidate pairs, vectorized: every node ends up labelled with
the smallest node number in its component.

Documents are numbered in input order, so the label is also the first document of the
cluster, the default keeper. The algorithm is union-find by min-label hooking with pointer
jumping, done on whole edge arrays with numpy (a handful of passes, not one Python call
per pair), and the result is independent of edge order: deterministic by construction.
Edges can come in chunks (`union`): only the labels (one integer a node) stay in memory,
the edges are streamed from disk.
"""

from __future__ import annotations

import numpy as np


def labels_array(n: int) -> np.ndarray:
    """Every node its own label: int32 while node numbers fit (4 bytes a node), else int64."""
    return np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)


def union(parent: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """Merge the components of each edge (u[i], v[i]) in place. `parent` must be flat (every
    node points at its root, as `labels_array` and this function leave it)."""
    u = np.asarray(u, dtype=parent.dtype)
    v = np.asarray(v, dtype=parent.dtype)
    while len(u):
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
            parent[:] = grand
            del grand
        u, v = u[active], v[active]  # edges already inside one component never matter again


def components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Label (length n) of each node's component: the smallest node number in it."""
    parent = labels_array(n)
    union(parent, u, v)
    return parent
