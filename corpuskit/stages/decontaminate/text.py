"""Words of a text as decontamination sees them, and the 64-bit hashes of their n-grams.

Normalisation: Unicode NFKC, casefold, and everything that is not a letter or a digit is
a word break (punctuation, underscores and whitespace alike), so "Answer:  THE cat's"
and "answer the cat s" give the same words. An eval item and a training document go
through the same function, so only these differences are forgiven.

Hashes: each word gets a fixed 64-bit hash, a polynomial over its UTF-8 bytes finished by
splitmix64's mixer, computed for every word of a document at once from prefix sums in numpy
(uint64 arithmetic wraps, which is what a hash wants; no Python code runs per word, and no
vocabulary is needed). An n-gram's hash is a weighted sum of its words' hashes, for every
window at once. A 0 marks a gap (between eval items): no window holding one is an n-gram.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

WORD = re.compile(r"[^\W_]+")
_NON_ASCII_BREAK = re.compile(r"[^\x00-\x7f\w]+")
# ASCII letters and digits, and every byte of a multi-byte UTF-8 character, stay; the rest is a space
_ASCII_BREAKS = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
_ASCII_WORD = np.array([chr(c).isalnum() for c in range(128)])  # what WORD matches, per ASCII character
_SEPARATE = bytes([0]) + _ASCII_BREAKS[1:]  # the same, but NUL stays: it separates joined texts
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


_Q = 0x100000001B3  # odd, so it has an inverse modulo 2**64
_POW_CHUNK = 1 << 20  # bytes hashed per numpy pass: bounds the power tables (8 MiB each)
_ONE = np.ones(1, dtype=np.uint64)
_POWERS = np.concatenate((_ONE, np.cumprod(np.full(_POW_CHUNK, _Q, dtype=np.uint64))))  # Q**j
_INVERSE = np.concatenate((_ONE, np.cumprod(np.full(_POW_CHUNK, pow(_Q, -1, 2**64), dtype=np.uint64))))  # Q**-j


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised: every input bit moves every output bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    z[z == 0] = 1  # 0 marks a gap
    return z


def word_hashes(text: str) -> np.ndarray:
    """The 64-bit hash of each of `words(text)`, in order (uint64)."""
    return _hash_buffer(text, _ASCII_BREAKS)[0]


def hash_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`word_hashes` of many texts in one pass (the eval sets' pieces), and the number of the
    text each word is from. The texts are joined by NUL, which `_SEPARATE` keeps as a break of
    its own, so that no Python code runs per text after the join."""
    # NFKC and the non-ASCII breaks only for the texts that need them; ASCII text is case folded
    # by `lower` (the same there, and faster): the same words as `_hash_buffer` of each text,
    # since no normalisation reaches across the NUL between two texts
    texts = [t.replace("\0", " ").lower() if t.isascii() else _break_non_ascii(t) for t in texts]
    hashes, starts, buf = _hash_folded("\0".join(texts), _SEPARATE)
    return hashes, np.searchsorted(np.flatnonzero(buf == 0), starts)


def _break_non_ascii(text: str) -> str:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _NON_ASCII_BREAK.sub(" ", text.casefold().replace("\0", " "))


