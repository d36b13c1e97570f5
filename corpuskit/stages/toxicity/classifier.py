"""A hashed word n-gram logistic regression, trained by `train.py` and shipped as `weights.npz`.

Features are the normalized tokens of a unit (see `normalize.py`) and their bigrams,
hashed with CRC-32 (stable across processes, unlike Python's `hash`) into
`n_buckets` slots, each counted once per unit. A unit's logit is
`bias + sum(weights[slot]) / sqrt(n_slots)`: dividing by the square root keeps long
sentences from piling up small weights, which matters because the model is trained on
tweets and applied to book sentences.

Scoring is vectorized over all units of a document (one numpy pass), and training
uses the same `unit_slots` function, so the two cannot drift apart.

The weights file is a plain `.npz` read with `allow_pickle=False`: it can hold
arrays only, never code.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from corpuskit.stages.toxicity.normalize import SKIP, normalize_token, tokens

WEIGHTS = Path(__file__).with_name("weights.npz")
_BIGRAM_MIX = 1_000_003  # odd multiplier that spreads (a, b) pairs; (2**32 * MIX) fits in int64
_CACHE_LIMIT = 500_000  # bound memory on endless vocabularies


def token_hash(raw: str) -> int:
    """Stable 32-bit hash of a raw token's normalized form; -1 for tokens that carry nothing."""
    tok = normalize_token(raw)
    return -1 if tok in SKIP else zlib.crc32(tok.encode("utf-8"))


def unit_slots(units: list[list[str]], n_buckets: int, cache: dict[str, int] | None = None):
    """(unit index, slot) pairs, unique, for the hashed unigrams and bigrams of each unit.

    `units` holds the raw lowercase tokens of each unit. Skipped tokens (mentions,
    retweet marks) are removed before bigrams are formed.
    """
    cache = {} if cache is None else cache
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    get = cache.get
    flat = [t for u in units for t in u]
    hashes = list(map(get, flat))
    if None in hashes:
        for i, h in enumerate(hashes):
            if h is None:
                hashes[i] = cache[flat[i]] = token_hash(flat[i])
    h = np.array(hashes, dtype=np.int64)
    unit = np.repeat(np.arange(len(units), dtype=np.int64), [len(u) for u in units])
    keep = h >= 0
    h, unit = h[keep], unit[keep]
    same = unit[1:] == unit[:-1]  # consecutive kept tokens of the same unit form a bigram
    bigrams = ((h[:-1][same] * _BIGRAM_MIX) ^ h[1:][same]) % n_buckets
    keys = np.unique(np.concatenate([unit * n_buckets + h % n_buckets, unit[1:][same] * n_buckets + bigrams]))
    return keys // n_buckets, keys % n_buckets


class HashedClassifier:
    """Score units with the shipped (or a retrained) hashed logistic regression."""

    def __init__(self, path: str | Path = WEIGHTS):
        with np.load(path, allow_pickle=False) as data:
            self.n_buckets = int(data["n_buckets"])
            self.bias = float(data["bias"])
            self.weights = data["weights"].astype(np.float64)
        if len(self.weights) != self.n_buckets:
            raise ValueError(f"{path}: {len(self.weights)} weights for {self.n_buckets} buckets")
        self._cache: dict[str, int] = {}

    def score_units(self, units: list[list[str]], low: str = "", spans=()) -> np.ndarray:
        """Probability that each unit is toxic, from the raw lowercase tokens of each unit."""
        n = len(units)
        if n == 0:
            return np.zeros(0)
        rows, slots = unit_slots(units, self.n_buckets, self._cache)
        counts = np.bincount(rows, minlength=n)
        z = self.bias + np.bincount(rows, weights=self.weights[slots], minlength=n) / np.sqrt(np.maximum(counts, 1))
        # a unit of only mentions, links or retweet marks has nothing to judge
        return np.where(counts > 0, 1.0 / (1.0 + np.exp(-z)), 0.0)

    def score(self, text: str) -> float:
        return float(self.score_units([tokens(text)])[0])
