"""Choose the hashed classifier's feature weighting and training settings on dev rows only.

    python bench/bench_toxicity_variants.py [VARIANT ...] [--data DIR] [--davidson CSV]

Leave-one-source-out, as `bench_toxicity_loso.py`: for each source with both labels, train on
the other sources' rows outside the dev fold. The figure a choice is made on is the ROC-AUC on
the **held-out source's dev-fold rows** (never trained on), averaged over the sources; the
held-out source's other rows are printed too, as "report rows", but a choice must not be made
on them (they are the rows the LOSO table in docs/TOXICITY.md reports).

A variant is a weighting, then `+key=value` training settings (`steps`, `l2`, `lr`):

- `sqrt`: the raw feature counts of a unit divided by sqrt(its number of features) (the
  weighting shipped before TF-IDF);
- `sub`: sublinear counts (1 + ln c), each unit scaled to length 1;
- `tfidf`: sublinear counts times smoothed IDF from the fold's training rows, length 1
  (what `classifier.tfidf_values` computes; shipped).

With `--ensemble`, each variant also gets an `ensemble` line: the higher of its probability
and the shipped word list's score, as `scorer: ensemble` computes. With `--stack`, a `stack`
line: a logistic regression over the variant's logit and the word list's score, fitted on the
**other** sources' dev-fold rows (source-balanced), a candidate for combining the two without
`max`. With `--lex-scale S ...`, the `ensemble` line is repeated with the word list's score
multiplied by each S first (`scorer: ensemble` ships `scorers.ENSEMBLE_LEXICON_SCALE`).

Example: `tfidf tfidf+steps=600 tfidf+l2=1e-6 sqrt`. Each variant takes about 6 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from _shared import CORPORA as SHARED, need, progress  # noqa: E402,F401

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import train_toxicity as train  # noqa: E402

from corpuskit.stages.toxicity.evaluate import roc_auc  # noqa: E402
from corpuskit.stages.toxicity.sources import dev_fold, source_weights  # noqa: E402

WEIGHTINGS = ("sqrt", "sub", "tfidf")


def weighted(counts, weighting: str, fit_idx: np.ndarray):
    """The model input for one fold: `counts` (rows x buckets) under `weighting`."""
    if weighting == "tfidf":
        return train.tfidf(counts, train.idf_weights(train.document_frequencies(counts[fit_idx]), len(fit_idx)))
    if weighting == "sub":
        return train.tfidf(counts, np.ones(counts.shape[1], dtype=np.float32))
    x = counts.copy()
    per_row = np.repeat(np.asarray(counts.sum(1)).ravel(), np.diff(x.indptr))
    x.data = (x.data / np.sqrt(per_row)).astype(np.float32)
    return x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="*", default=["tfidf", "sqrt"])
    ap.add_argument("--data", default=str(SHARED / "toxicity"))
    ap.add_argument("--davidson", default=str(SHARED / "dev" / "davidson_labeled_data.csv"))
    ap.add_argument("--ensemble", action="store_true", help="Also score max(probability, word list).")
    ap.add_argument("--stack", action="store_true", help="Also score a dev-fitted logistic over logit and word list.")
    ap.add_argument("--lex-scale", type=float, nargs="+", default=[1.0],
                    help="With --ensemble: one ensemble line per factor on the word list's score.")
    args = ap.parse_args(argv)
    need(args.data, what="the toxicity training sources; --data DIR")
    for v in args.variants:
        if v.split("+")[0] not in WEIGHTINGS:
            ap.error(f"variant {v!r}: the weighting must be one of {', '.join(WEIGHTINGS)}")
    progress(f"reading and featurizing {args.data} (a minute or two)")
    rows = train.load_rows(args.data, args.davidson if Path(args.davidson).is_file() else "",
                           str(REPO / "corpus"), train.BOOK_PARAGRAPHS)
    counts = train.featurize([r.text for r in rows])
    src = np.array([r.source for r in rows])
    dev = np.array([dev_fold(r.text) for r in rows])
    y = np.array([r.label for r in rows])
    both = [s for s in sorted(set(src)) if len(set(y[src == s])) == 2]
    lex = None
    if args.ensemble or args.stack:
        from corpuskit.stages.toxicity.lexicon import LexiconScorer

        scorer = LexiconScorer()
        lex = np.array([scorer.score(r.text) for r in rows])
    for variant in args.variants:
        weighting, *opts = variant.split("+")
        opt = dict(o.split("=", 1) for o in opts)
        t0 = time.perf_counter()
        scales = {f"{variant} ensemble" + (f" x{k:g}" if k != 1.0 else ""): k for k in args.lex_scale} \
            if args.ensemble else {}
        names = [variant, *scales] + [f"{variant} stack"] * args.stack
        figures = {name: ({}, {}) for name in names}
        for held in both:
            fit_idx = np.flatnonzero((src != held) & ~dev)
            x = weighted(counts, weighting, fit_idx)
            fit_rows = [rows[i] for i in fit_idx]
            sw = source_weights(fit_rows)
            w, b = train.fit(x[fit_idx], y[fit_idx], [sw[(r.source, r.label)] for r in fit_rows],
                             steps=int(opt.get("steps", 300)), lr=float(opt.get("lr", 0.05)),
                             l2=float(opt.get("l2", 1e-5)))
            z = x @ w + b
            if args.stack:  # fitted on the other sources' dev rows, which no model above trained on
                other = np.flatnonzero((src != held) & dev)
                feats = np.column_stack([z, lex])
                sw_, sb = train.fit_stack(feats[other], [rows[i] for i in other])
                stacked = 1.0 / (1.0 + np.exp(-(feats @ sw_ + sb)))
                print(f"  {held}: stack coefficients {sw_.round(3).tolist()} bias {sb:.3f}", flush=True)
            for part, mask in enumerate((dev, ~dev)):
                idx = np.flatnonzero((src == held) & mask)
                p = 1.0 / (1.0 + np.exp(-z[idx]))
                for name, (dev_auc, report_auc) in figures.items():
                    s = np.maximum(p, scales[name] * lex[idx]) if name in scales else \
                        stacked[idx] if name.endswith("stack") else p
                    (dev_auc, report_auc)[part][held] = roc_auc(s, y[idx])
        for name, (dev_auc, report_auc) in figures.items():
            print(f"{name:20s} DEV mean ROC-AUC {np.mean(list(dev_auc.values())):.4f} | "
                  + " ".join(f"{h[:8]} {dev_auc[h]:.3f}" for h in both)
                  + f" | report rows mean {np.mean(list(report_auc.values())):.4f} "
                  f"({time.perf_counter() - t0:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
