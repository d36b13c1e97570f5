"""The quality model: a hashed n-gram classifier and a rule-statistics classifier, summed.

A model folder (`corpuskit.classify.model`: `weights.npz` + `card.json`) holds two logistic
regressions trained on the same rows:

- `ngram_*`: the toolkit's hashed character + word n-gram classifier over `normalize(text)`
  (whitespace collapsed, first `max_chars` characters);
- `stats_*`: a logistic regression over the standardized `rule_stats` of the text.

The score is `sigmoid(sum of (logit - center) / sd)` over the two parts: each part's logit is
centered on its (label-balanced) mean and divided by its spread on the training rows, so the
two weigh the same whatever their L2 made of their scale, and 0.5 sits between the labels (docs/QUALITY.md: on the dev pages the sum beat either part). Higher is
better; the card's `threshold` is the default cut, chosen on dev pages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpuskit.classify.hashed import BATCH_CHARS, HashedClassifier, lowercase
from corpuskit.classify.model import ModelError, load_model
from corpuskit.stages.quality.features import STATS, normalize, rule_stats

FORMAT = "corpuskit-quality/1"  # a card with another format was written by another version: refused
DEFAULT_MODEL = Path(__file__).resolve().parent.parent.parent / "models" / "quality"
# standardized statistics are cut to this many spreads: a page unlike any training page (one 5,000-letter
# "word") must not get an extreme score from a linear model extrapolating
CLIP = 4.0


class QualityModel:
    """Scores in [0, 1] (higher is better) for texts, from a model folder."""

    def __init__(self, folder: str | Path = DEFAULT_MODEL):
        self.folder = Path(folder)
        self.card, arrays = load_model(self.folder, FORMAT)
        where = str(self.folder / "weights.npz")
        try:
            self.max_chars = int(self.card["max_chars"])
            self.ngram = HashedClassifier.from_arrays(
                {k[len("ngram_"):]: v for k, v in arrays.items() if k.startswith("ngram_")}, where)
            self.stats_mean, self.stats_sd = arrays["stats_mean"], arrays["stats_sd"]
            self.stats_w, self.stats_b = arrays["stats_w"].astype(np.float64), float(arrays["stats_b"])
            # (n-gram, statistics) logits' balanced mean and spread on the training rows
            self.center, self.scale = arrays["center"].astype(np.float64), arrays["scale"].astype(np.float64)
        except (KeyError, ValueError, TypeError) as err:
            raise ModelError(f"{where}: not a quality model of this version ({err})") from None
        if list(self.card.get("stats", [])) != list(STATS) or self.stats_w.shape != (len(STATS),):
            raise ModelError(f"{self.folder / 'card.json'}: rule statistics {self.card.get('stats')}; "
                             f"this version computes {list(STATS)}")
        self.threshold = float(self.card.get("threshold", 0.5))

    def parts(self, texts: list[str]) -> np.ndarray:
        """(N, 2) logits of the n-gram and statistics classifiers."""
        out = np.zeros((len(texts), 2))
        low = [lowercase(normalize(t, self.max_chars)) for t in texts]
        a = 0
        while a < len(low):  # about BATCH_CHARS characters at a time: the arrays stay in cache
            b, chars = a, 0
            while b < len(low) and (b == a or chars + len(low[b]) <= BATCH_CHARS):
                chars += len(low[b]) + 1
                b += 1
            spans, pos = [], 0
            for t in low[a:b]:
                spans.append((pos, pos + len(t)))
                pos += len(t) + 1
            z, judged = self.ngram.logit_spans("\n".join(low[a:b]), spans)
            out[a:b, 0] = np.where(judged, z, self.ngram.bias)
            a = b
        x = np.clip((rule_stats(texts, self.max_chars) - self.stats_mean) / self.stats_sd, -CLIP, CLIP)
        out[:, 1] = (x * self.stats_w).sum(axis=1) + self.stats_b  # row by row: the same whatever the batch
        return out

    def score_texts(self, texts: list[str]) -> np.ndarray:
        """One score per text in [0, 1], higher is better."""
        if not texts:
            return np.zeros(0)
        z = ((self.parts(texts) - self.center) / self.scale).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-z))
