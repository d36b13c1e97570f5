"""Word n-gram shingles of normalized text, hashed to 32 bits in batches with numpy.

Normalization makes trivially different copies look the same: lowercase, every Unicode
punctuation mark and symbol a word break (so `well--I`, `` `I' ``, `well—I` and `"I"` all
give the words `well i`; apostrophes too, so `don't` and `don’t` are both `don t`, as a
`\\w+` tokenizer splits them), invisible format characters (soft hyphen, zero-width space)
removed, every decimal digit folded to `0` ("Page 12" == "page 37"), whitespace collapsed.
Splitting instead of deleting matters for older editions: deleting `--` glued `well--I`
into one word `welli`, and an edition pair at word 5-gram Jaccard 0.79 looked like 0.65.

Words are hashed with vector operations over a whole batch of documents (a polynomial
hash from prefix sums), and so are the n-grams: no Python call per word or per shingle.

A document with fewer than `n` words gets one shingle of all its words: a short
document is still de-duplicated, never silently skipped. A document with no word at
all (only punctuation) gets no shingle; the stage keeps it and counts it.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import numpy as np

MAX_NGRAM = 64  # words per shingle at most
# Distinct odd multipliers per position in the n-gram, so "a b" and "b a" differ.
_POSITION_MULT = np.array(
    [(0x9E3779B97F4A7C15 * (2 * k + 1) + 0x632BE59BD9B4E019 * k) & 0xFFFFFFFFFFFFFFFF | 1 for k in range(MAX_NGRAM)],
    dtype=np.uint64)
# Salts the one shingle of a short document, so it never equals an n-gram of a longer one.
_LENGTH_SALT = np.uint64(0xD6E8FEB86659FD93)


def _fold(ch: str) -> str | None:
    """What one character becomes: " " (a word break), "" (removed), "0", or None (itself)."""
    cat = unicodedata.category(ch)
    if cat[0] in "PS" or ch.isspace():
        return " "
    if cat == "Nd":
        return "0"
    if cat == "Cf":  # soft hyphen, zero-width space, joiners: invisible, so they join
        return ""
    return None


class _FoldTable(dict):
    """str.translate table built lazily from `_fold`."""

    def __missing__(self, code: int):
        rep = _fold(chr(code))
        value = code if rep is None else rep
        self[code] = value
        return value


_FOLD = _FoldTable()


def _ascii_tables() -> tuple[bytes, bytes]:
    """The same folding for pure-ASCII text as a bytes.translate table (10x faster)."""
    table = bytearray(range(256))
    delete = bytearray()
    for c in range(128):
        ch = chr(c)
        rep = _fold(ch)
        if rep == "":
            delete.append(c)
        elif rep is not None:  # bytes.split() does not split on \x1c-\x1f: they become a space here
            table[c] = ord(rep)
        else:
            table[c] = ord(ch.lower())
    return bytes(table), bytes(delete)


_ASCII_TABLE, _ASCII_DELETE = _ascii_tables()


def normalize_words(text: str) -> list[str]:
    """The words shingles are built from: lowercase, punctuation and symbols break words, digits are 0."""
    return text.lower().translate(_FOLD).split()


class _NonAsciiFold(dict):
    """A non-ASCII character's folded UTF-8 bytes (`_fold`), or None when it stays as it is."""

    def __missing__(self, ch: str) -> bytes | None:
        rep = _fold(ch)
        value = None if rep is None else rep.encode("utf-8")
        self[ch] = value
        return value


_NON_ASCII = _NonAsciiFold()
_NON_ASCII_CHAR = re.compile(r"[^\x00-\x7f]")


