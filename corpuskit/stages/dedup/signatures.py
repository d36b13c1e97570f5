"""MinHash signatures and LSH band hashes, vectorized over batches of documents.

The hash family is datasketch's own (`MinHash(num_perm, seed)`, scheme `affine32`):
each 32-bit shingle hash is pre-mixed with the MurmurHash3 finalizer, then permutation
k maps it to `a_k * h + b_k mod 2**32`, and the signature keeps the minimum per k. We take
the permutation parameters from datasketch, so a signature here equals
`datasketch.MinHash(num_perm, seed, hashfunc=identity).update_batch(shingle_hashes)`
value for value; only the loop is different (one matrix per batch of documents instead
of one `update` per shingle). The parameters are generated exactly as datasketch generates
them (same RNG, same seed, same draws), which the tests check against datasketch itself;
doing it here spares every worker process datasketch's import of scipy (~1 s).
"""

from __future__ import annotations

import numpy as np

# Shingles per block of the (num_perm x shingles) matrix: 7 MB at 112 permutations, reused
# from block to block. Permutations are rows, so multiply, add and the per-document minimum
# (reduceat along a row) all run over contiguous memory: 1.7x faster here than shingles as
# rows (a strided reduceat), and a larger block means fewer numpy calls per batch.
_BLOCK = 16384


def lsh_params(threshold: float | None, num_perm: int, bands: int | None, rows: int | None) -> tuple[int, int]:
    """(bands, rows): given explicitly, derived from a threshold (datasketch's optimum), or 14 x 8."""
    if bands and rows:
        if bands * rows > num_perm:
            raise ValueError(f"bands * rows = {bands * rows} exceeds num_perm = {num_perm}")
        return bands, rows
    if threshold is None:
        if num_perm == 112:
            return 14, 8
        threshold = (1 / 14) ** (1 / 8)  # the same S-curve midpoint as 14 x 8
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be between 0 and 1")
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def s_curve_threshold(bands: int, rows: int) -> float:
    """The Jaccard similarity at which a pair becomes a candidate with probability ~1/2."""
    return (1.0 / bands) ** (1.0 / rows)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch.minhash._fmix(h, 32)."""
    h = h ^ (h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def datasketch_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`datasketch.MinHash(num_perm, seed, scheme="affine32").permutations`: odd a, any b."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class MinHasher:
    """Computes (documents x num_perm) uint32 signatures from concatenated shingle hashes."""

    def __init__(self, num_perm: int = 112, seed: int = 1):
        self.a, self.b = datasketch_permutations(num_perm, seed)
        self.num_perm = num_perm

    def signatures(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Row i is the signature of shingles `hashes[offsets[i]:offsets[i+1]]`.

        A document with no shingle gets the all-0xFFFFFFFF signature (datasketch's empty
        MinHash); callers must not band such rows, or all empty documents would collide.
        """
        n_docs = len(offsets) - 1
        sig = np.full((self.num_perm, n_docs), np.uint32(0xFFFFFFFF), dtype=np.uint32)  # transposed at the end
        nonempty = np.flatnonzero(offsets[1:] > offsets[:-1])
        if len(nonempty) == 0:
            return np.ascontiguousarray(sig.T)
        mixed = _fmix32(np.asarray(hashes, dtype=np.uint32))
        a, b = self.a[:, None], self.b[:, None]
        buf = np.empty(self.num_perm * min(_BLOCK, int(offsets[-1])), dtype=np.uint32)
        # Whole documents per block, so that one reduceat sees all of each; a document longer
        # than a block is reduced block by block into a running minimum, so one huge document
        # never needs its (num_perm x shingles) matrix (100 MB of text: ~8 GB) at once.
        starts, ends = offsets[nonempty], offsets[nonempty + 1]
        i = 0
        while i < len(nonempty):
            j = max(int(np.searchsorted(ends, starts[i] + _BLOCK, side="right")), i + 1)
            lo, hi = int(starts[i]), int(offsets[nonempty[j - 1] + 1])
            if hi - lo > _BLOCK:  # one document, longer than a block
                sig[:, nonempty[i]] = self._long_signature(mixed[lo:hi], buf)
            else:
                block = _permute(mixed[lo:hi], a, b, buf)
                sig[:, nonempty[i:j]] = np.minimum.reduceat(block, starts[i:j] - lo, axis=1)
            i = j
        return np.ascontiguousarray(sig.T)

    def _long_signature(self, mixed: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """One document's signature from its mixed shingle hashes, _BLOCK at a time."""
        out = np.full(self.num_perm, np.uint32(0xFFFFFFFF), dtype=np.uint32)
        for lo in range(0, len(mixed), _BLOCK):
            block = _permute(mixed[lo:lo + _BLOCK], self.a[:, None], self.b[:, None], buf)
            np.minimum(out, block.min(axis=1), out=out)
        return out


def _permute(mixed: np.ndarray, a: np.ndarray, b: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """(num_perm x shingles) `a * h + b mod 2**32` of mixed shingle hashes, written into `buf`."""
    block = buf[: len(a) * len(mixed)].reshape(len(a), len(mixed))
    np.multiply(a, mixed[None, :], out=block)  # uint32: wraps mod 2**32, as datasketch's affine32
    block += b
    return block


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents x bands) uint64: one hash of each band's `rows` signature values.

    Two documents share a bucket in band k when these hashes are equal; 64 bits make an
    accidental collision between different bands' contents negligible (~N^2 / 2^64).
    """
    n = sig.shape[0]
    out = np.empty((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(bands):
            h = np.full(n, np.uint64(0x84222325CBF29CE4) ^ np.uint64(k), dtype=np.uint64)
            for r in range(rows):
                h ^= sig[:, k * rows + r].astype(np.uint64)
                h *= np.uint64(0x100000001B3)
                h ^= h >> np.uint64(29)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(32)
            out[:, k] = h
    return out
