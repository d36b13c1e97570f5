"""The embedding head's L2 strength, chosen two ways, neither on the source it is reported on.

    python bench/toxicity_head_l2.py [--data DIR] [--davidson CSV] [--cache DIR] [--l2 0 1e-4 1e-3 3e-3] [--limit N]

An experiment run by hand (about 50 minutes on 2 cores with cached embeddings), not part of
`make bench`; its table is in docs/TOXICITY.md. Leave-one-source-out as in
`bench_toxicity_loso.py`: for each source with both labels, the classifier and the
layers-6+3 head (one per L2 value) are trained on the other sources' rows outside the dev
fold. An L2 value is then chosen

- on the other sources' dev fold (mean ROC-AUC over their dev rows), as everywhere else, and
- by an inner leave-one-source-out over the training sources alone: a head trained without
  one of them, scored on all of its rows, the mean over them.

Printed: the held-out mean ROC-AUC of the embedding scorer, the blend (mean of the two
probabilities), the blend as a mean of logits, and each with the word list (`max`), for every
L2 value and for the two choices.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import train_toxicity as train  # noqa: E402
from bench_toxicity_loso import _logit  # noqa: E402

from corpuskit.stages.toxicity.evaluate import roc_auc  # noqa: E402
from corpuskit.stages.toxicity.sources import dev_fold, source_weights  # noqa: E402

STEPS = 500  # as `train.train_head`; 2,000 steps changed nothing on the first fold


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(SHARED / "toxicity"))
    ap.add_argument("--davidson", default=str(SHARED / "dev" / "davidson_labeled_data.csv"))
    ap.add_argument("--cache", default=None, help="Folder to keep embeddings in (encoding takes minutes).")
    ap.add_argument("--l2", type=float, nargs="+", default=[0.0, 1e-4, 1e-3, 3e-3])
    ap.add_argument("--limit", type=int, default=0, help="The first N rows of each source (a quick check).")
    args = ap.parse_args(argv)

    from corpuskit.stages.toxicity.embedding import Encoder
    from corpuskit.stages.toxicity.lexicon import LexiconScorer

    rows = train.load_rows(args.data, args.davidson if Path(args.davidson).is_file() else "",
                           str(REPO / "corpus"), train.BOOK_PARAGRAPHS, args.limit)
    emb = train.embed_sample(Encoder(dtype=train.TRAIN_DTYPE, layers=train.HEAD_LAYERS), rows,
                             args.cache).astype(np.float32)  # float16 values, exact in float32
    counts = train.featurize([r.text for r in rows])
    lex = LexiconScorer()
    lexs = np.array([lex.score(r.text) for r in rows])
    src = np.array([r.source for r in rows])
    dev = np.array([dev_fold(r.text) for r in rows])
    y = np.array([r.label for r in rows])
    both = [s for s in sorted(set(src)) if len(set(y[src == s])) == 2]

    def head(idx, l2):
        fit_rows = [rows[i] for i in idx]
        sw = source_weights(fit_rows)
        return train.fit(emb[idx], y[idx], [sw[(r.source, r.label)] for r in fit_rows], steps=STEPS, lr=0.05, l2=l2)

    def dev_auc(s, idx):
        return np.mean([roc_auc(s[idx][src[idx] == q], y[idx][src[idx] == q]) for q in both
                        if len(set(y[idx][src[idx] == q])) == 2])

    kinds = ("embedding", "blend", "blend+lexicon", "logit blend", "logit blend+lexicon")
    test: dict = {}  # (held, l2, kind) -> held-out ROC-AUC
    on_dev: dict = {}  # (held, l2) -> the embedding's dev-fold ROC-AUC
    inner: dict = {}  # (held, l2) -> the inner leave-one-source-out ROC-AUC
    for held in both:
        t0 = time.perf_counter()
        fit_idx = np.flatnonzero((src != held) & ~dev)
        dev_idx = np.flatnonzero((src != held) & dev)
        test_idx = np.flatnonzero(src == held)
        fit_rows = [rows[i] for i in fit_idx]
        sw = source_weights(fit_rows)
        x = train.tfidf(counts, train.fitted_idf(counts[fit_idx]).astype(np.float32))
        w, b = train.fit(x[fit_idx], y[fit_idx], [sw[(r.source, r.label)] for r in fit_rows], steps=300)
        clf = _sigmoid(x @ w + b)
        for l2 in args.l2:
            hw, hb = head(fit_idx, l2)
            e = _sigmoid(emb @ hw + hb)
            blend, logit_blend = (clf + e) / 2, _sigmoid((_logit(clf) + _logit(e)) / 2)
            for kind, s in zip(kinds, (e, blend, np.maximum(blend, lexs), logit_blend,
                                       np.maximum(logit_blend, lexs))):
                test[held, l2, kind] = roc_auc(s[test_idx], y[test_idx])
            on_dev[held, l2] = dev_auc(e, dev_idx)
            aucs = []
            for q in both:
                if q != held:
                    hw, hb = head(np.flatnonzero((src != held) & (src != q) & ~dev), l2)
                    aucs.append(roc_auc(emb[src == q] @ hw, y[src == q]))
            inner[held, l2] = float(np.mean(aucs))
        print(f"{held}: {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)

    print(f"{'head L2':>44s} " + " ".join(f"{k:>19s}" for k in kinds) + f" {'dev: embedding':>15s}")
    for l2 in args.l2:
        print(f"{l2:>44g} " + " ".join(f"{np.mean([test[h, l2, k] for h in both]):19.4f}" for k in kinds)
              + f" {np.mean([on_dev[h, l2] for h in both]):15.4f}")
    for name, score in (("chosen on the dev fold", on_dev), ("chosen by inner leave-one-source-out", inner)):
        pick = {h: max(args.l2, key=lambda l2: score[h, l2]) for h in both}
        print(f"{name:>44s} " + " ".join(f"{np.mean([test[h, pick[h], k] for h in both]):19.4f}" for k in kinds)
              + f"  picks: {[pick[h] for h in both]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
