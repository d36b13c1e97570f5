"""The reduce step of MinHash de-duplication: band buckets -> verified pairs -> clusters -> keepers.

    1. one task per LSH band (spill.run_band), on the run's executor: candidate pairs to disk
    2. one task per range of documents (spill.run_range): pairs merged across bands, verified,
       the edges that pass written to disk
    3. here: the edges streamed through a union-find whose labels are the only per-document
       array in memory (int32, 13 bytes a document at the peak of pointer jumping)
    4. here: keepers and similarities for the clustered documents only

No step holds all bands, all pairs or all ids of the corpus; `spill.plan` sizes the tasks
from the per-process memory limit, and refuses a limit the clustering cannot fit in before
any of this starts.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpuskit.stages.dedup import spill
from corpuskit.stages.dedup.arrays import sorted_unique
from corpuskit.stages.dedup.corpus import Corpus, similarity
from corpuskit.stages.dedup.spill import BandTask, RangeTask
from corpuskit.stages.dedup.store import Store
from corpuskit.stages.dedup.unionfind import labels_array, union

__all__ = ["BandTask", "Corpus", "Decision", "decide"]
log = logging.getLogger("corpuskit.dedup")
_SCAN = 1 << 24  # labels compared per slice when looking for clustered documents
LARGEST = 10  # clusters listed by size in the report
EXAMPLES = 2  # removed members shown per listed cluster


@dataclass
class Decision:
    removed: np.ndarray  # global numbers of removed documents, ascending
    keeper: np.ndarray  # the kept document each removed one duplicates (same order)
    similarity: np.ndarray  # estimated or exact Jaccard to the keeper (same order)
    report: dict
    spill: Path | None = None  # the spill folder: delete it (remove_spill) once the decisions are written


def cluster(corpus: Corpus, bands: int, threshold: float, verify: bool, workdir: Path, limit: int,
            run_map=map) -> tuple[np.ndarray, dict, Path]:
    """Component labels of every document (its cluster's smallest number), pair counts, and the
    spill folder (the caller deletes it once the decisions are written)."""
    n = corpus.n
    plan = spill.plan(n, bands, limit)  # before any work: a limit too small is an error now
    stores = tuple(str(s.path) for s in corpus.stores)
    folder = spill.spill_dir(workdir, corpus.stores, corpus.n_indexed, plan,
                             {"bands": bands, "threshold": threshold, "verify": verify})
    list(run_map(spill.run_band, [BandTask(stores, corpus.n_indexed, k, str(folder), plan.partitions, plan.ranges)
                                  for k in range(bands)]))
    counts = list(run_map(spill.run_range, [RangeTask(stores, corpus.n_indexed, r, str(folder), bands, threshold,
                                                      verify) for r in range(plan.ranges)]))
    labels, touched = labels_array(n), np.zeros(n, dtype=bool)
    for u, v in spill.edges(folder, plan.ranges, max(n, 1), plan.edge_chunk):
        union(labels, u, v, touched)
    del touched
    candidates = sum(c["candidates"] for c in counts)
    rejected = sum(c["rejected_pairs"] for c in counts)
    return labels, {"candidate_pairs": candidates, "verified_pairs": candidates - rejected,
                    "rejected_pairs": rejected, "spill_partitions": plan.partitions,
                    "spill_ranges": plan.ranges}, folder


def _clustered(labels: np.ndarray) -> np.ndarray:
    """Numbers of the documents whose label is not themselves (a slice at a time)."""
    parts = []
    for lo in range(0, len(labels), _SCAN):
        part = labels[lo:lo + _SCAN]
        parts.append(lo + np.flatnonzero(part != np.arange(lo, lo + len(part), dtype=part.dtype)))
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def decide(corpus: Corpus, bands: int, threshold: float, keep: str = "first", verify: bool = False,
           max_cluster_size: int = 1000, run_map=map, workdir: Path | None = None,
           limit: int = 2 << 30) -> Decision:
    """Cluster the corpus and choose one keeper per cluster; `run_map` runs the band and range
    tasks, `workdir` holds their spill files, `limit` bytes bounds every process."""
    labels, pairs, folder = cluster(corpus, bands, threshold, verify, Path(workdir), limit, run_map)
    linked = _clustered(labels)  # documents in a cluster, but for each cluster's first
    lab = labels[linked].astype(np.int64)
    del labels
    heads, counts = np.unique(lab, return_counts=True)
    sizes = counts + 1  # each cluster's first document is its label
    members = sorted_unique(np.concatenate([linked, heads]))  # np.union1d: NumPy's slow hash unique
    member_label = np.empty(len(members), np.int64)
    member_label[np.searchsorted(members, linked)] = lab
    member_label[np.searchsorted(members, heads)] = heads
    if keep == "longest" and len(members):
        length = corpus.gather(Store.length, members)
        is_new = members >= corpus.n_indexed  # an indexed document always stays the keeper
        order = np.lexsort((members, -length, is_new, member_label))
        first = np.r_[True, member_label[order][1:] != member_label[order][:-1]]
        best = members[order][first]  # per cluster label, ascending
        keeper_of = best[np.searchsorted(heads, member_label)]
    else:  # keep="first": the smallest number in the cluster
        keeper_of = member_label
    gone = (keeper_of != members) & (members >= corpus.n_indexed)
    removed, keeper, removed_label = members[gone], keeper_of[gone], member_label[gone]
    sim = similarity(corpus, removed, keeper, exact=verify)

    # Giant clusters usually come from chaining (A~B~C~...~Z with A and Z unrelated):
    # in them, only documents similar to the keeper itself are removed.
    giant = heads[sizes > max_cluster_size]
    rescued = 0
    if len(giant):
        rescue = np.isin(member_label[gone], giant) & (sim < threshold)
        rescued = int(rescue.sum())
        removed, keeper, sim, removed_label = removed[~rescue], keeper[~rescue], sim[~rescue], removed_label[~rescue]
        log.warning("minhash: %d cluster(s) larger than max_cluster_size=%d (largest %d documents); "
                    "%d of their documents were not similar enough to the kept one and were kept",
                    len(giant), max_cluster_size, int(sizes.max()), rescued)
    # Chaining (A~B~C, A and C unrelated): C is removed as a duplicate of the keeper A because
    # it is similar to B, a member it is linked to by a verified pair; counted so that it is visible.
    chained = int((sim < threshold).sum())
    size_hist = Counter(sizes.tolist())
    largest = _largest(heads, sizes, members, keeper_of, removed, removed_label, sim, max_cluster_size)
    units = corpus.stores[1:] if corpus.n_indexed else corpus.stores  # the index store comes first
    report = {
        "documents": corpus.n - corpus.n_indexed,
        "indexed_documents": corpus.n_indexed,
        "documents_without_words": sum(s.meta.get("no_words", 0) for s in units),
        **{k: pairs[k] for k in ("candidate_pairs", "verified_pairs", "rejected_pairs")},
        "verification": "exact" if verify else "estimated",
        "chained_removals": chained,  # removed, less similar to the keeper than the threshold
        "clusters": len(heads),
        "removed": len(removed),
        "cluster_sizes": {str(k): size_hist[k] for k in sorted(size_hist)},
        "largest_clusters": largest,
        "giant_clusters": len(giant),
        "giant_cluster_documents_kept": rescued,
        "spill": {k: pairs[k] for k in ("spill_partitions", "spill_ranges")},
    }
    return Decision(removed=removed, keeper=keeper, similarity=sim, report=report, spill=folder)


def _largest(heads, sizes, members, keeper_of, removed, removed_label, sim, max_cluster_size: int) -> list[dict]:
    """The LARGEST clusters, for the report: a template page repeated a million times shows here.
    Each by its kept document and its first EXAMPLES removed members (smallest numbers) with their
    similarity to it, as global numbers; the stage looks up their ids and snippets."""
    top = np.argsort(-sizes, kind="stable")[:LARGEST]
    out = []
    for t in top.tolist():
        head = heads[t]
        mine = np.flatnonzero(removed_label == head)  # removed is ascending: the first members
        out.append({"keeper_index": int(keeper_of[np.searchsorted(members, head)]), "size": int(sizes[t]),
                    "removed": len(mine), "giant": bool(sizes[t] > max_cluster_size),
                    "member_index": [(int(removed[i]), round(float(sim[i]), 4)) for i in mine[:EXAMPLES]]})
    return out


def remove_spill(decision: Decision) -> None:
    """Delete the spill files of a reduce whose decisions are written."""
    if decision.spill is not None and decision.spill.is_dir():
        in_threads(_remove, list(decision.spill.iterdir()))
        shutil.rmtree(decision.spill, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):  # as rmtree(ignore_errors=True): what stays is removed next run
            path.unlink()


def in_threads(fn, items) -> None:
    """`fn` over `items` in a few threads, for file-system work that waits on the disk (fsync,
    removing folders: 3-7 ms a call here) and releases the GIL meanwhile; the waits overlap
    (8 drop lists: 55 ms -> 15 ms; a spill folder: 50 ms -> 8 ms). What is written is the same."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fn, items))  # re-raises the first error
