"""The reduce step of MinHash de-duplication: band buckets -> candidate pairs -> clusters -> keepers.

Documents get global numbers in input order: indexed documents from earlier runs first,
then every unit's documents in unit order. All steps are numpy passes over whole arrays.
Each LSH band is a task of its own (`band_pairs`, run on the executor's workers), which holds
one band column (8 bytes per document) and returns that band's candidate pairs; the driver
holds the pairs and the cluster labels (8 bytes a document each), and reads ids store by store
for the removed documents' keepers only: never all bands, nor all ids, of the whole corpus.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpuskit.stages.dedup.store import Store
from corpuskit.stages.dedup.unionfind import components

log = logging.getLogger("corpuskit.dedup")


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

    def column(self, getter) -> np.ndarray:
        parts = [np.asarray(getter(s)) for s in self.stores]
        return np.concatenate(parts) if parts else np.zeros(0)

    def locate(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(store number, row in that store) of global document numbers."""
        which = np.searchsorted(self.offsets, g, side="right") - 1
        return which, g - self.offsets[which]

    def ids(self, g: np.ndarray) -> list[str]:
        """The document ids of global numbers `g`, reading only the stores that hold them, one at a
        time: the driver never holds the id table of the whole corpus (~100 bytes a document)."""
        which, rows = self.locate(np.asarray(g, dtype=np.int64))
        out: list[str] = [""] * len(which)
        for s in np.unique(which).tolist():
            table = self.stores[s].ids()
            for i in np.flatnonzero(which == s).tolist():
                out[i] = table[int(rows[i])]
        return out

    def signatures(self, g: np.ndarray) -> np.ndarray:
        which, rows = self.locate(np.asarray(g, dtype=np.int64))
        out = np.empty((len(g), self.stores[0].meta["num_perm"]), dtype=np.uint32)
        for s in np.unique(which):
            mask = which == s
            out[mask] = np.asarray(self.stores[s].sig())[rows[mask]]
        return out

    def shingle_set(self, g: int) -> np.ndarray | None:
        s, row = (int(x[0]) for x in self.locate(np.array([g])))
        store = self.stores[s]
        if not store.has_shingles:
            return None
        sh, off = store.shingles()
        return np.asarray(sh[off[row]: off[row + 1]])


@dataclass(frozen=True)
class BandTask:
    """One LSH band of a reduce, as a picklable task for the run's executor (a local worker or
    a Ray task): the stores are named by path and memory-mapped where the task runs."""

    stores: tuple[str, ...]
    n_indexed: int
    band: int


