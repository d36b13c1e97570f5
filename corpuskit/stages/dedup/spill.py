"""The reduce's out-of-core steps: band buckets -> candidate pairs on disk -> verified edges on disk.

    band task (one per LSH band)   reads its band column a slice at a time; when the column does
                                   not fit the memory limit it is spilled to disk in partitions by
                                   hash value (equal hashes land in one partition), each then
                                   sorted alone; each bucket's star-and-chain pairs are appended
                                   to one file per range of the pair's later document
    range task (one per range)     reads that range's pairs of every band, keeps each pair once,
                                   verifies it (signatures' estimate, or exact Jaccard) and
                                   writes the pairs that pass: the edges of the clustering

Both run on the run's executor (local workers or Ray tasks), and each writes under a temporary
name renamed when complete, in a spill folder named by a fingerprint of the stores and the plan:
a reduce redone after a crash reuses the tasks already done; a reduce over other stores (a unit
redone) starts a new folder. The caller deletes the folder when the reduce succeeds.

Memory: a band task holds one partition (~64 bytes a document in it, sorted) and a range task
the pairs of its range (each document is the later one of at most 2 pairs per band, so at most
~48 bytes x 2 x bands per document of the range): `plan` sizes both from the per-process limit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpuskit.errors import ConfigError
from corpuskit.stages.dedup.arrays import sorted_unique
from corpuskit.stages.dedup.corpus import Corpus, similarity
from corpuskit.stages.dedup.store import Store

MB = 1 << 20
BASE = 250 * MB  # a process's interpreter, numpy, pyarrow and corpuskit, before it holds any data
_CHUNK = 1 << 20  # documents per slice of a band column read
_PER_RECORD = 64  # bytes per document of a partition at its peak: (hash, number), the sort, the pairs
_PER_PAIR = 48  # bytes per pair in a range task: keys, unique, u, v, similarity, mask
_SIM_RESERVE = 160 * MB  # a range task's signature gathers (corpus.SIM_CHUNK) and mapped pages
DRIVER_BYTES_PER_DOC = 13  # clustering: int32 labels, their pointer-jumping copy, a comparison mask
DRIVER_BYTES_PER_REMOVED = 32  # removed number, keeper, similarity, cluster label
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": MB, "mb": MB, "g": 1 << 30, "gb": 1 << 30,
          "t": 1 << 40, "tb": 1 << 40}


class MemoryLimitError(ConfigError):
    """The memory limit is too small for the reduce."""


def parse_memory(text: str) -> int:
    """Bytes in '1GB', '512MB', '2g', '750M' (binary units: 1GB = 1024**3 bytes)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"memory must be a size like 1GB or 512MB; got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@dataclass(frozen=True)
class Plan:
    partitions: int  # hash partitions per band column (1: the column is sorted in memory)
    ranges: int  # pair files per band, by the later document's number
    edge_chunk: int  # edges per union step of the clustering


