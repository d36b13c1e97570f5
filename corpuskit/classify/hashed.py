"""Hashed character + word n-gram features and the logistic regression over them.

The toolkit's fast classifier, shared by the toxicity stage (units: sentences, lines) and the
quality stage (units: whole documents). Moved here unchanged from the toxicity stage, so the
shipped toxicity weights score and rebuild exactly as before.

Every unit (sentence, line or document) becomes a stream of lowercase characters: letters and
digits stay, `@` and `$` read as `a` and `s`, `*` stays (`f*ck`), other punctuation and
whitespace become one space, runs of three or more of a character are cut to two
(`fuuuuck` -> `fuuck`), and the unit is padded with a space on each side. Its features are
the character 3-, 4- and 5-grams of that stream, its words, and its word bigrams; each is
hashed into `n_buckets` slots. Character n-grams are what survive obfuscation (`b1tch`
shares `tch ` with `bitch`), tokenization upstream (pre-tokenized or punctuation-stripped
sources) and words never seen in training.

A unit's features are weighted as TF-IDF with sublinear counts, as scikit-learn's
`TfidfTransformer(sublinear_tf=True)` does: a slot seen `c` times in the unit gets
`(1 + ln c) * idf[slot]`, with `idf = ln((1 + n) / (1 + df)) + 1` from the training rows,
and the unit's vector is scaled to unit length. The logit is `bias + weights . vector`, so a
long unit does not pile up small weights (docs/TOXICITY.md). All of it is numpy over many
texts at once (`score_batch`): hashes are polynomial prefix sums modulo 2**32 (wrapping uint32
arithmetic; the multiplier is odd, hence invertible), so no Python loop runs per character
or per word. Training (`corpuskit.classify.train`) calls the same `unit_counts` and
`tfidf_raw` (through `tfidf_values`), so the two cannot drift apart.

A weights file is a plain `.npz` read with `allow_pickle=False`: arrays only, never code.
"""


from __future__ import annotations

from itertools import chain
from pathlib import Path

import numpy as np

FEATURES = "char345+word12/tfidf-v3"  # stored in a weights file; a file for other features is refused
CHAR_N = (3, 4, 5)
# texts scored together by `score_batch`: 12-24k characters was the fastest on the books, single core
# (about 5.9 MB/s against 4.1 at 64k and 2.5 one text at a time: the arrays stay in cache; docs/TOXICITY.md)
BATCH_CHARS = 1 << 14
_P = np.uint32(0x01000193)  # FNV prime: odd, so it has an inverse modulo 2**32
_P_INV = np.uint32(pow(0x01000193, -1, 1 << 32))
_MIX = np.uint32(0x9E3779B1)
_TAG = {n: np.uint32((0x85EBCA6B * (n + 1)) & 0xFFFFFFFF) for n in (*CHAR_N, 0, 1)}  # 0 word, 1 word bigram
_SPACE = 32
# code point -> stream character for the Basic Multilingual Plane (others stay as they are):
# letters and digits lowercase as given, `*` stays, `@ $` read as `a s`, ASCII punctuation,
# whitespace and the common non-ASCII quotes, dashes and spaces become a space
_MAP = np.arange(1 << 16, dtype=np.uint32)
_MAP[:128] = _SPACE
for _c in "abcdefghijklmnopqrstuvwxyz0123456789*":
    _MAP[ord(_c)] = ord(_c)
_MAP[ord("@")], _MAP[ord("$")] = ord("a"), ord("s")
_MAP[[0xA0, 0xAB, 0xAD, 0xBB, 0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x3000]] = _SPACE


class _Powers:
    """P**i and P**-i modulo 2**32 for i < n, grown on demand (shared by all documents)."""

    def __init__(self):
        self.fwd = self.inv = np.ones(1, dtype=np.uint32)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.fwd) < n:
            size = max(n, 2 * len(self.fwd), 1 << 14)
            with np.errstate(over="ignore"):
                self.fwd = np.cumprod(np.r_[np.uint32(1), np.full(size - 1, _P)], dtype=np.uint32)
                self.inv = np.cumprod(np.r_[np.uint32(1), np.full(size - 1, _P_INV)], dtype=np.uint32)
        return self.fwd[:n], self.inv[:n]


_POWERS = _Powers()


