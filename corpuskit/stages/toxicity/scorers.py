"""Unit scorers behind one interface: `scorer(text, spans) -> array of unit scores in [0, 1]`.

The stage never needs to know whether it drives a word list, the hashed classifier, a
sentence-embedding model, a cascade of the two, or a Hugging Face classifier. It scores
documents a chunk at a time through `score_many`, so that a model with a per-call cost
(MiniLM: about 13 ms for a call with one sentence on one core) sees one call per chunk,
not one per document.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


SCORERS = ("classifier", "ensemble", "lexicon", "embedding", "cascade", "hf")
# `ensemble` multiplies the word list's score by this before taking the higher of it and the
# classifier's, so one listed word alone (weight 0.9 or less) stays under the unit threshold 0.8 and
# a period slur in a novel's dialogue needs the classifier's agreement (docs/TOXICITY.md:
# chosen on the dev editions' single paragraphs and the variant bench's dev rows).
ENSEMBLE_LEXICON_SCALE = 0.88


def score_many(scorer, items: list[tuple[str, list[tuple[int, int]]]]) -> list[np.ndarray]:
    """Unit scores of several (text, spans) at once: one batched call where the scorer has one."""
    if hasattr(scorer, "score_many"):
        return scorer.score_many(items)
    return [np.asarray(scorer(text, spans), dtype=np.float64) for text, spans in items]


def by_units(score_texts, items) -> list[np.ndarray]:
    """`score_many` for a model that scores a flat list of strings: every unit of every item in one call."""
    scores = score_texts([text[a:b] for text, spans in items for a, b in spans])
    bounds = np.cumsum([0] + [len(spans) for _, spans in items])
    return [scores[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


class MaxScorer:
    """Word list and/or classifier on one lowercasing; a unit's score is the highest of the
    parts' scores, each multiplied by its factor first."""

    def __init__(self, parts: list[tuple[object, float]]):
        self.parts = parts

    def __call__(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        return self.score_many([(text, spans)])[0]

    def score_many(self, items) -> list[np.ndarray]:
        """Each part scores all the items in one `score_batch` call (the classifier joins them)."""
        from corpuskit.stages.toxicity.classifier import lowercase

        lowered = [(lowercase(text), spans) for text, spans in items]
        out = [np.zeros(len(spans)) for _, spans in items]  # scores are >= 0: max(0, s) = s
        for part, factor in self.parts:
            for best, scores in zip(out, part.score_batch(lowered)):
                np.maximum(best, factor * np.asarray(scores, dtype=np.float64), out=best)
        return out


class CascadeScorer:
    """The fast scorer on every unit; the slow one only on units the fast one scores at least `cut`.

    A unit sent on gets the mean of the two scores: the embedding head alone is weaker than
    the classifier on most held-out sources, but the two err on different texts, and the
    mean gained ROC-AUC over either (docs/TOXICITY.md). Units below the cut keep the fast
    score, which is below the stage's unit threshold whenever the cut is.
    """

    def __init__(self, fast, slow, cut: float):
        self.fast, self.slow, self.cut = fast, slow, cut

    def __call__(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        return self.score_many([(text, spans)])[0]

    def score_many(self, items) -> list[np.ndarray]:
        """The fast scores of every item; then one slow call for the units of all items above the cut."""
        scores = score_many(self.fast, items)
        sent = [np.flatnonzero(s >= self.cut) for s in scores]
        picked = [(text, [spans[i] for i in idx]) for (text, spans), idx in zip(items, sent)]
        if any(idx.size for idx in sent):
            slow = score_many(self.slow, picked)
            for s, idx, extra in zip(scores, sent, slow):
                s[idx] = (s[idx] + extra) / 2.0
        return scores


@lru_cache(maxsize=8)
def load_scorer(name: str, model: str = "", wordlist: str = "", cut: float = 0.0, stamp: tuple = ()):
    """A ready scorer; cached so that every unit of work in a process shares one copy. `stamp`
    (`files_stamp` of the model and word list) is only part of the key: files replaced in place
    are loaded again."""
    if name not in SCORERS:
        raise ValueError(f"scorer must be one of {', '.join(SCORERS)}; got {name!r}")
    if name == "hf":
        if not model:
            raise ValueError("scorer 'hf' needs model: the folder of a saved text-classification model")
        from corpuskit.stages.toxicity.hf import HFScorer

        return HFScorer(model)
    if name in ("embedding", "cascade"):
        from corpuskit.stages.toxicity.embedding import HEAD, EmbeddingScorer

        slow = EmbeddingScorer(model or HEAD) if name == "embedding" else EmbeddingScorer()
        return slow if name == "embedding" else CascadeScorer(load_scorer("classifier"), slow, cut)
    from corpuskit.stages.toxicity.classifier import WEIGHTS, HashedClassifier
    from corpuskit.stages.toxicity.lexicon import WORDLIST, LexiconScorer

    parts = []
    if name in ("ensemble", "lexicon"):
        parts.append((LexiconScorer(wordlist or WORDLIST), ENSEMBLE_LEXICON_SCALE if name == "ensemble" else 1.0))
    if name in ("ensemble", "classifier"):
        parts.append((HashedClassifier(model or WEIGHTS), 1.0))
    return MaxScorer(parts)