def band_pairs(task: BandTask) -> np.ndarray:
    """Candidate pairs of one band, as sorted unique keys u * n + v (u < v).

    Within a bucket every member is paired with the bucket's first document and with the
    member before it (a star and a chain, not all pairs): linear in the bucket size, and a
    stranger that collided into a bucket first cannot alone cut the others apart once its
    pairs fail verification. Pairs of two indexed documents are skipped: the index is
    already de-duplicated.
    """
    corpus = Corpus([Store(Path(p)) for p in task.stores], n_indexed=task.n_indexed)
    idx = np.flatnonzero(corpus.column(lambda s: s.nshingles()) > 0)  # documents without words: never banded
    h = corpus.column(lambda s: s.band(task.band))[idx]
    order = np.argsort(h, kind="stable")  # stable: ties stay in input order
    hs, g = h[order], idx[order]
    starts = np.empty(len(hs), dtype=bool)
    starts[:1] = True
    np.not_equal(hs[1:], hs[:-1], out=starts[1:])
    first = g[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    member = ~starts & (g >= corpus.n_indexed)
    prev = np.roll(g, 1)
    n = max(corpus.n, 1)
    return np.unique(np.concatenate([first[member].astype(np.int64) * n + g[member],
                                     prev[member].astype(np.int64) * n + g[member]]))


def candidate_pairs(corpus: Corpus, bands: int, run_map=map) -> tuple[np.ndarray, np.ndarray]:
    """Unique (u < v) pairs of documents sharing a bucket in at least one band: one task per band
    through `run_map` (the executor's map: bands run in parallel, on any node of a Ray cluster),
    merged here. The union is sorted, so it does not depend on the order tasks finish in."""
    stores = tuple(str(s.path) for s in corpus.stores)
    tasks = [BandTask(stores, corpus.n_indexed, k) for k in range(bands)]
    parts = list(run_map(band_pairs, tasks))
    key = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    return key // max(corpus.n, 1), key % max(corpus.n, 1)


_SIM_CHUNK = 1 << 16  # pairs per gather of signatures: ~30 MB at 112 permutations


def similarity(corpus: Corpus, u: np.ndarray, v: np.ndarray, exact: bool) -> np.ndarray:
    """Jaccard similarity of each pair: exact over stored shingle sets when `exact` and both
    documents have them, else estimated as the share of equal signature values."""
    out = np.zeros(len(u))
    for lo in range(0, len(u), _SIM_CHUNK):  # a slice at a time: pairs can be many
        a, b = u[lo:lo + _SIM_CHUNK], v[lo:lo + _SIM_CHUNK]
        out[lo:lo + len(a)] = (corpus.signatures(a) == corpus.signatures(b)).mean(axis=1)
    if exact:
        for i, (a, b) in enumerate(zip(u.tolist(), v.tolist())):
            sa, sb = corpus.shingle_set(a), corpus.shingle_set(b)
            if sa is None or sb is None:
                continue
            inter = len(np.intersect1d(sa, sb, assume_unique=True))
            union = len(sa) + len(sb) - inter
            out[i] = inter / union if union else 1.0
    return out


@dataclass
class Decision:
    removed: np.ndarray  # global numbers of removed documents, ascending
    keeper: np.ndarray  # the kept document each removed one duplicates (same order)
    similarity: np.ndarray  # estimated or exact Jaccard to the keeper (same order)
    report: dict


def decide(corpus: Corpus, bands: int, threshold: float, keep: str = "first", verify: bool = False,
           max_cluster_size: int = 1000, run_map=map) -> Decision:
    """Cluster the corpus and choose one keeper per cluster; `run_map` runs the per-band tasks."""
    n = corpus.n
    nshingles = corpus.column(lambda s: s.nshingles())
    u, v = candidate_pairs(corpus, bands, run_map)
    n_candidates = len(u)
    # Every candidate pair is verified before it links two documents: a band collision alone
    # (8 equal values of 112 by chance) must not remove a unique document. The signatures'
    # estimate by default, the exact shingle Jaccard with `verify`.
    ok = similarity(corpus, u, v, exact=verify) >= threshold
    u, v = u[ok], v[ok]
    labels = components(n, u, v)
    sizes = np.bincount(labels, minlength=n)
    members = np.flatnonzero(sizes[labels] > 1)
    keeper_of = labels.copy()  # keep="first": the smallest number in the cluster
    if keep == "longest" and len(members):
        length = corpus.column(lambda s: s.length())
        is_new = members >= corpus.n_indexed  # an indexed document always stays the keeper
        order = np.lexsort((members, -length[members], is_new, labels[members]))
        sorted_members = members[order]
        lab = labels[sorted_members]
        heads = np.ones(len(lab), dtype=bool)
        heads[1:] = lab[1:] != lab[:-1]
        keeper_of[lab[heads]] = sorted_members[heads]
        keeper_of[members] = keeper_of[labels[members]]
    removed = members[(keeper_of[members] != members) & (members >= corpus.n_indexed)]
    keeper = keeper_of[removed]
    sim = similarity(corpus, removed, keeper, exact=verify)

    # Giant clusters usually come from chaining (A~B~C~...~Z with A and Z unrelated):
    # in them, only documents similar to the keeper itself are removed.
    giant = np.flatnonzero(sizes > max_cluster_size)
    rescued = 0
    if len(giant):
        in_giant = np.isin(labels[removed], giant)
        rescue = in_giant & (sim < threshold)
        rescued = int(rescue.sum())
        removed, keeper, sim = removed[~rescue], keeper[~rescue], sim[~rescue]
        log.warning("minhash: %d cluster(s) larger than max_cluster_size=%d (largest %d documents); "
                    "%d of their documents were not similar enough to the kept one and were kept",
                    len(giant), max_cluster_size, int(sizes.max()), rescued)
    # Chaining (A~B~C, A and C unrelated): C is removed as a duplicate of the keeper A because
    # it is similar to B, a member it is linked to; counted so that it is visible.
    chained = int((sim < threshold).sum())
    size_hist = Counter(sizes[sizes > 1].tolist())
    report = {
        "documents": n - corpus.n_indexed,
        "indexed_documents": corpus.n_indexed,
        "documents_without_words": int((nshingles[corpus.n_indexed:] == 0).sum()),
        "candidate_pairs": n_candidates,
        "verification": "exact" if verify else "estimated",
        "verified_pairs": len(u),  # candidate pairs whose similarity reaches the threshold
        "rejected_pairs": n_candidates - len(u),  # band collisions below the threshold: not linked
        "chained_removals": chained,  # removed, less similar to the keeper than the threshold
        "clusters": int(sum(size_hist.values())),
        "removed": len(removed),
        "cluster_sizes": {str(k): size_hist[k] for k in sorted(size_hist)},
        "giant_clusters": len(giant),
        "giant_cluster_documents_kept": rescued,
    }
    return Decision(removed=removed, keeper=keeper, similarity=sim, report=report)
