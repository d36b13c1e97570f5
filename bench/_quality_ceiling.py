"""The `--ceiling` part of bench/bench_quality.py: how far the dev pages' own labels carry a scorer.

The shipped model never sees the DCLM dev pages. This asks what it would gain if it could: the
same features (hashed n-grams, the rule statistics; with `--embedding`, the MiniLM embeddings)
fitted on the dev pages' own human labels, scored by 5-fold cross-validation (each page scored
by a model that never saw it), 3 seeds. An upper bound for what these features learn from
labels like the dev pages', at this size (about 175 training pages a fold); the L2 is chosen
on the same folds, so it is an optimistic one.

Also what the issue's keep goals ask of a score: under the binormal model (the usual ROC
model: each label's scores normal, the same spread), keeping a share `tpr` of good pages and
`fpr` of low-quality ones takes ROC-AUC = Phi((Phi^-1(tpr) - Phi^-1(fpr)) / sqrt 2).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from corpuskit.classify.metrics import roc_auc
from corpuskit.stages.quality.model import CLIP

FOLDS, SEEDS = 5, 3
L2 = (1e-3, 1e-2, 1e-1)


def auc_needed(tpr: float, fpr: float) -> float:
    """The binormal ROC-AUC of a score that keeps `tpr` of good and `fpr` of low-quality pages at one cut."""
    phi = NormalDist()
    return phi.cdf((phi.inv_cdf(tpr) - phi.inv_cdf(fpr)) / 2 ** 0.5)


def cross_validated(x: np.ndarray, y: np.ndarray, l2: float, seed: int) -> np.ndarray:
    """Out-of-fold logits of a logistic regression on `x` (standardized on each fold's training pages and
    clipped, as the shipped statistics are; the toolkit's fit), folds by `seed`."""
    from corpuskit.classify.train import fit

    fold = np.random.default_rng(seed).permutation(len(y)) % FOLDS
    out = np.zeros(len(y))
    for f in range(FOLDS):
        train, test = fold != f, fold == f
        mean, sd = x[train].mean(axis=0), x[train].std(axis=0)
        z = np.clip((x - mean) / np.where(sd > 0, sd, 1.0), -CLIP, CLIP)
        w, b = fit(z[train], y[train].astype(int), np.ones(int(train.sum())), steps=500, l2=l2)
        out[test] = z[test] @ w + b
    return out


def ngram_cross_validated(texts: list[str], y: np.ndarray, seed: int, l2: float, max_chars: int = 2000) -> np.ndarray:
    """Out-of-fold logits of the n-gram classifier (sublinear TF-IDF, IDF from each fold's training pages)."""
    from corpuskit.classify import train
    from corpuskit.stages.quality.features import normalize

    counts = train.featurize([normalize(t, max_chars) for t in texts], 1 << 16, max_chars)
    fold = np.random.default_rng(seed).permutation(len(y)) % FOLDS
    out = np.zeros(len(y))
    for f in range(FOLDS):
        tr, te = fold != f, fold == f
        x = train.tfidf(counts, train.fitted_idf(counts[tr]).astype(np.float32))
        w, b = train.fit(x[tr], y[tr].astype(int), np.ones(int(tr.sum())), steps=200, l2=l2)
        out[te] = x[te] @ w + b
    return out


def ceiling_figures(texts: list[str], y: np.ndarray, shipped: np.ndarray, embeddings: np.ndarray | None) -> None:
    from corpuskit.stages.quality.features import rule_stats

    stats = rule_stats(texts, 2000)
    fast = np.log(np.clip(shipped, 1e-12, 1) / np.clip(1 - shipped, 1e-12, 1))
    print(f"ceiling: models fitted on the dev pages' own labels, {FOLDS}-fold cross-validated, "
          f"{SEEDS} seeds (mean, min-max; the L2 chosen on the same folds)")
    rows = [("n-grams", lambda s, l2: ngram_cross_validated(texts, y, s, l2)),
            ("rule statistics", lambda s, l2: cross_validated(stats, y, l2, s))]
    if embeddings is not None:
        rows.append(("MiniLM embeddings", lambda s, l2: cross_validated(embeddings, y, l2, s)))
    for name, logits in rows:
        best = None
        for l2 in L2:
            got = [logits(seed, l2) for seed in range(SEEDS)]
            alone = [roc_auc(g, y) for g in got]
            both = [roc_auc(g / g.std() + fast / fast.std(), y) for g in got]
            if best is None or np.mean(alone) > np.mean(best[1]):
                best = (l2, alone, both)
        l2, alone, both = best
        print(f"  {name} (L2 {l2:g}): ROC-AUC {np.mean(alone):.3f} ({min(alone):.3f}-{max(alone):.3f}); "
              f"added to the shipped model's logit {np.mean(both):.3f} ({min(both):.3f}-{max(both):.3f})")
    print(f"  shipped model (never trained on dev): {roc_auc(shipped, y):.3f}")
    for tpr, fpr in ((0.75, 0.35), (0.90, 0.15)):
        print(f"  keeping {tpr:.0%} of good and {fpr:.0%} of low-quality pages at one cut takes ROC-AUC "
              f"{auc_needed(tpr, fpr):.3f} (binormal)")