def _stream(low: str, spans) -> tuple[np.ndarray, np.ndarray]:
    """(characters, unit index) of the padded, collapsed character streams of all units, back to back."""
    cp = np.frombuffer(low.encode("utf-32-le"), dtype=np.uint32)
    mapped = _MAP[cp] if cp.size and int(cp.max()) < (1 << 16) else np.where(cp < (1 << 16), _MAP[cp & 0xFFFF], cp)
    bounds = np.array(spans, dtype=np.int64).reshape(-1, 2)
    starts, lengths = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
    padded = lengths + 2
    ends = np.cumsum(padded)
    uid = np.repeat(np.arange(len(spans), dtype=np.int32), padded)
    chars = np.full(int(ends[-1]), _SPACE, dtype=np.uint32)
    # position in the stream of each unit character, and its position in the text
    shift = np.repeat(ends - padded + 1 - starts, lengths)
    text_pos = np.arange(int(lengths.sum()), dtype=np.int64)
    text_pos += np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    chars[text_pos + shift] = mapped[text_pos]
    # drop a space after a space, and a third (fourth, ...) repeat of any character, inside one unit
    same1 = np.empty(len(chars), dtype=bool)
    same1[0] = False
    np.equal(chars[1:], chars[:-1], out=same1[1:])
    same1[1:] &= uid[1:] == uid[:-1]
    drop = same1 & (chars == _SPACE)
    drop[1:] |= same1[1:] & same1[:-1]
    keep = ~drop
    return chars[keep], uid[keep]


def _mix(h: np.ndarray, tag: np.uint32) -> np.ndarray:
    """Scramble the bits of the hashes `h` (a fresh array, changed in place)."""
    h ^= tag
    h *= _MIX
    h ^= h >> np.uint32(15)
    return h


