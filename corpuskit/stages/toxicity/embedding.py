"""The `embedding` scorer: the toolkit's MiniLM encoder and a logistic head (`embedding_head.npz`).

The encoder (`corpuskit.classify.embedding`, shared with the quality stage) mean-pools the
layers the head names (`layers` in the `.npz`; the shipped head: 6, the last, and 3); the head
is `sigmoid(emb @ w + b)`, trained by `scripts/train_toxicity.py` on the same labelled sources
as the hashed classifier and read with `allow_pickle=False`. Adding layer 3 raised the head's
mean ROC-AUC on the other sources' dev folds in every leave-one-source-out fold
(docs/TOXICITY.md); layer 3 is on the way to the last one, so it costs only 1-3% more time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpuskit.classify.embedding import MAX_LENGTH, TOKEN_BUDGET, Encoder, cached_embeddings, model_dir  # noqa: F401

HEAD = Path(__file__).with_name("embedding_head.npz")


class EmbeddingScorer:
    """Probability that each unit is toxic: the shipped (or another) logistic head on MiniLM embeddings."""

    def __init__(self, head: str | Path = HEAD, encoder: Encoder | None = None):
        with np.load(head, allow_pickle=False) as data:
            self.w = data["w"].astype(np.float64)
            self.b = float(data["b"])
            layers = data["layers"] if "layers" in data.files else None  # older heads: the last layer
        if layers is not None and (layers.ndim != 1 or layers.dtype.kind not in "iu"):
            raise ValueError(f"{head}: 'layers' must be a list of layer numbers; got {layers!r}")
        layers = None if layers is None else tuple(int(i) for i in layers)
        self.encoder = encoder or Encoder(layers=layers)
        if self.encoder.dim != self.w.shape[0]:
            raise ValueError(f"{head}: a head of {self.w.shape[0]} weights for embeddings of {self.encoder.dim}")

    @property
    def calls(self) -> int:
        return self.encoder.calls

    def score_embeddings(self, emb: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(emb.astype(np.float64) @ self.w + self.b)))

    def score_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        return self.score_embeddings(self.encoder.encode(texts))

    def __call__(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        return self.score_texts([text[a:b] for a, b in spans])

    def score_many(self, items) -> list[np.ndarray]:
        """Unit scores of several (text, spans), all units encoded in one call (batched by length)."""
        from corpuskit.stages.toxicity.scorers import by_units

        return by_units(self.score_texts, items)
