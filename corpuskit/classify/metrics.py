"""Figures for a binary scorer against labels: ROC-AUC, and precision/recall/F1 at a threshold."""

from __future__ import annotations

import numpy as np


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
