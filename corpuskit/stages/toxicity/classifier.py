"""The toxicity stage's fast scorer: the toolkit's hashed n-gram classifier with the shipped `weights.npz`.

The features, TF-IDF weighting and batched scoring live in `corpuskit.classify.hashed`
(shared with the quality stage); this module names the toxicity weights and re-exports
what the scorers, the training script and the tests use. The unit features, their weighting
and the reasons they were chosen are in that module's docstring and docs/TOXICITY.md.
"""

from __future__ import annotations

from pathlib import Path

from corpuskit.classify import hashed
from corpuskit.classify.hashed import (BATCH_CHARS, CHAR_N, FEATURES, idf_weights, lowercase,  # noqa: F401
                                       tfidf_raw, tfidf_values, unit_counts, unit_features)

WEIGHTS = Path(__file__).with_name("weights.npz")


class HashedClassifier(hashed.HashedClassifier):
    """The hashed classifier; the shipped toxicity weights unless given another file."""

    def __init__(self, path: str | Path = WEIGHTS):
        super().__init__(path)