def _normalized_bytes(text: str) -> bytes:
    """The text folded for shingling, UTF-8, words separated by spaces (every whitespace and
    punctuation character is a space here). bytes.translate folds the ASCII characters, and
    each distinct non-ASCII character that needs folding (curly quotes, dashes, no-break
    spaces, soft hyphens) is replaced once, so there is no per-character Python work."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE, _ASCII_DELETE)
    low = text.lower()
    raw = low.encode("utf-8", "surrogatepass").translate(_ASCII_TABLE, _ASCII_DELETE)
    for ch in set(_NON_ASCII_CHAR.findall(low)):  # faster than set(low) on mostly-ASCII text
        rep = _NON_ASCII[ch]
        if rep is not None:
            raw = raw.replace(ch.encode("utf-8", "surrogatepass"), rep)
    return raw


def _word_bytes(text: str) -> list[bytes]:
    """normalize_words(text), UTF-8 encoded: the words `shingle_hashes` hashes."""
    return [w for w in _normalized_bytes(text).split(b" ") if w]


_P = np.uint64(0x100000001B3)  # the FNV prime: odd, so invertible modulo 2**64
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))


_POWERS: dict[int, np.ndarray] = {}


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """[1, base, base**2, ...] modulo 2**64, at least n of them (cached: batches are alike)."""
    cached = _POWERS.get(int(base))
    if cached is None or len(cached) < n:
        cached = np.full(max(n, 1 << 16), base, dtype=np.uint64)
        cached[:1] = 1
        _POWERS[int(base)] = cached = np.multiply.accumulate(cached, out=cached)
    return cached


# Normalized bytes hashed at once: the prefix sums cost ~40 bytes a byte, so a huge document is
# cut at spaces into pieces of this size (a word's hash does not depend on where it sits), and
# short texts are hashed in groups of this size. 128 KB keeps the ~5 MB of temporaries near the
# cache: 20% less CPU than 4 MB groups, with or without AVX-512.
_CHUNK = 1 << 17


def _word_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every word of every text, in order, and the number of words per text.

    The texts are normalized and cut into pieces of at most _CHUNK bytes (at spaces), and the
    pieces hashed a group at a time (`_piece_hashes`), so memory stays bounded for any text.
    """
    pieces: list[bytes] = []
    owner: list[int] = []
    for i, t in enumerate(texts):
        for piece in _cut(_normalized_bytes(t)):
            pieces.append(piece)
            owner.append(i)
    words, counts = [], np.zeros(len(pieces), dtype=np.int64)
    lo = 0
    while lo < len(pieces):
        hi, size = lo + 1, len(pieces[lo])
        while hi < len(pieces) and size + len(pieces[hi]) <= _CHUNK:
            size += len(pieces[hi])
            hi += 1
        if size > _CHUNK:  # one word longer than a piece: no space to cut at
            w = _long_word_hash(pieces[lo].strip(b" "))
            words.append(w)
            counts[lo] = len(w)
        else:
            w, counts[lo:hi] = _piece_hashes(pieces[lo:hi])
            words.append(w)
        lo = hi
    per_text = np.bincount(np.asarray(owner, dtype=np.int64), weights=counts, minlength=len(texts))
    return (np.concatenate(words) if words else np.zeros(0, np.uint64)), per_text.astype(np.int64)


def _cut(raw: bytes) -> list[bytes]:
    """`raw` cut at spaces into pieces of at most _CHUNK bytes; a longer piece is one word."""
    out, start = [], 0
    while len(raw) - start > _CHUNK:
        cut = raw.rfind(b" ", start + 1, start + _CHUNK)
        if cut < 0:
            cut = raw.find(b" ", start + _CHUNK)
            if cut < 0:
                break
        out.append(raw[start:cut])
        start = cut
    out.append(raw[start:])
    return out


