"""The unit scorers behind the `toxicity` stage, by name, loaded once per process.

Every scorer is called as `scorer(text, spans) -> array of unit scores in [0, 1]`,
so the stage never needs to know whether it drives a word list, the shipped
classifier or a transformer.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from corpuskit.stages.toxicity.normalize import TOKEN

SCORERS = ("ensemble", "classifier", "lexicon", "hf")


class TokenScorer:
    """Lexicon and/or classifier on one shared tokenization; the unit score is the highest of them."""

    def __init__(self, parts: list):
        self.parts = parts

    def __call__(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        low = text.lower()
        if len(low) != len(text):  # a few characters (like "İ") grow when lowercased and would shift the spans
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        units = [TOKEN.findall(low, a, b) for a, b in spans]
        scores = [np.asarray(p.score_units(units, low, spans), dtype=np.float64) for p in self.parts]
        return np.maximum.reduce(scores) if scores[0].size else np.zeros(0)


@lru_cache(maxsize=8)
def load_scorer(name: str, model: str = "", wordlist: str = ""):
    """A ready scorer; cached so that every unit of work in a process shares one copy."""
    if name not in SCORERS:
        raise ValueError(f"scorer must be one of {', '.join(SCORERS)}; got {name!r}")
    if name == "hf":
        if not model:
            raise ValueError("scorer 'hf' needs model: the folder of a saved text-classification model")
        from corpuskit.stages.toxicity.hf import HFScorer

        return HFScorer(model)
    from corpuskit.stages.toxicity.classifier import WEIGHTS, HashedClassifier
    from corpuskit.stages.toxicity.lexicon import WORDLIST, LexiconScorer

    parts = []
    if name in ("ensemble", "lexicon"):
        parts.append(LexiconScorer(wordlist or WORDLIST))
    if name in ("ensemble", "classifier"):
        parts.append(HashedClassifier(model or WEIGHTS))
    return TokenScorer(parts)
