"""A folder of per-document MinHash data on disk: one per unit of work, and one per index generation.

Layout (raw little-endian arrays, so the reduce step can memory-map one band at a time):

    meta.json          n_docs, parameters, whether shingles are stored
    band-00.u64 ...    one file per LSH band: that band's hash for every document, in input order
    sig.u32            (n_docs x num_perm) signatures, for similarity estimates
    nshingles.i64      shingles per document (0 = no words: never banded)
    length.i64         characters per document (for keeper=longest)
    ids.txt            document ids, JSON-encoded one per line (ids may hold any character)
    shingles.u32       optional: each document's sorted unique shingle hashes, concatenated
    shingle_off.i64    optional: offsets into shingles.u32 (n_docs + 1 entries)
    snippets.txt       optional: the first SNIPPET characters of each document, UTF-8, concatenated,
    snippet_off.i64    and their byte offsets (n_docs + 1): the report's cluster examples
                       (written by the index pass, which reads the texts anyway; an index
                       generation has none)

Files are appended batch by batch while a unit streams, inside a temporary folder that
is renamed into place when complete, so a crash never leaves a half-written store.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
from pathlib import Path

import numpy as np

from corpuskit.io import atomic_write_text

_RAW = {"sig": np.uint32, "nshingles": np.int64, "length": np.int64, "shingles": np.uint32, "shingle_off": np.int64,
        "snippet_off": np.int64}
SNIPPET = 200  # characters of each document kept for the report's cluster examples
_EXT = {np.uint32: "u32", np.int64: "i64", np.uint64: "u64"}
_READ = 16 << 20  # bytes per read() of a band column
_ID_BLOCK = 8 << 20  # bytes of an ids file read at a time
_COPY_ROWS = 1 << 16  # rows per slice in copy_rows: ~30 MB of signatures at 112 permutations


def _raw_name(key: str) -> str:
    return f"{key}.{_EXT[_RAW[key]]}"


class StoreWriter:
    """Streams batches of document data into `final` (written under a temporary name)."""

    def __init__(self, final: Path, bands: int, num_perm: int, with_shingles: bool, params: dict,
                 with_snippets: bool = False):
        self.final = Path(final)
        self.tmp = self.final.with_name(f".{self.final.name}.tmp-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.bands, self.num_perm, self.with_shingles = bands, num_perm, with_shingles
        self.params = params
        self.n_docs = 0
        self.n_no_words = 0  # documents with no word at all: never banded
        self.n_shingles_total = 0
        self._files = {f"band-{k:02d}.u64": open(self.tmp / f"band-{k:02d}.u64", "wb") for k in range(bands)}
        for key in ("sig", "nshingles", "length") + (("shingles", "shingle_off") if with_shingles else ()):
            self._files[_raw_name(key)] = open(self.tmp / _raw_name(key), "wb")
        self._ids = open(self.tmp / "ids.txt", "w", encoding="utf-8")
        if with_shingles:
            self._files["shingle_off.i64"].write(np.zeros(1, np.int64).tobytes())
        self.with_snippets = with_snippets
        self._snippet_bytes = 0
        if with_snippets:
            self._snippets = open(self.tmp / "snippets.txt", "wb")
            self._files["snippet_off.i64"] = open(self.tmp / "snippet_off.i64", "wb")
            self._files["snippet_off.i64"].write(np.zeros(1, np.int64).tobytes())

    def add(self, ids: list[str], bands: np.ndarray, sig: np.ndarray, nshingles: np.ndarray,
            lengths: np.ndarray, shingle_sets: list[np.ndarray] | None = None,
            texts: list[str] | None = None) -> None:
        """Append a batch: `bands` is (n x bands) uint64, `sig` (n x num_perm) uint32; `texts`,
        the documents' texts, for a writer `with_snippets`."""
        if self.with_snippets:
            cut = [t[:SNIPPET].encode("utf-8", "surrogatepass") for t in texts]
            self._snippets.write(b"".join(cut))
            offs = self._snippet_bytes + np.cumsum([len(c) for c in cut], dtype=np.int64)
            self._snippet_bytes = int(offs[-1]) if len(offs) else self._snippet_bytes
            self._files["snippet_off.i64"].write(offs.tobytes())
        for k in range(self.bands):
            self._files[f"band-{k:02d}.u64"].write(np.ascontiguousarray(bands[:, k], dtype=np.uint64).tobytes())
        self._files["sig.u32"].write(np.ascontiguousarray(sig, dtype=np.uint32).tobytes())
        self._files["nshingles.i64"].write(np.asarray(nshingles, np.int64).tobytes())
        self._files["length.i64"].write(np.asarray(lengths, np.int64).tobytes())
        if self.with_shingles:
            sizes = np.fromiter((len(s) for s in shingle_sets), np.int64, count=len(shingle_sets))
            offs = self.n_shingles_total + np.cumsum(sizes)
            self.n_shingles_total = int(offs[-1]) if len(offs) else self.n_shingles_total
            for s in shingle_sets:
                self._files["shingles.u32"].write(np.asarray(s, np.uint32).tobytes())
            self._files["shingle_off.i64"].write(offs.astype(np.int64).tobytes())
        self._ids.write("".join(json.dumps(i) + "\n" for i in ids))
        self.n_no_words += int((np.asarray(nshingles) == 0).sum())
        self.n_docs += len(ids)

    def _close(self) -> None:
        for fh in list(self._files.values()) + [self._ids] + ([self._snippets] if self.with_snippets else []):
            fh.close()

    def commit(self, extra: dict | None = None) -> None:
        self._close()
        meta = {"n_docs": self.n_docs, "no_words": self.n_no_words, "bands": self.bands, "num_perm": self.num_perm,
                "shingles": self.with_shingles, "snippets": self.with_snippets, "params": self.params,
                **(extra or {})}
        (self.tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        if self.final.exists():
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)

    def abort(self) -> None:
        self._close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Store:
    """Read access to a committed store folder; arrays are memory-mapped on demand."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta = json.loads((self.path / "meta.json").read_text())
        self.n_docs: int = self.meta["n_docs"]
        self.has_shingles: bool = self.meta["shingles"]

    def _map(self, name: str, dtype, random_access: bool = False) -> np.ndarray:
        """The file as a read-only array over a memory map (unmapped when the array is freed);
        mmap directly, since np.memmap's bookkeeping costs 6x more and a reduce maps hundreds.
        `random_access`: rows will be read here and there, so the kernel reads no pages ahead."""
        with open(self.path / name, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return np.zeros(0, dtype)
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if random_access and hasattr(mmap, "MADV_RANDOM"):
            mm.madvise(mmap.MADV_RANDOM)
        return np.frombuffer(mm, dtype=dtype)

    def band(self, k: int) -> np.ndarray:
        return self._map(f"band-{k:02d}.u64", np.uint64)

    def read_band(self, k: int, out: np.ndarray) -> None:
        """Band k's hash of every document, read into `out` (n_docs uint64): read() straight into
        the array, no mapping faulted in a page at a time and copied."""
        view = memoryview(out).cast("B")
        with open(self.path / f"band-{k:02d}.u64", "rb", buffering=0) as fh:
            got = 0
            while got < len(view):
                n = fh.readinto(view[got:got + _READ])
                if not n:
                    raise ValueError(f"{self.path / f'band-{k:02d}.u64'}: {got} bytes, expected {len(view)}")
                got += n

    def sig(self) -> np.ndarray:
        return self._map("sig.u32", np.uint32).reshape(self.n_docs, self.meta["num_perm"])

    def sig_rows(self) -> np.ndarray:
        """The signatures, mapped for reading scattered rows (a pair's two documents): without
        readahead. With it, a range task whose signatures were no longer in memory read pages
        around each 448-byte row it wanted: at 100M documents, page cache dropped, range tasks of
        256k and 284k pairs took 199 and 214 s, and of 269k and 268k pairs 9.3 and 12.7 s without."""
        return self._map("sig.u32", np.uint32, random_access=True).reshape(self.n_docs, self.meta["num_perm"])

    def nshingles(self) -> np.ndarray:
        return self._map("nshingles.i64", np.int64)

    def length(self) -> np.ndarray:
        return self._map("length.i64", np.int64)

    def ids(self) -> list[str]:
        with open(self.path / "ids.txt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]

    def shingles(self) -> tuple[np.ndarray, np.ndarray]:
        return self._map("shingles.u32", np.uint32), self._map("shingle_off.i64", np.int64)

    def snippet(self, row: int) -> str | None:
        """The first SNIPPET characters of document `row`, or None when the store kept none."""
        if not self.meta.get("snippets"):
            return None
        lo, hi = (int(x) for x in self._map("snippet_off.i64", np.int64)[row:row + 2])
        with open(self.path / "snippets.txt", "rb") as fh:
            fh.seek(lo)
            return fh.read(hi - lo).decode("utf-8", "surrogatepass")


def damage(path: Path, n_docs: int) -> str | None:
    """What is wrong with the store at `path` that should hold `n_docs` documents (a missing
    file, a size that is not n_docs rows), or None: checked before an index is trusted."""
    try:
        meta = json.loads((Path(path) / "meta.json").read_text())
        n, bands, num_perm, shingles = n_docs, meta["bands"], meta["num_perm"], meta["shingles"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no readable meta.json"
    if meta.get("n_docs") != n:
        return f"meta.json counts {meta.get('n_docs')} documents, the manifest {n}"
    sizes = {f"band-{k:02d}.u64": 8 * n for k in range(bands)}
    sizes.update({"sig.u32": 4 * n * num_perm, "nshingles.i64": 8 * n, "length.i64": 8 * n})
    if shingles:
        sizes["shingle_off.i64"] = 8 * (n + 1)
    for name, size in sizes.items():
        p = Path(path) / name
        if not p.is_file() or p.stat().st_size != size:
            return f"{name} is missing or not {size} bytes"
    if not (Path(path) / "ids.txt").is_file():
        return "ids.txt is missing"
    with open(Path(path) / "ids.txt", "rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
    return None if lines == n else f"ids.txt holds {lines} ids, not {n}"


def copy_rows(stores: list[Store], keep: list[np.ndarray], dest: Path, params: dict, with_shingles: bool) -> int:
    """Write the rows `keep[i]` (sorted positions) of each store into a new store at `dest`."""
    first = stores[0]
    writer = StoreWriter(dest, first.meta["bands"], first.meta["num_perm"], with_shingles, params)
    try:
        for store, rows in zip(stores, keep):
            if len(rows) == 0:
                continue
            ids = ids_at(store.path, rows)
            sh, off = store.shingles() if with_shingles else (None, None)
            for lo in range(0, len(rows), _COPY_ROWS):  # a slice of rows at a time: the index can be large
                part = rows[lo:lo + _COPY_ROWS]
                bands = np.stack([np.asarray(store.band(k)[part]) for k in range(writer.bands)], axis=1)
                sets = [np.asarray(sh[off[r]: off[r + 1]]) for r in part] if with_shingles else None
                writer.add([next(ids) for _ in range(len(part))], bands, np.asarray(store.sig()[part]),
                           np.asarray(store.nshingles()[part]), np.asarray(store.length()[part]), sets)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return writer.n_docs


def _id_of(line: bytes) -> str:
    """One line of ids.txt: a JSON string. Written by json.dumps (quotes and control characters
    escaped), one without a backslash is its bytes between the quotes: json.loads took 2.6 s of
    the 100M reduce's 480k ids."""
    if len(line) >= 2 and line[0] == line[-1] == 34 and 92 not in line:
        return line[1:-1].decode("utf-8")
    return json.loads(line)


def ids_at(path: Path, want: np.ndarray):
    """The ids of rows `want` (ascending, unique) of the store at `path`, in order, as a generator:
    never a store's whole id table. Lines are found with numpy a block at a time: a Python loop
    over every line of a store's ids took most of the reduce's bookkeeping at 100M documents.
    (A JSON string holds no raw newline.)"""
    i, row0, carry = 0, 0, b""
    with open(Path(path) / "ids.txt", "rb") as fh:
        while i < len(want):
            block = fh.read(_ID_BLOCK)
            if not block:
                break
            data = carry + block
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            j = int(np.searchsorted(want, row0 + len(ends)))  # the wanted rows that end in this block
            for k in (np.asarray(want[i:j]) - row0).tolist():
                yield _id_of(data[ends[k - 1] + 1 if k else 0:ends[k]])
            i, row0 = j, row0 + len(ends)
            carry = data[ends[-1] + 1:] if len(ends) else data
    if i < len(want):
        raise ValueError(f"{Path(path) / 'ids.txt'}: {row0} lines, row {int(want[i])} asked for")


def write_drops(path: Path, pos: np.ndarray, duplicate_of: list[str], similarity: np.ndarray | None = None) -> None:
    """The reduce's decision for one unit: positions to drop and the kept document of each.

    JSON, not Parquet: it is small, and reading Parquet makes pyarrow import pandas (~0.5 s
    in every worker process).
    """

    record = {"pos": [int(p) for p in pos], "duplicate_of": list(duplicate_of)}
    if similarity is not None:
        record["similarity"] = [round(float(x), 4) for x in similarity]
    atomic_write_text(Path(path), json.dumps(record))


def read_drops(path: Path) -> dict[int, tuple[str, float | None]]:
    """position -> (duplicate_of, similarity or None), as written by `write_drops`."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    sims = record.get("similarity") or [None] * len(record["pos"])
    return {p: (d, s) for p, d, s in zip(record["pos"], record["duplicate_of"], sims)}