def _piece_hashes(parts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The words' hashes of normalized byte strings, and the number of words in each.

    Vectorized over all parts, with no Python work per word: the parts are joined with spaces
    into bytes c_0 c_1 ...; with H[j] = sum_{i<j} (c_i + 1) * P**i (modulo 2**64), the word at
    [s, e) hashes to (H[e] - H[s]) * P**-s, a polynomial hash of its own bytes wherever it
    sits, then mixed with its length through fmix64.
    """
    arr = np.frombuffer(b" ".join(parts) + b" ", dtype=np.uint8)  # ends with a space: every word ends
    space = arr == 32
    after_space = np.empty_like(space)
    after_space[0] = True
    after_space[1:] = space[:-1]
    starts = np.flatnonzero(~space & after_space)
    ends = np.flatnonzero(space & ~after_space)
    part_starts = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(p) + 1 for p in parts), dtype=np.int64, count=len(parts)), out=part_starts[1:])
    counts = np.diff(np.searchsorted(starts, part_starts))
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(arr) + 1, dtype=np.uint64)
        np.cumsum((arr.astype(np.uint64) + np.uint64(1)) * _powers(_P, len(arr))[: len(arr)], out=prefix[1:])
        words = (prefix[ends] - prefix[starts]) * _powers(_P_INV, len(arr))[starts]
        words = _fmix64(words ^ (ends - starts).astype(np.uint64))
    return words, counts


def _long_word_hash(word: bytes) -> np.ndarray:
    """`_piece_hashes([word])[0]` for one word longer than _CHUNK bytes, _CHUNK bytes at a time:
    its polynomial hash is the sum of each chunk's, times P**(the chunk's offset)."""
    total = np.uint64(0)
    with np.errstate(over="ignore"):
        for lo in range(0, len(word), _CHUNK):
            chunk = np.frombuffer(word, dtype=np.uint8, count=min(_CHUNK, len(word) - lo), offset=lo)
            terms = (chunk.astype(np.uint64) + np.uint64(1)) * _powers(_P, len(chunk))[: len(chunk)]
            part = terms.sum(dtype=np.uint64)
            total += part * np.uint64(pow(int(_P), lo, 1 << 64))
        return _fmix64(np.array([total ^ np.uint64(len(word))], dtype=np.uint64))


def _fmix64(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def shingle_hashes(texts: list[str], n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of the word n-grams of each text, concatenated.

    Returns `(hashes, offsets)`: the shingles of text i are `hashes[offsets[i]:offsets[i+1]]`,
    in word order (duplicates kept; MinHash does not care). `offsets` has len(texts)+1 entries.
    """
    if n < 1 or n > len(_POSITION_MULT):
        raise ValueError(f"ngram must be between 1 and {len(_POSITION_MULT)}")
    words_arr, lengths = _word_hashes(texts)
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    # shingles per text: len-n+1 full n-grams, or one shingle of all words when shorter than n
    n_shingles = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(n_shingles, out=offsets[1:])
    total = len(words_arr)
    with np.errstate(over="ignore"):
        if total >= n:
            # n-gram at every word position of the batch; positions that cross a text
            # boundary are computed too, and only `pos` (positions inside a text) is kept.
            combined = words_arr[: total - n + 1] * _POSITION_MULT[0]
            for k in range(1, n):
                combined += words_arr[k: total - n + 1 + k] * _POSITION_MULT[k]
            full = lengths >= n
            keep_starts = starts[:-1][full]
            counts = n_shingles[full]
            before = np.cumsum(counts) - counts  # kept shingles of earlier full texts
            pos = np.repeat(keep_starts - before, counts) + np.arange(counts.sum())
            grams = combined[pos] if len(pos) else np.zeros(0, np.uint64)
        else:
            full = np.zeros(len(texts), dtype=bool)
            grams = np.zeros(0, np.uint64)
        out = np.empty(offsets[-1], dtype=np.uint64)
        out[np.repeat(full, n_shingles)] = grams
        for i in np.flatnonzero((lengths > 0) & (lengths < n)):
            w = words_arr[starts[i]: starts[i + 1]]
            out[offsets[i]] = (w * _POSITION_MULT[: len(w)]).sum(dtype=np.uint64) ^ _LENGTH_SALT
        hashes = (_fmix64(out) >> np.uint64(32)).astype(np.uint32)
    return hashes, offsets


if sys.byteorder != "little":  # pragma: no cover - files on disk assume little-endian
    raise ImportError("corpuskit MinHash files assume a little-endian machine")
