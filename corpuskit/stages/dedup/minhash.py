"""Near-duplicate removal with MinHash LSH.

Phase 1 (`index`, per unit, in parallel): word n-gram shingles of normalized text, MinHash
    signatures (datasketch's hash family, computed in numpy batches), LSH band hashes,
    written to `unit-NNNNN/` in the workdir, one file per band (see store.py).
Phase 2 (`reduce`, once): per band (one task per band on the run's executor, so on a Ray
    cluster bands run on any node), bucket the band hashes of every document (indexed ones
    first), spilling to disk past the memory limit, and write the candidate pairs to disk;
    per range of documents (tasks again), merge the pairs of all bands and keep those whose
    similarity reaches the threshold (the signatures' estimate, or the exact shingle Jaccard
    with `verify`); union them with the labels as the only per-document array in memory
    (cluster.py, spill.py); pick a keeper per cluster; write the per-unit drop lists and the
    updated index when `index_dir` is set; returns the cluster report, which the runner
    writes to OUTPUT/reports/<name>.json.
Phase 3 (`apply`, per unit): drop the listed documents as `minhash_duplicate`, naming the
    kept document in `duplicate_of`.

Defaults: 5-word shingles, 112 permutations as 14 bands x 8 rows, so pairs with Jaccard
above ~0.72 are likely candidates (0.8 -> 92%, 0.9 -> 99.96%); `threshold` instead
derives bands and rows with datasketch's optimiser.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Annotated, Iterable, Iterator, Literal

import numpy as np

from corpuskit.document import Document
from corpuskit.schema import Range
from corpuskit.stage import GlobalStage, StageContext
from corpuskit.stages.dedup.arrays import sorted_unique
from corpuskit.stages.dedup.cluster import Corpus, decide, in_threads, remove_spill
from corpuskit.io import is_url
from corpuskit.publish import work_dir
from corpuskit.stages.dedup.index import (batch_id, batch_rows, check_index_folder, index_lock, next_generation_dir,
                                          open_index, publish, pull, push)
from corpuskit.stages.dedup.shingles import MAX_NGRAM, shingle_hashes
from corpuskit.stages.dedup.signatures import MinHasher, band_hashes, lsh_params, s_curve_threshold
from corpuskit.stages.dedup.spill import BASE, MB, parse_memory
from corpuskit.stages.dedup.store import Store, StoreWriter, copy_rows, read_drops, write_drops

log = logging.getLogger("corpuskit.dedup")

KEEPERS = ("first", "longest")
MAX_PERM = 4096  # datasketch's bands x rows optimiser takes ~1 s here, and time quadratic in num_perm
_BATCH_CHARS = 2_000_000  # text per signature batch: bounds a worker's memory


class MinhashDedup(GlobalStage):
    name = "minhash_dedup"

    def __init__(
        self,
        ngram: Annotated[int, Range(1, MAX_NGRAM)] = 5,  # words per shingle
        num_perm: Annotated[int, Range(1, MAX_PERM)] = 112,  # MinHash permutations
        bands: Annotated[int, Range(1)] | None = None,  # LSH bands; with rows, overrides threshold
        rows: Annotated[int, Range(1)] | None = None,  # signature values per band
        threshold: Annotated[float, Range(0, 1, low_open=True, high_open=True)] | None = None,  # None: 14 x 8
        seed: Annotated[int, Range(0, 2**32 - 1)] = 1,  # datasketch permutation seed (numpy's RandomState)
        keep: Literal["first", "longest"] = "first",  # keeper per cluster: first (input order) or longest
        verify: bool = False,  # check candidate pairs by exact shingle Jaccard (stores shingles)
        max_cluster_size: Annotated[int, Range(2)] = 1000,  # above this, remove only documents similar to the keeper
        index_dir: str | None = None,  # persistent index: dedup against earlier runs, then add to it
        batch_size: Annotated[int, Range(1)] = 1024,  # documents per signature batch
        memory: str = "2GB",  # the most any one process of the reduce may hold (1GB, 512MB)
    ):
        super().__init__()
        # The same rules for a stage built in Python (a pipeline file is checked against the
        # annotations first): an ngram past MAX_NGRAM has no position multiplier, a seed past
        # 2**32 no RandomState, and num_perm past MAX_PERM makes `lsh_params` run for hours.
        if keep not in KEEPERS:
            raise ValueError(f"keep must be one of {', '.join(KEEPERS)}; got {keep!r}")
        for key, value, low, high in (("ngram", ngram, 1, MAX_NGRAM), ("num_perm", num_perm, 1, MAX_PERM),
                                      ("seed", seed, 0, 2**32 - 1), ("batch_size", batch_size, 1, None),
                                      ("max_cluster_size", max_cluster_size, 2, None)):
            if value < low or (high is not None and value > high):
                raise ValueError(f"{key} must be {f'in [{low}, {high}]' if high else f'>= {low}'}; got {value}")
        if (bands is None) != (rows is None):
            raise ValueError("bands and rows are given together (or neither, and threshold decides them)")
        self.ngram, self.num_perm, self.seed = ngram, num_perm, seed
        self.bands, self.rows = lsh_params(threshold, num_perm, bands, rows)
        self.threshold = threshold if threshold is not None else s_curve_threshold(self.bands, self.rows)
        self.keep, self.verify, self.max_cluster_size = keep, verify, max_cluster_size
        if index_dir:
            check_index_folder(index_dir if is_url(index_dir) else Path(index_dir))  # at load, before any work
        self.index_dir = index_dir
        self.batch_size = batch_size
        self.memory = parse_memory(memory)
        if self.memory < BASE + 128 * MB:  # the reduce's smallest plan: checked at load, before any work
            raise ValueError(f"memory must be at least {(BASE + 128 * MB) // MB}MB; got {memory}")

    @property
    def params(self) -> dict:
        """What makes signatures and buckets comparable across runs (checked against an index)."""
        return {"ngram": self.ngram, "num_perm": self.num_perm, "seed": self.seed, "bands": self.bands,
                "rows": self.rows, "normalization": 2, "scheme": "affine32"}

    # -- phase 1 ---------------------------------------------------------------------------
    def index(self, docs: Iterable[Document], ctx: StageContext) -> None:
        hasher = MinHasher(self.num_perm, self.seed)
        writer = StoreWriter(_unit_dir(ctx.workdir, ctx.unit), self.bands, self.num_perm, self.verify, self.params,
                             with_snippets=True)
        try:
            batch: list[Document] = []
            chars = 0
            for doc in docs:
                batch.append(doc)
                chars += len(doc.text)
                if len(batch) >= self.batch_size or chars >= _BATCH_CHARS:
                    self._index_batch(batch, hasher, writer)
                    batch, chars = [], 0
            if batch:
                self._index_batch(batch, hasher, writer)
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def _index_batch(self, batch: list[Document], hasher, writer) -> None:
        texts = [d.text for d in batch]
        hashes, offsets = shingle_hashes(texts, self.ngram)
        sig = hasher.signatures(hashes, offsets)
        sets = [sorted_unique(hashes[offsets[i]: offsets[i + 1]]) for i in range(len(batch))] if self.verify else None
        writer.add([d.id for d in batch], band_hashes(sig, self.bands, self.rows), sig, np.diff(offsets),
                   np.fromiter((len(t) for t in texts), np.int64, count=len(texts)), sets, texts)

    # -- phase 2 ---------------------------------------------------------------------------
    def reduce(self, ctx: StageContext) -> dict | None:
        units = [Store(_unit_dir(ctx.workdir, i)) for i in range(ctx.n_units)]
        if not units:
            return None
        if not self.index_dir:
            return self._reduce(ctx, units, None, None)
        local = work_dir(self.index_dir) if is_url(self.index_dir) else Path(self.index_dir)
        with index_lock(local):  # from reading the index to publishing it: no other run in between
            if is_url(self.index_dir):
                local = pull(self.index_dir)
            return self._reduce(ctx, units, local, batch_id(ctx.workdir, [u.path for u in units]))

    def _reduce(self, ctx: StageContext, units: list[Store], index: Path | None, batch: str | None) -> dict:
        base = self._base_index(index, ctx.workdir, batch) if index is not None else None
        stores = ([base] if base is not None else []) + units
        corpus = Corpus(stores, n_indexed=base.n_docs if base is not None else 0)
        decision = decide(corpus, self.bands, self.threshold, self.keep, self.verify, self.max_cluster_size,
                          run_map=ctx.map, workdir=ctx.workdir, limit=self.memory)

        kept_ids = corpus.ids(decision.keeper)  # read store by store: no id table of the whole corpus
        _name_largest(corpus, decision.report["largest_clusters"])
        first_unit = len(stores) - len(units)

        def drops(u: int) -> None:
            lo, hi = corpus.offsets[first_unit + u], corpus.offsets[first_unit + u + 1]
            a, b = np.searchsorted(decision.removed, [lo, hi])
            write_drops(ctx.workdir / f"drops-{u:05d}.json", decision.removed[a:b] - lo, kept_ids[a:b],
                        decision.similarity[a:b])

        in_threads(drops, range(len(units)))  # each file is fsynced: waits overlap
        if index is not None:
            self._update_index(index, corpus, decision, ctx.workdir, batch)
        remove_spill(decision)  # decisions written: a rerun no longer needs them
        return self._report(decision, corpus.ids(decision.removed[:5]), kept_ids)

    def _report(self, decision, removed_ids: list[str], kept_ids: list[str]) -> dict:
        examples = [{"kept": k, "removed": r, "similarity": round(float(s), 4)}
                    for r, k, s in zip(removed_ids, kept_ids[:5], decision.similarity[:5])]
        report = {"stage": self.name, "params": {**self.params, "threshold": round(self.threshold, 4),
                                                  "keep": self.keep, "verify": self.verify,
                                                  "max_cluster_size": self.max_cluster_size,
                                                  "memory_mb": self.memory // MB,
                                                  "index_dir": self.index_dir},
                  **decision.report, "examples": examples}
        r = decision.report
        log.info("%s: %d clusters, %d of %d documents removed", self.name, r["clusters"], r["removed"],
                 r["documents"])
        return report

    def _base_index(self, index: Path, workdir: Path, batch: str) -> Store | None:
        """The index without this run's own batch (there when a reduce that had published is
        redone, or the run is redone with --force), copied into the workdir where every
        band task can read it; None when that leaves no document."""
        found = open_index(index, self.params)
        if found is None:
            return None
        current, manifest = found
        own = batch_rows(manifest, batch)
        if current.n_docs == 0 or own == (0, current.n_docs):
            return None
        snap = workdir / "index_base"
        if own is not None:  # written under a temporary name, then renamed
            rows = np.r_[0:own[0], own[1]:current.n_docs]
            copy_rows([current], [rows], snap, self.params, current.has_shingles)
            return Store(snap)
        tmp = workdir / f".index_base.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(current.path, tmp)
        shutil.rmtree(snap, ignore_errors=True)
        tmp.replace(snap)
        return Store(snap)

    def _update_index(self, index: Path, corpus, decision, workdir: Path, batch: str) -> None:
        keep_rows = []
        for s, store in enumerate(corpus.stores):  # a slice at a time: the index can be large
            lo = int(corpus.offsets[s])
            a, b = np.searchsorted(decision.removed, [lo, lo + store.n_docs])
            gone = decision.removed[a:b] - lo
            rows = []
            for start in range(0, store.n_docs, 1 << 22):
                part = np.flatnonzero(np.asarray(store.nshingles()[start:start + (1 << 22)]) > 0) + start
                rows.append(part[~np.isin(part, gone)])
            keep_rows.append(np.concatenate(rows) if rows else np.zeros(0, np.int64))
        dest = next_generation_dir(index)
        with_shingles = all(s.has_shingles for s in corpus.stores)
        n = copy_rows(corpus.stores, keep_rows, dest, self.params, with_shingles)
        publish(index, dest, self.params, {"id": batch, "documents": decision.report["documents"],
                                           "added": n - corpus.n_indexed, "run": str(Path(workdir).resolve())})
        if is_url(self.index_dir):
            push(index, self.index_dir)

    # -- phase 3 ---------------------------------------------------------------------------
    def apply(self, docs: Iterable[Document], ctx: StageContext) -> Iterator[Document]:
        drops = read_drops(ctx.workdir / f"drops-{ctx.unit:05d}.json")
        meta = json.loads((_unit_dir(ctx.workdir, ctx.unit) / "meta.json").read_text())
        n = 0
        for pos, doc in enumerate(docs):
            n += 1
            hit = drops.get(pos)
            if hit is not None:
                what = "jaccard" if self.verify else "estimated_jaccard"
                self.drop(doc, "minhash_duplicate", duplicate_of=hit[0], detail=f"{what}={hit[1]:.3f}")
            else:
                yield doc
        if n != meta["n_docs"]:
            raise RuntimeError(f"{self.name}: unit {ctx.unit} has {n} documents now, {meta['n_docs']} when indexed")
        no_words = meta.get("no_words", 0)
        if no_words:
            self.stats.inc("no_words", no_words)


def _name_largest(corpus: Corpus, largest: list[dict]) -> None:
    """Give the report's largest clusters (cluster._largest) the ids, lengths and first characters
    of their kept document and example members: a few dozen lookups, whatever the corpus size."""
    g = [c["keeper_index"] for c in largest] + [m for c in largest for m, _ in c["member_index"]]
    g = np.array(g, dtype=np.int64)
    found = zip(corpus.ids(g), corpus.gather(Store.length, g).tolist() if len(g) else [], corpus.snippets(g))
    docs = [{"id": i, "chars": int(n), "text": t} for i, n, t in found]
    keepers, members = docs[:len(largest)], iter(docs[len(largest):])
    for cluster, keeper in zip(largest, keepers):
        del cluster["keeper_index"]
        cluster["kept"] = keeper
        cluster["examples"] = [{**next(members), "similarity": s} for _, s in cluster.pop("member_index")]


def _unit_dir(workdir: Path, unit: int) -> Path:
    return workdir / f"unit-{unit:05d}"
