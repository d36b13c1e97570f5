"""Figures for a scorer against labelled texts: ROC-AUC, and precision/recall/F1 at a threshold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from corpuskit.classify.metrics import binary_metrics, roc_auc  # noqa: F401
from corpuskit.errors import ConfigError
from corpuskit.stages.toxicity.labelled import is_heldout, read_labelled
from corpuskit.stages.toxicity.score import scoring_stage


@dataclass(frozen=True)
class Evaluation:
    metrics: dict  # `binary_metrics`: n, positives, roc_auc, precision, recall, f1 and the counts
    aggregate: str  # the document score the metrics are about


def evaluate_labelled(path: str | Path, text_column: str, label_column: str, positive: Iterable[str],
                      threshold: float, split: str = "all", **scorer) -> Evaluation:
    """Score every text of a labelled CSV and compare with its labels at `threshold`.

    `positive`: the label values that count as toxic. `split`: "all", or "train" / "test"
    (the texts the shipped classifier was trained on / held out from, by `is_heldout`).
    A missing column or an empty selection is a ConfigError.
    """
    stage = scoring_stage(threshold=threshold, **scorer)
    try:
        texts, labels = read_labelled(path, text_column, label_column, set(positive))
    except KeyError as err:
        raise ConfigError(f"{path}: no column {err}") from None
    if split != "all":
        keep = [i for i, t in enumerate(texts) if is_heldout(t) == (split == "test")]
        texts, labels = [texts[i] for i in keep], labels[keep]
    if not texts:
        raise ConfigError(f"{path}: no texts to evaluate")
    scores = [stage.score(t).value(stage.aggregate) for t in texts]
    return Evaluation(binary_metrics(scores, labels, threshold), stage.aggregate)
