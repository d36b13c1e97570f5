"""The stores of a reduce, addressed by global document number, and pair similarity.

Documents get global numbers in input order: indexed documents from earlier runs first,
then every unit's documents in unit order. Every read here touches only what it needs (one
band column slice, the rows of the pairs at hand, the ids asked for), so no step holds a
column of the whole corpus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from corpuskit.stages.dedup.arrays import sorted_unique
from corpuskit.stages.dedup.store import Store, ids_at

SIM_CHUNK = 1 << 14  # pairs per gather of signatures: <= 2 x 16k rows of pages mapped at once (~130 MB)


@dataclass
class Corpus:
    """The stores of a reduce, addressed by global document number."""

    stores: list[Store]
    n_indexed: int = 0  # the first n_indexed documents come from the index and are never removed
    offsets: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.offsets = np.zeros(len(self.stores) + 1, dtype=np.int64)
        np.cumsum([s.n_docs for s in self.stores], out=self.offsets[1:])

    @property
    def n(self) -> int:
        return int(self.offsets[-1])

    def locate(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(store number, row in that store) of global document numbers."""
        which = np.searchsorted(self.offsets, g, side="right") - 1
        return which, g - self.offsets[which]

    def gather(self, getter, g: np.ndarray) -> np.ndarray:
        """Values of a per-document column (`getter(store)`, memory-mapped) at global numbers `g`."""
        g = np.asarray(g, dtype=np.int64)
        order = np.argsort(g, kind="stable")
        ordered = g[order]  # sorted numbers: each store's rows are one slice, its pages read in order
        bounds = np.searchsorted(ordered, self.offsets)  # (a mask per store cost stores x numbers)
        out = None
        for s in np.flatnonzero(np.diff(bounds)).tolist():
            lo, hi = int(bounds[s]), int(bounds[s + 1])
            col = getter(self.stores[s])
            part = np.asarray(col[ordered[lo:hi] - self.offsets[s]])
            if out is None:
                out = np.empty((len(g),) + part.shape[1:], dtype=part.dtype)
            out[order[lo:hi]] = part
            del col  # unmap now: mapped pages count as this process's memory
        return out if out is not None else np.zeros(0)

    def ids(self, g: np.ndarray) -> list[str]:
        """The document ids of global numbers `g`, reading each store's ids file in blocks and
        decoding only the rows asked for: never the id table of a store (~100 bytes a document)."""
        g = np.asarray(g, dtype=np.int64)
        which, rows = self.locate(g)
        out: list[str] = [""] * len(g)
        for s in sorted_unique(which).tolist():
            pick = np.flatnonzero(which == s)
            want, back = np.unique(rows[pick], return_inverse=True)
            lines = list(ids_at(self.stores[s].path, want))
            for p, b in zip(pick.tolist(), back.tolist()):
                out[p] = lines[b]
        return out

    def snippets(self, g: np.ndarray) -> list[str | None]:
        """The first characters of documents `g` (store.SNIPPET), None where a store kept none
        (an index generation): a few seeks each, for the report's largest clusters."""
        which, rows = self.locate(np.asarray(g, dtype=np.int64))
        return [self.stores[s].snippet(r) for s, r in zip(which.tolist(), rows.tolist())]

    def shingle_set(self, g: int) -> np.ndarray | None:
        s, row = (int(x[0]) for x in self.locate(np.array([g])))
        store = self.stores[s]
        if not store.has_shingles:
            return None
        sh, off = store.shingles()
        return np.asarray(sh[off[row]: off[row + 1]])


def similarity(corpus: Corpus, u: np.ndarray, v: np.ndarray, exact: bool) -> np.ndarray:
    """Jaccard similarity of each pair: exact over stored shingle sets when `exact` and both
    documents have them, else estimated as the share of equal signature values."""
    out = np.zeros(len(u))
    for lo in range(0, len(u), SIM_CHUNK):  # a slice at a time: pairs can be many
        a, b = u[lo:lo + SIM_CHUNK], v[lo:lo + SIM_CHUNK]
        out[lo:lo + len(a)] = (corpus.gather(Store.sig_rows, a) == corpus.gather(Store.sig_rows, b)).mean(axis=1)
    if exact:
        for i, (a, b) in enumerate(zip(u.tolist(), v.tolist())):
            sa, sb = corpus.shingle_set(a), corpus.shingle_set(b)
            if sa is None or sb is None:
                continue
            inter = len(np.intersect1d(sa, sb, assume_unique=True))
            union = len(sa) + len(sb) - inter
            out[i] = inter / union if union else 1.0
    return out