def plan(n: int, bands: int, limit: int) -> Plan:
    """Partitions and ranges so that no process of the reduce exceeds `limit` bytes, or a
    MemoryLimitError saying how much the clustering needs."""
    free = limit - BASE
    driver = DRIVER_BYTES_PER_DOC * n
    if free < 64 * MB or driver > free - 64 * MB:
        need = (BASE + driver + 64 * MB) / MB
        raise MemoryLimitError(f"memory {limit / MB:.0f} MB is too small to de-duplicate {n:,} documents: the "
                               f"clustering needs about {need:.0f} MB ({DRIVER_BYTES_PER_DOC} bytes a document "
                               f"+ {BASE // MB} MB); raise memory (--memory)")
    partitions = max(1, -(-(n * _PER_RECORD) // free))
    ranges = max(1, -(-(n * 2 * bands * _PER_PAIR) // max(free - _SIM_RESERVE, 32 * MB)))
    edge_chunk = max(1 << 16, min(1 << 24, (free - driver) // 64))
    return Plan(partitions, ranges, edge_chunk)


def spill_dir(workdir: Path, stores: list[Store], n_indexed: int, plan_: Plan, key: dict) -> Path:
    """The spill folder for these stores and this plan; other spill folders are stale, removed."""
    h = hashlib.sha256(json.dumps([n_indexed, plan_.partitions, plan_.ranges, key], sort_keys=True).encode())
    for s in stores:
        h.update(str(s.path.resolve()).encode())
        for p in sorted(s.path.iterdir()):
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    path = Path(workdir) / f"spill-{h.hexdigest()[:16]}"
    for old in Path(workdir).glob("spill-*"):
        if old != path:
            shutil.rmtree(old, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class BandTask:
    """One LSH band, as a picklable task: stores by path, memory-mapped where the task runs."""

    stores: tuple[str, ...]
    n_indexed: int
    band: int
    spill: str
    partitions: int = 1
    ranges: int = 1


def _all_banded(corpus: Corpus) -> bool:
    """Every document of every store has words (so is banded): a band column is then read whole,
    and a document's number is its position in it."""
    return all(store.meta.get("no_words") == 0 for store in corpus.stores)


def _slices(corpus: Corpus, band: int):
    """(hashes, global numbers) of the documents with words, a slice of a store at a time."""
    for s, store in enumerate(corpus.stores):
        whole = store.meta.get("no_words") == 0  # nothing to leave out: no nshingles read
        for lo in range(0, store.n_docs, _CHUNK):
            hi = min(store.n_docs, lo + _CHUNK)
            if whole:
                yield np.array(store.band(band)[lo:hi]), np.arange(corpus.offsets[s] + lo, corpus.offsets[s] + hi)
                continue
            keep = np.flatnonzero(np.asarray(store.nshingles()[lo:hi]) > 0)  # no words: never banded
            yield np.asarray(store.band(band)[lo:hi])[keep], corpus.offsets[s] + lo + keep


def _partitions(corpus: Corpus, task: BandTask, tmp: Path):
    """The band's (hashes, numbers) in partitions by hash value, numbers ascending in each;
    numbers None where they are the positions (one partition, every document banded)."""
    if task.partitions == 1 and _all_banded(corpus):  # the column read straight into one array
        h = np.empty(corpus.n, np.uint64)
        for s, store in enumerate(corpus.stores):
            store.read_band(task.band, h[corpus.offsets[s]:corpus.offsets[s + 1]])
        yield h, None
        return
    if task.partitions == 1:  # filled in place: a list of slices joined would hold the column twice
        h, g, k = np.empty(corpus.n, np.uint64), np.empty(corpus.n, np.int64), 0
        for hs, gs in _slices(corpus, task.band):
            h[k:k + len(hs)], g[k:k + len(gs)] = hs, gs
            k += len(hs)
        yield h[:k], g[:k]
        return
    files = [open(tmp / f"part-{p:05d}.bin", "wb") for p in range(task.partitions)]
    try:
        for h, g in _slices(corpus, task.band):
            p = ((h >> np.uint64(32)) * np.uint64(task.partitions)) >> np.uint64(32)  # even split of the range
            order = np.argsort(p, kind="stable")
            bounds = np.searchsorted(p[order], np.arange(task.partitions + 1))
            rec = np.empty(len(h), dtype=[("h", "<u8"), ("g", "<i8")])
            rec["h"], rec["g"] = h[order], g[order]
            for q in np.flatnonzero(np.diff(bounds)).tolist():
                files[q].write(rec[bounds[q]:bounds[q + 1]].tobytes())
    finally:
        for fh in files:
            fh.close()
    for q in range(task.partitions):
        path = tmp / f"part-{q:05d}.bin"
        rec = np.fromfile(path, dtype=[("h", "<u8"), ("g", "<i8")])
        path.unlink()
        h, g = rec["h"].copy(), rec["g"].copy()
        del rec
        yield h, g
        del h, g


def shared_buckets(h: np.ndarray, g: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(starts, gs) of the documents whose hash may be shared: their numbers (`g`, or the
    positions where `g` is None) in the order of a stable argsort of `h` (by hash, ties in input
    order), and True where a run of equal hashes starts. A document alone in its bucket pairs
    with none, and is left out: at 100M documents nearly all are, and a full-length array per
    step (flags, their cumsum, a gather of numbers) cost more than the sort.

    Each hash's high bits and its position are packed in one uint64 and sorted by value: numpy's
    vectorised sort of integers is several times faster than an argsort. The documents whose high
    bits a neighbour shares (every shared hash, and a few by chance) are then ordered exactly."""
    n = len(h)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    low = (np.uint64(1) << bits) - np.uint64(1)
    # A slice at a time (8 MB, in cache for every operation on it), not a pass over the whole
    # column per operation with a temporary as large: 2x faster at 100M documents.
    keys = np.empty(n, np.uint64)
    for lo in range(0, n, _CHUNK):
        k = keys[lo:lo + _CHUNK]
        np.right_shift(h[lo:lo + _CHUNK], bits, out=k)
        k <<= bits
        k |= np.arange(lo, lo + len(k), dtype=np.uint64)
    keys.sort()
    same = np.zeros(n + 1, dtype=bool)  # same[i]: the high bits at i are those at i - 1
    for lo in range(1, n, _CHUNK):  # equal high bits leave only low ones set in the XOR
        hi = min(n, lo + _CHUNK)
        np.less_equal(keys[lo:hi] ^ keys[lo - 1:hi - 1], low, out=same[lo:hi])
    tied = np.flatnonzero(same[1:] | same[:-1])
    pos = (keys[tied] & low).view(np.int64)  # positions, in order of the high bits
    del keys
    group = np.cumsum(~same[tied])  # runs of equal high bits, positions ascending in each
    hs = h[pos]
    # Nearly every run is one hash. Only runs whose high bits met by chance hold several, and
    # only those are sorted by (hash, position); a lexsort of every run cost 0.9 s at 100M.
    differ = np.flatnonzero((hs[1:] != hs[:-1]) & (group[1:] == group[:-1]))
    if len(differ):
        mixed = np.flatnonzero(np.isin(group, group[differ]))
        pos[mixed] = pos[mixed[np.lexsort((pos[mixed], hs[mixed], group[mixed]))]]
        hs = h[pos]
    starts = np.ones(len(pos), dtype=bool)
    starts[1:] = (hs[1:] != hs[:-1]) | (group[1:] != group[:-1])
    return starts, pos if g is None else g[pos]


def bucket_pairs(h: np.ndarray, g: np.ndarray | None, n: int, n_indexed: int) -> np.ndarray:
    """Keys v * n + u (u < v) of the pairs in shared buckets of hashes `h` of documents `g`
    (ascending; None: the positions). Each member is paired with the bucket's first document
    and with the member before it (a star and a chain, not all pairs): linear in the bucket
    size, and a stranger that collided into a bucket cannot alone cut the others apart once its
    pairs fail verification. Pairs of two indexed documents are skipped: the index is
    de-duplicated."""
    starts, gs = shared_buckets(h, g)
    member = np.flatnonzero(~starts & (gs >= n_indexed))
    first = gs[np.flatnonzero(starts)][np.cumsum(starts)[member] - 1]
    v = gs[member].astype(np.int64) * n
    return sorted_unique(np.concatenate([v + first, v + gs[member - 1]]))


def run_band(task: BandTask) -> None:
    out = Path(task.spill) / f"band-{task.band:02d}"
    if out.is_dir():
        return  # done by an earlier attempt of this reduce
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    corpus = Corpus([Store(Path(p)) for p in task.stores], n_indexed=task.n_indexed)
    n = max(corpus.n, 1)
    files = [open(tmp / f"pairs-{r:05d}.i64", "wb") for r in range(task.ranges)]
    try:
        for h, g in _partitions(corpus, task, tmp):
            keys = bucket_pairs(h, g, n, task.n_indexed)
            del h, g
            bounds = np.searchsorted(keys // n, (np.arange(task.ranges + 1) * n) // task.ranges)
            for r in range(task.ranges):
                files[r].write(keys[bounds[r]:bounds[r + 1]].tobytes())
    finally:
        for fh in files:
            fh.close()
    tmp.replace(out)


@dataclass(frozen=True)
class RangeTask:
    """One range of later documents: merge its pairs of every band, verify, write the edges."""

    stores: tuple[str, ...]
    n_indexed: int
    range: int
    spill: str
    bands: int
    threshold: float
    exact: bool


def run_range(task: RangeTask) -> dict:
    spill = Path(task.spill)
    done = spill / f"range-{task.range:05d}.json"
    if done.is_file():
        return json.loads(done.read_text())
    corpus = Corpus([Store(Path(p)) for p in task.stores], n_indexed=task.n_indexed)
    n = max(corpus.n, 1)
    parts = [np.fromfile(spill / f"band-{k:02d}" / f"pairs-{task.range:05d}.i64", dtype=np.int64)
             for k in range(task.bands)]
    keys = sorted_unique(np.concatenate(parts))
    del parts
    v, u = keys // n, keys % n
    # Every candidate pair is verified before it links two documents: a band collision alone
    # (8 equal values of 112 by chance) must not remove a unique document.
    ok = similarity(corpus, u, v, exact=task.exact) >= task.threshold
    edges = spill / f"edges-{task.range:05d}.i64"
    tmp = edges.with_name(f".{edges.name}.tmp-{os.getpid()}")
    keys[ok].tofile(tmp)
    tmp.replace(edges)
    result = {"candidates": int(len(keys)), "rejected_pairs": int((~ok).sum())}
    tmp = done.with_name(f".{done.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(result))
    tmp.replace(done)
    return result


def edges(spill: Path, ranges: int, n: int, chunk: int):
    """(u, v) arrays of the verified edges, `chunk` at a time, read from the range files."""
    for r in range(ranges):
        path = Path(spill) / f"edges-{r:05d}.i64"
        if path.stat().st_size == 0:
            continue
        keys = np.memmap(path, dtype=np.int64, mode="r")
        for lo in range(0, len(keys), chunk):
            part = np.array(keys[lo:lo + chunk])
            yield part % n, part // n
        del keys
