"""Near-duplicate removal with MinHash LSH.

Phase 1 (`index`, per unit, in parallel): word n-gram shingles of normalized text, MinHash
    signatures (datasketch's hash family, computed in numpy batches), LSH band hashes,
    written to `unit-NNNNN/` in the workdir, one file per band (see store.py).
Phase 2 (`reduce`, once): per band (one task per band on the run's executor, so on a Ray
    cluster bands run on any node), sort the band hashes of every document (indexed ones
    first) to find shared buckets; union the candidate pairs (optionally only those whose
    exact shingle Jaccard reaches the threshold); pick a keeper per cluster; write the
    per-unit drop lists and the updated index when `index_dir` is set; returns the cluster
    report, which the runner writes to OUTPUT/reports/<name>.json.
Phase 3 (`apply`, per unit): drop the listed documents as `minhash_duplicate`, naming the
    kept document in `duplicate_of`.

Defaults: 5-word shingles, 112 permutations as 14 bands x 8 rows, so pairs with Jaccard
above ~0.72 are likely candidates (0.8 -> 92%, 0.9 -> 99.96%); `threshold` instead
derives bands and rows with datasketch's optimiser.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from corpuskit.document import Document
from corpuskit.stage import GlobalStage, StageContext
from corpuskit.stages.dedup.cluster import Corpus, decide
from corpuskit.io import is_url
from corpuskit.stages.dedup.index import check_index_folder, next_generation_dir, open_index, publish, pull, push
from corpuskit.stages.dedup.shingles import shingle_hashes
from corpuskit.stages.dedup.signatures import MinHasher, band_hashes, lsh_params, s_curve_threshold
from corpuskit.stages.dedup.store import Store, StoreWriter, copy_rows, read_drops, write_drops

log = logging.getLogger("corpuskit.dedup")

KEEPERS = ("first", "longest")
_BATCH_CHARS = 2_000_000  # text per signature batch: bounds a worker's memory


class MinhashDedup(GlobalStage):
    name = "minhash_dedup"

    def __init__(
        self,
        ngram: int = 5,  # words per shingle
        num_perm: int = 112,  # MinHash permutations
        bands: int | None = None,  # LSH bands; with rows, overrides threshold
        rows: int | None = None,  # signature values per band
        threshold: float | None = None,  # Jaccard threshold; None = 14 x 8 (~0.72)
        seed: int = 1,  # datasketch permutation seed
        keep: str = "first",  # keeper per cluster: first (input order) or longest
        verify: bool = False,  # check candidate pairs by exact shingle Jaccard (stores shingles)
        max_cluster_size: int = 1000,  # above this, warn and remove only documents similar to the keeper
        index_dir: str | None = None,  # persistent index: dedup against earlier runs, then add to it
        batch_size: int = 1024,  # documents per signature batch
    ):
        super().__init__()
        if keep not in KEEPERS:
            raise ValueError(f"keep must be one of {', '.join(KEEPERS)}; got {keep!r}")
        if ngram < 1 or num_perm < 1 or batch_size < 1 or max_cluster_size < 2:
            raise ValueError("ngram, num_perm, batch_size must be >= 1 and max_cluster_size >= 2")
        self.ngram, self.num_perm, self.seed = ngram, num_perm, seed
        self.bands, self.rows = lsh_params(threshold, num_perm, bands, rows)
        self.threshold = threshold if threshold is not None else s_curve_threshold(self.bands, self.rows)
        self.keep, self.verify, self.max_cluster_size = keep, verify, max_cluster_size
        if index_dir:
            check_index_folder(index_dir if is_url(index_dir) else Path(index_dir))  # at load, before any work
        self.index_dir = index_dir
        self.batch_size = batch_size

    @property
    def params(self) -> dict:
        """What makes signatures and buckets comparable across runs (checked against an index)."""
        return {"ngram": self.ngram, "num_perm": self.num_perm, "seed": self.seed, "bands": self.bands,
                "rows": self.rows, "normalization": 2, "scheme": "affine32"}

    # -- phase 1 ---------------------------------------------------------------------------
    def index(self, docs: Iterable[Document], ctx: StageContext) -> None:
        hasher = MinHasher(self.num_perm, self.seed)
        writer = StoreWriter(_unit_dir(ctx.workdir, ctx.unit), self.bands, self.num_perm, self.verify, self.params)
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
        sets = [np.unique(hashes[offsets[i]: offsets[i + 1]]) for i in range(len(batch))] if self.verify else None
        writer.add([d.id for d in batch], band_hashes(sig, self.bands, self.rows), sig, np.diff(offsets),
                   np.fromiter((len(t) for t in texts), np.int64, count=len(texts)), sets)

    # -- phase 2 ---------------------------------------------------------------------------
    def reduce(self, ctx: StageContext) -> dict | None:
        n_units = ctx.n_units
        base = self._base_index(ctx.workdir)
        units = [Store(_unit_dir(ctx.workdir, i)) for i in range(n_units)]
        stores = ([base] if base is not None else []) + units
        corpus = Corpus(stores, n_indexed=base.n_docs if base is not None else 0)
        if not units:
            return None
        decision = decide(corpus, self.bands, self.threshold, self.keep, self.verify, self.max_cluster_size,
                          run_map=ctx.map)

        kept_ids = corpus.ids(decision.keeper)  # read store by store: no id table of the whole corpus
        first_unit = len(stores) - n_units
        for u in range(n_units):
            lo, hi = corpus.offsets[first_unit + u], corpus.offsets[first_unit + u + 1]
            a, b = np.searchsorted(decision.removed, [lo, hi])
            write_drops(ctx.workdir / f"drops-{u:05d}.json", decision.removed[a:b] - lo, kept_ids[a:b],
                        decision.similarity[a:b])
        if self.index_dir:
            self._update_index(corpus, decision, first_unit, ctx.workdir)
        return self._report(decision, corpus.ids(decision.removed[:5]), kept_ids)

    def _report(self, decision, removed_ids: list[str], kept_ids: list[str]) -> dict:
        examples = [{"kept": k, "removed": r, "similarity": round(float(s), 4)}
                    for r, k, s in zip(removed_ids, kept_ids[:5], decision.similarity[:5])]
        report = {"stage": self.name, "params": {**self.params, "threshold": round(self.threshold, 4),
                                                  "keep": self.keep, "verify": self.verify,
                                                  "max_cluster_size": self.max_cluster_size,
                                                  "index_dir": self.index_dir},
                  **decision.report, "examples": examples}
        r = decision.report
        log.info("%s: %d clusters, %d of %d documents removed", self.name, r["clusters"], r["removed"],
                 r["documents"])
        return report

    def _base_index(self, workdir: Path) -> Store | None:
        """The index as it was before this run: snapshotted into the workdir on first use, so
        a reduce that is redone after a crash never sees its own documents in the index."""
        if not self.index_dir:
            return None
        snap = workdir / "index_base"
        if not snap.exists():
            current = open_index(self._local_index(), self.params)
            if current is None:
                return None
            tmp = workdir / ".index_base.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(current.path, tmp)
            tmp.replace(snap)
        return Store(snap)

    def _local_index(self) -> Path:
        """The index folder, or for an index on object storage its local copy (index.pull)."""
        return pull(self.index_dir) if is_url(self.index_dir) else Path(self.index_dir)

    def _update_index(self, corpus, decision, first_unit: int, workdir: Path) -> None:
        index_dir = self._local_index()
        removed = np.zeros(corpus.n, dtype=bool)
        removed[decision.removed] = True
        keep_rows = []
        for s, store in enumerate(corpus.stores):
            lo = corpus.offsets[s]
            rows = np.flatnonzero(~removed[lo: lo + store.n_docs] & (np.asarray(store.nshingles()) > 0))
            keep_rows.append(rows)
        dest = next_generation_dir(index_dir)
        with_shingles = all(s.has_shingles for s in corpus.stores)
        n = copy_rows(corpus.stores, keep_rows, dest, self.params, with_shingles)
        publish(index_dir, dest, self.params, {"documents": decision.report["documents"],
                                              "added": n - corpus.n_indexed, "run": str(workdir)})
        if is_url(self.index_dir):
            push(index_dir, self.index_dir)

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


def _unit_dir(workdir: Path, unit: int) -> Path:
    return workdir / f"unit-{unit:05d}"
