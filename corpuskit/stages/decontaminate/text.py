"""Words of a text as decontamination sees them, and the 64-bit hashes of their n-grams.

Normalisation: Unicode NFKC, casefold, and everything that is not a letter or a digit is
a word break (punctuation, underscores and whitespace alike), so "Answer:  THE cat's"
and "answer the cat s" give the same words. An eval item and a training document go
through the same function, so only these differences are forgiven.

Hashes: each word gets a fixed 64-bit hash (blake2b, so every process and machine agrees);
an n-gram's hash is a weighted sum of its words' hashes, computed for every window of a
document at once in numpy (uint64 arithmetic wraps, which is what a hash wants). Words
no eval item contains have no hash (0), and no window holding one can match.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

WORD = re.compile(r"[^\W_]+")
_NON_ASCII_BREAK = re.compile(r"[^\x00-\x7f\w]+")
# ASCII letters and digits, and every byte of a multi-byte UTF-8 character, stay; the rest is a space
_ASCII_BREAKS = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
_MULT = np.array([(0x9E3779B97F4A7C15 * (2 * j + 1)) % 2**64 | 1 for j in range(64)], dtype=np.uint64)
MAX_NGRAM = len(_MULT)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[bytes]:
    """The normalised words of `text`, UTF-8 encoded: what `WORD.findall(normalize(text))` gives,
    about twice as fast. Every non-ASCII character that is not a letter or digit becomes a space
    (one regex pass, only for non-ASCII text), then a byte table turns ASCII punctuation into
    spaces and `split` cuts: C loops only, no Python code per word."""
    text = normalize(text)
    if not text.isascii():
        text = _NON_ASCII_BREAK.sub(" ", text)
    return text.encode("utf-8").translate(_ASCII_BREAKS).split()


def word_hash(word: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little") or 1


def ngram_hashes(hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hash, start) of every window of `n` word hashes holding no unknown word (0)."""
    m = len(hashes) - n + 1
    if m <= 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    out = np.zeros(m, dtype=np.uint64)
    for j in range(n):
        out += hashes[j:j + m] * _MULT[j]
    unknown = np.concatenate(([0], np.cumsum(hashes == 0)))
    ok = (unknown[n:] - unknown[:m]) == 0
    return out[ok], np.flatnonzero(ok)


def word_spans(text: str) -> list[tuple[int, int]] | None:
    """The (start, end) in `text` of each word `words(text)` gives, or None where the
    normalisation moved characters in a way this cannot map back (then no span is known).

    Only called for documents found contaminated, so speed does not matter here.
    """
    folded = text.casefold()
    if unicodedata.is_normalized("NFKC", text) and len(folded) == len(text):
        return [m.span() for m in WORD.finditer(folded)]
    # Normalise one base character and its combining marks at a time, remembering where each
    # output character came from.
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        piece = normalize(text[i:j])
        out.append(piece)
        origin.extend([(i, j)] * len(piece))
        i = j
    norm = "".join(out)
    spans = [(origin[m.start()][0], origin[m.end() - 1][1]) for m in WORD.finditer(norm)]
    return spans if len(spans) == len(words(text)) else None