def unit_features(low: str, spans, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit index, slot) of every hashed feature of every unit; a feature repeated in a unit repeats.

    `low` is the lowercased text (same length as the original, so `spans` still fit).
    """
    if not len(spans):
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    chars, uid = _stream(low, spans)
    # a unit without a letter (a row of `*    *    *`, a number) has nothing to judge: no features
    letter = (chars > 57) & (chars != 42)  # not space, digit or `*` (every other ASCII byte became a space)
    judged = np.bincount(uid[letter], minlength=len(spans)) > 0
    if not judged.all():
        keep = judged[uid]
        chars, uid = chars[keep], uid[keep]
    n = len(chars)
    if n == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    fwd, inv = _POWERS.get(n)
    with np.errstate(over="ignore"):
        prefix = np.zeros(n + 1, dtype=np.uint32)  # prefix[i]: hash sum of the first i characters
        np.cumsum(chars * fwd, dtype=np.uint32, out=prefix[1:])
        rows, hashes = [], []
        for k in CHAR_N:  # every window, then those inside one unit (slices, not gathers)
            m = max(n - k + 1, 0)
            inside = uid[:m] == uid[k - 1:k - 1 + m]
            rows.append(uid[:m][inside])
            hashes.append(_mix((prefix[k:k + m] - prefix[:m]) * inv[:m], _TAG[k])[inside])
        space = chars == _SPACE
        # alternating word starts and ends (every unit starts and ends with a space)
        edge = np.flatnonzero(space[1:] != space[:-1]) + 1
        w_start, w_end = edge[0::2], edge[1::2]
        words = _mix((prefix[w_end] - prefix[w_start]) * inv[w_start], _TAG[0])
        w_uid = uid[w_start]
        rows.append(w_uid)
        hashes.append(words)
        pair = np.flatnonzero(w_uid[1:] == w_uid[:-1])
        rows.append(w_uid[pair])
        hashes.append(_mix(words[pair] * _P + words[pair + 1], _TAG[1]))
    slots = np.concatenate(hashes)
    if n_buckets & (n_buckets - 1):
        slots %= np.uint32(n_buckets)
    else:  # a power of two, as shipped
        slots &= np.uint32(n_buckets - 1)
    return np.concatenate(rows), slots


def unit_counts(low: str, spans, n_buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit, slot, count) of each distinct feature slot of each unit, sorted by unit then slot."""
    rows, slots = unit_features(low, spans, n_buckets)
    # one sort of unit * n_buckets + slot; 32-bit keys where they fit (they sort in about half the time)
    dtype = np.uint32 if len(spans) * n_buckets <= 1 << 32 else np.int64
    size = dtype(n_buckets)
    keys = rows.astype(dtype)
    keys *= size
    keys += slots.astype(dtype, copy=False)
    keys.sort()
    first = np.empty(len(keys) + 1, dtype=bool)  # first[i]: keys[i] starts a run; first[-1]: the end
    first[0] = first[-1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:-1])
    at = np.flatnonzero(first)
    uniq = keys[at[:-1]]
    return (uniq // size).astype(np.int32), (uniq % size).astype(np.intp), np.diff(at)


def tfidf_raw(count: np.ndarray, slot_idf: np.ndarray) -> np.ndarray:
    """`(1 + ln count) * slot_idf` (float32), before each unit's vector is scaled to length 1.

    `slot_idf` is the IDF of each entry's slot.
    """
    value = np.ones(len(count), dtype=np.float32)
    many = count > 1  # most features occur once in a unit: ln 1 = 0
    value[many] += np.log(count[many].astype(np.float32))
    value *= slot_idf
    return value


def tfidf_values(unit: np.ndarray, count: np.ndarray, slot_idf: np.ndarray, n_units: int) -> np.ndarray:
    """`tfidf_raw`, scaled so each unit's vector has length 1 (float32): the model's input in training.

    Scoring divides the dot product by the same length instead, which is the same number up to
    float rounding (below 1e-7 on the books) and skips a pass over every feature.
    """
    value = tfidf_raw(count, slot_idf)
    return value / _unit_lengths(unit, value, n_units).astype(np.float32)[unit]


def _unit_lengths(unit: np.ndarray, value: np.ndarray, n_units: int) -> np.ndarray:
    """The Euclidean length of each unit's vector (float64)."""
    return np.sqrt(np.bincount(unit, weights=np.square(value, dtype=np.float64), minlength=n_units))


def idf_weights(df: np.ndarray, n_rows: int) -> np.ndarray:
    """scikit-learn's smoothed IDF from document frequencies over `n_rows` training units."""
    return (np.log((1.0 + n_rows) / (1.0 + df)) + 1.0).astype(np.float32)


def lowercase(text: str) -> str:
    """`text.lower()`, except for the few characters (like "İ") that grow when lowercased and would shift spans."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low


class HashedClassifier:
    """Score units with a hashed n-gram logistic regression saved as `.npz` (toxicity's, quality's)."""

    def __init__(self, path: str | Path):
        with np.load(path, allow_pickle=False) as data:
            self._use({name: data[name] for name in data.files}, str(path))

    @classmethod
    def from_arrays(cls, arrays: dict, where: str) -> "HashedClassifier":
        """A classifier from arrays already read (`weights`, `bias`, `idf`, `n_buckets`, `features`);
        `where` names their file in errors."""
        clf = cls.__new__(cls)
        clf._use(arrays, where)
        return clf

    def _use(self, data: dict, where: str) -> None:
        features = str(data["features"]) if "features" in data else "word12/v1"
        if features != FEATURES:
            raise ValueError(f"{where}: weights for features {features!r}; this version computes {FEATURES!r}")
        self.n_buckets = int(data["n_buckets"])
        self.bias = float(data["bias"])
        self.weights = data["weights"].astype(np.float32)
        self.idf = data["idf"].astype(np.float32)
        if not len(self.weights) == len(self.idf) == self.n_buckets:
            raise ValueError(f"{where}: {len(self.weights)} weights and {len(self.idf)} idf values "
                             f"for {self.n_buckets} buckets")
        # (weight, idf) side by side: one random read per feature instead of two
        self._table = np.stack([self.weights, self.idf], axis=1)

    def logit_spans(self, low: str, spans) -> tuple[np.ndarray, np.ndarray]:
        """(logit, judged) of each unit `low[a:b]`; a unit with nothing to judge has judged False."""
        n = len(spans)
        if n == 0:
            return np.zeros(0), np.zeros(0, dtype=bool)
        unit, slot, count = unit_counts(low, spans, self.n_buckets)
        weight_idf = np.take(self._table, slot, axis=0)  # faster than fancy indexing on this 2-D table
        value = tfidf_raw(count, weight_idf[:, 1])
        length = _unit_lengths(unit, value, n)
        judged = length > 0
        dot = np.bincount(unit, weights=weight_idf[:, 0] * value, minlength=n)
        return self.bias + dot / np.where(judged, length, 1.0), judged

    def score_spans(self, low: str, spans) -> np.ndarray:
        """Probability that each unit `low[a:b]` is positive; 0 for a unit with nothing to judge."""
        z, judged = self.logit_spans(low, spans)
        return np.where(judged, 1.0 / (1.0 + np.exp(-z)), 0.0)

    def score_batch(self, lowered: list[tuple[str, list[tuple[int, int]]]]) -> list[np.ndarray]:
        """`score_spans` of several (lowercased text, spans), scored together about BATCH_CHARS at a time.

        A unit's score depends on its own characters only, so scoring texts back to back
        gives the same numbers as one by one, at a fraction of numpy's per-call overhead.
        """
        out: list[np.ndarray] = []
        start = 0
        while start < len(lowered):
            end, chars = start, 0
            while end < len(lowered) and (end == start or chars + len(lowered[end][0]) <= BATCH_CHARS):
                chars += len(lowered[end][0])
                end += 1
            group = lowered[start:end]
            spans = np.array(list(chain.from_iterable(chain.from_iterable(s for _, s in group))), dtype=np.int64)
            spans += np.repeat(np.cumsum([0] + [len(low) for low, _ in group[:-1]]), [2 * len(s) for _, s in group])
            scores = self.score_spans("".join(low for low, _ in group), spans.reshape(-1, 2))
            cuts = np.cumsum([0] + [len(s) for _, s in group])
            out.extend(scores[a:b] for a, b in zip(cuts[:-1], cuts[1:]))
            start = end
        return out

    def score_texts(self, texts: list[str]) -> np.ndarray:
        """One probability per text, each text scored as a single unit."""
        low = "\n".join(lowercase(t) for t in texts)
        spans, pos = [], 0
        for t in texts:
            spans.append((pos, pos + len(t)))
            pos += len(t) + 1
        return self.score_spans(low, spans)

    def score(self, text: str) -> float:
        return float(self.score_texts([text])[0])
