"""Figures for a scorer against labelled texts: ROC-AUC, and precision/recall/F1 at a threshold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from corpuskit.errors import ConfigError
from corpuskit.stages.toxicity.labelled import is_heldout, read_labelled
from corpuskit.stages.toxicity.score import scoring_stage


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve by the rank-sum formula, ties counted as half; NaN if one class is missing."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average rank for each run of tied scores
    edges = np.flatnonzero(np.diff(sorted_s)) + 1
    starts, ends = np.r_[0, edges], np.r_[edges, len(s)]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary_metrics(scores, labels, threshold: float) -> dict:
    """ROC-AUC plus precision, recall and F1 of `score >= threshold`, with the counts behind them."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    pred = s >= threshold
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(s), "positives": int(y.sum()), "roc_auc": roc_auc(s, y), "threshold": threshold,
            "precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


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