def _hash_buffer(text: str, table: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(word hashes, word starts, the byte buffer) of `text`, hashed a MiB at a time."""
    text = normalize(text)
    if not text.isascii():
        text = _NON_ASCII_BREAK.sub(" ", text)
    return _hash_folded(text, table)


def _hash_folded(text: str, table: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_hash_buffer` of text already normalised, with the non-ASCII breaks made spaces."""
    buf = np.frombuffer(text.encode("utf-8").translate(table), dtype=np.uint8)
    hashes, starts, at = [], [], 0
    while at < len(buf):  # cut at a break, so that no word spans two passes
        end = len(buf) if len(buf) - at <= _POW_CHUNK else at + _POW_CHUNK
        while end < len(buf) and buf[end - 1] not in (0, 32):
            end -= 1
        if end == at:  # one word of a MiB: cut it anyway
            end = at + _POW_CHUNK
        h, s = _hash_words(buf[at:end])
        hashes.append(h), starts.append(s + at)
        at = end
    if not hashes:
        return np.empty(0, np.uint64), np.empty(0, np.int64), buf
    return np.concatenate(hashes), np.concatenate(starts), buf


def _hash_words(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    in_word = np.concatenate(([False], (buf != 32) & (buf != 0), [False]))
    edges = np.flatnonzero(in_word[1:] != in_word[:-1])
    starts, ends = edges[0::2], edges[1::2]
    prefix = np.zeros(len(buf) + 1, dtype=np.uint64)
    np.cumsum(buf.astype(np.uint64) * _POWERS[:len(buf)], out=prefix[1:])
    return _mix((prefix[ends] - prefix[starts]) * _INVERSE[starts]), starts


def word_hash(word: bytes) -> int:
    """The hash `word_hashes` gives this one word, in plain Python (for tests)."""
    z = sum(b * pow(_Q, j, 2**64) for j, b in enumerate(word)) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return (z ^ (z >> 31)) or 1


def ngram_hashes(hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hash, start) of every window of `n` word hashes holding no gap (0)."""
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

    Only called for documents found contaminated. Text that NFKC and case folding leave in
    place is matched as it is; other text one whitespace-separated token at a time, and only
    the tokens they change one base character (with its combining marks) at a time.
    """
    if _in_place(text):
        return [m.span() for m in WORD.finditer(text.casefold())]
    spans: list[tuple[int, int]] = []
    for token in re.finditer(r"\S+", text):
        at, piece = token.start(), token.group()
        # (a combining mark ends a word here, but joins its letter's word character by character)
        if piece.isascii() or (_in_place(piece) and not any(map(unicodedata.combining, piece))):
            spans += [(at + m.start(), at + m.end()) for m in WORD.finditer(piece.casefold())]
        else:
            spans += _char_spans(piece, at)
    n = len(words(text))
    if len(spans) != n:  # a token that NFKC joined to its neighbour: the whole text, character by character
        spans = _char_spans(text, 0)
    return spans if len(spans) == n else None


def _in_place(text: str) -> bool:
    """Whether NFKC and case folding keep every character of `text` where it is."""
    return text.isascii() or (unicodedata.is_normalized("NFKC", text) and len(text.casefold()) == len(text))


def _char_spans(text: str, at: int) -> list[tuple[int, int]]:
    """Word spans (offset by `at`) of `text` normalised one base character and its combining marks
    at a time, remembering where each output character came from."""
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        piece = normalize(text[i:j])
        out.append(piece)
        origin.extend([(at + i, at + j)] * len(piece))
        i = j
    return [(origin[m.start()][0], origin[m.end() - 1][1]) for m in WORD.finditer("".join(out))]


def word_bounds(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(starts, ends) in `text` of the words `words(text)` gives, as arrays: `word_spans` with no
    Python code per word. A character is a word character when what NFKC and case folding make
    of it alone is letters and digits (`ﬁ`, `Ｆ`), a break when it is none (`…`, a no-break
    space); that holds for the whole text unless a character becomes both (`½`) or is a
    combining mark (NFKC joins it to its letter), and is checked by the number of words.
    Otherwise `word_spans`, character by character; None where `word_spans` is."""
    if text.isascii():  # a byte is a character
        is_word = np.frombuffer(text.encode("ascii").translate(_ASCII_BREAKS), dtype=np.uint8) != 32
    else:
        code = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        is_word = _ASCII_WORD[np.minimum(code, 127)]
        high = np.flatnonzero(code > 127)  # the few distinct other characters: asked one by one
        distinct, where = np.unique(code[high], return_inverse=True)
        kinds = [_char_kind(c) for c in distinct.tolist()]
        if None in kinds:
            return _spans_as_arrays(text)
        is_word[high] = np.array(kinds, dtype=bool)[where]
    edges = np.flatnonzero(np.diff(np.concatenate(([0], is_word, [0])).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    if not _in_place(text) and len(starts) != len(words(text)):  # NFKC joined or split words
        return _spans_as_arrays(text)
    return starts, ends


def _char_kind(code: int) -> bool | None:
    """Whether the character is a word character once normalised alone; None when it is neither
    (it becomes letters and breaks) or a combining mark."""
    char = chr(code)
    if unicodedata.combining(char):
        return None
    kinds = {c.isalnum() for c in normalize(char)}
    return None if len(kinds) > 1 else kinds == {True}


def _spans_as_arrays(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    spans = word_spans(text)
    return None if spans is None else (np.array([a for a, _ in spans], dtype=np.int64),
                                       np.array([b for _, b in spans], dtype=np.int64))
