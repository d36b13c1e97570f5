"""Toxicity evaluation that holds whole sources out: leave-one-source-out (LOSO), plus source test splits.

    python bench/bench_toxicity_loso.py [--data DIR] [--davidson CSV] [--cache DIR] [--json OUT]

DATA defaults to `shared/corpora/toxicity` next to the repository (Davidson: `shared/corpora/dev`).
For every source with both labels, every scorer is trained on the other sources and
reported on all rows of the one left out. Protocol, so that no reported number was tuned
on the rows it reports:

- training rows: the other sources' rows outside the dev fold (`sources.dev_fold`, 1 in 5);
- the decision threshold (and the cascade's cut) is the one that maximizes the
  source-balanced F1 on the other sources' dev-fold rows;
- the held-out source is scored once, at that threshold. ROC-AUC needs no threshold.

Each labelled text is scored as one unit. Scorers: `lexicon` (the shipped word list, no
training), `tfidf-lr` (the baseline a competent user writes: scikit-learn hashed TF-IDF
of word 1-2-grams and char_wb 3-5-grams, class-balanced logistic regression, no source
balancing), `classifier` (hashed char+word n-gram TF-IDF, trained as `scripts/train_toxicity.py`
does, IDF from the fold's training rows), `ensemble` (the higher of lexicon and classifier), and, on a sample of at most
`--embed-cap` rows per (source, label) (default: every row; encoding 111k takes ~6 min), `embedding`
(MiniLM + logistic head), `cascade` (classifier; embedding above the cut, mean of the two),
`blend` (the mean of the two on every unit), `blend+lexicon` (the higher of blend and lexicon),
`cascade@0.7` (the stage's default cut) and `stack` (a logistic regression over the classifier's
and the embedding's logits and the lexicon score, fitted on the other sources' dev fold).
The classifier is reported on that same sample too (`classifier@sample`) for comparison.
A second table (`--no-loso` for it alone) trains on every source's rows outside its own test
split and the dev fold, takes the threshold from the dev-fold rows outside the test splits,
and reports each source's own test split (sources whose test split has both labels): the
in-domain figures a source's own benchmark would give, next to the held-out ones above.
"""

from __future__ import annotations

import argparse
import json
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

from corpuskit.stages.toxicity.evaluate import binary_metrics  # noqa: E402
from corpuskit.stages.toxicity.sources import capped, dev_fold, source_weights  # noqa: E402

CUTS = (0.05, 0.1, 0.15, 0.2, 0.3)  # cascade cuts tried on the dev fold
SHIPPED_CUT = 0.7  # the stage's default `cascade_cut` (set for speed on books; docs/TOXICITY.md)


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def best_threshold(scores, rows) -> float:
    """The threshold maximizing source-balanced F1 (weighted TP/FP/FN) on `rows` (dev-fold rows)."""
    s = np.asarray(scores)
    y = np.array([r.label for r in rows], dtype=bool)
    w = source_weights(rows)
    sw = np.array([w[(r.source, r.label)] for r in rows])
    best, best_f1 = 0.5, -1.0
    cands = np.unique(np.round(np.quantile(s, np.linspace(0.02, 0.98, 97)), 4))
    for t in cands[cands > s.min()]:  # the lowest score as threshold would call everything toxic
        pred = s >= t
        tp, fp, fn = sw[pred & y].sum(), sw[pred & ~y].sum(), sw[~pred & y].sum()
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def tfidf_lr(rows, fit_idx, score_idx):
    """The competent-user baseline: hashed TF-IDF word+char_wb n-grams, balanced logistic regression."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    global _HASHED
    if _HASHED is None:
        texts = [r.text for r in rows]
        word = HashingVectorizer(ngram_range=(1, 2), n_features=1 << 19, alternate_sign=False, norm=None)
        char = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=1 << 19,
                                 alternate_sign=False, norm=None)
        _HASHED = hstack([word.transform(texts), char.transform(texts)]).tocsr()
    tfidf = TfidfTransformer(sublinear_tf=True).fit(_HASHED[fit_idx])
    y = np.array([rows[i].label for i in fit_idx])
    lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=300).fit(tfidf.transform(_HASHED[fit_idx]), y)
    return lr.predict_proba(tfidf.transform(_HASHED[score_idx]))[:, 1]


_HASHED = None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(SHARED / "toxicity"))
    ap.add_argument("--davidson", default=str(SHARED / "dev" / "davidson_labeled_data.csv"))
    ap.add_argument("--cache", default=None, help="Folder to keep embeddings in (encoding takes minutes).")
    ap.add_argument("--embed-cap", type=int, default=train.EMBED_CAP)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--dtype", default=train.TRAIN_DTYPE, choices=("auto", "bfloat16", "float32"),
                    help="The encoder's precision (default: the training pin; 'auto' on a CPU without bfloat16).")
    ap.add_argument("--no-embedding", action="store_true")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-loso", action="store_true", help="Only the source test-split table.")
    ap.add_argument("--json", default=None, help="Also write every figure here.")
    args = ap.parse_args(argv)
    need(args.data, what="the toxicity training sources; --data DIR")

    from corpuskit.stages.toxicity.lexicon import LexiconScorer
    from corpuskit.stages.toxicity.scorers import ENSEMBLE_LEXICON_SCALE

    t0 = time.perf_counter()
    progress(f"reading and featurizing {args.data} (a minute or two)")
    rows = train.load_rows(args.data, args.davidson if Path(args.davidson).is_file() else "",
                           str(REPO / "corpus"), train.BOOK_PARAGRAPHS)
    counts = train.featurize([r.text for r in rows])
    lex = LexiconScorer()
    lex_scores = np.array([lex.score(r.text) for r in rows])
    sample_rows = capped(rows, args.embed_cap)
    emb = None
    if not args.no_embedding:
        from corpuskit.stages.toxicity.embedding import Encoder

        progress(f"embedding {len(sample_rows)} rows with MiniLM (about 6 minutes for 111k; --cache to keep them)")
        emb = train.embed_sample(Encoder(dtype=args.dtype, layers=train.HEAD_LAYERS), sample_rows,
                                 args.cache).astype(np.float64)
        pos = {id(r): i for i, r in enumerate(rows)}
        sample_at = np.array([pos[id(r)] for r in sample_rows])  # sample row -> row
    print(f"{len(rows)} rows, features and lexicon in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    sources = sorted({r.source for r in rows})
    both = [s for s in sources if len({r.label for r in rows if r.source == s}) == 2]
    src = np.array([r.source for r in rows])
    dev = np.array([dev_fold(r.text) for r in rows])
    y = np.array([r.label for r in rows])
    results: dict[str, dict[str, dict]] = {}

    def report(name, held, scores_dev, dev_rows, scores_test, y_test):
        t = best_threshold(scores_dev, dev_rows)
        m = binary_metrics(scores_test, y_test, t)
        results.setdefault(name, {})[held] = m
        print(f"  {name:18s} AUC {m['roc_auc']:.3f} P {m['precision']:.3f} R {m['recall']:.3f} "
              f"F1 {m['f1']:.3f} (t={t:.3f}, n={m['n']})", file=sys.stderr)

    for held in ([] if args.no_loso else both):
        t1 = time.perf_counter()
        fit_idx = np.flatnonzero((src != held) & ~dev)
        dev_idx = np.flatnonzero((src != held) & dev)
        test_idx = np.flatnonzero(src == held)
        dev_rows = [rows[i] for i in dev_idx]
        print(f"held out: {held} ({len(test_idx)} rows; {len(fit_idx)} train, {len(dev_idx)} dev)", file=sys.stderr)
        fit_rows = [rows[i] for i in fit_idx]
        sw = source_weights(fit_rows)
        # IDF from this fold's training rows only, rounded to float16 as the shipped file holds it
        x = train.tfidf(counts, train.fitted_idf(counts[fit_idx]).astype(np.float32))
        w, b = train.fit(x[fit_idx], y[fit_idx], [sw[(r.source, r.label)] for r in fit_rows], steps=args.steps)
        clf = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        ens = np.maximum(clf, ENSEMBLE_LEXICON_SCALE * lex_scores)  # as `scorer: ensemble` computes
        for name, s in (("lexicon", lex_scores), ("classifier", clf), ("ensemble", ens)):
            report(name, held, s[dev_idx], dev_rows, s[test_idx], y[test_idx])
        if not args.no_baseline:
            s = tfidf_lr(rows, fit_idx, np.r_[dev_idx, test_idx])
            report("tfidf-lr", held, s[:len(dev_idx)], dev_rows, s[len(dev_idx):], y[test_idx])
        if emb is not None:
            ssrc = src[sample_at]
            sdev = dev[sample_at]
            s_fit = np.flatnonzero((ssrc != held) & ~sdev)
            s_dev = np.flatnonzero((ssrc != held) & sdev)
            s_test = np.flatnonzero(ssrc == held)
            hw, hb = train.train_head([sample_rows[i] for i in s_fit], emb[s_fit])
            e = 1.0 / (1.0 + np.exp(-(emb @ hw + hb)))
            c = clf[sample_at]
            sdev_rows = [sample_rows[i] for i in s_dev]
            ys = y[sample_at][s_test]
            report("classifier@sample", held, c[s_dev], sdev_rows, c[s_test], ys)
            report("embedding", held, e[s_dev], sdev_rows, e[s_test], ys)
            # the cut: the lowest one whose dev F1 is within 0.005 of the best, so the
            # embedding model runs as little as the accuracy allows
            cands = []
            for cut in CUTS:
                cas = np.where(c >= cut, (c + e) / 2, c)
                t = best_threshold(cas[s_dev], sdev_rows)
                cands.append((binary_metrics(cas[s_dev], y[sample_at][s_dev], t)["f1"], cut, cas))
            top = max(f for f, _, _ in cands)
            f1, cut, cas = max((c_ for c_ in cands if c_[0] >= top - 0.005), key=lambda c_: c_[1])
            report("cascade", held, cas[s_dev], sdev_rows, cas[s_test], ys)
            results["cascade"][held]["cut"] = cut
            results["cascade"][held]["sent_share"] = float((c[s_test] >= cut).mean())
            blend = (c + e) / 2  # the cascade with no cut: every unit through both models
            report("blend", held, blend[s_dev], sdev_rows, blend[s_test], ys)
            blend_lex = np.maximum(blend, lex_scores[sample_at])
            report("blend+lexicon", held, blend_lex[s_dev], sdev_rows, blend_lex[s_test], ys)
            shipped = np.where(c >= SHIPPED_CUT, (c + e) / 2, c)  # what `scorer: cascade` runs by default
            report(f"cascade@{SHIPPED_CUT}", held, shipped[s_dev], sdev_rows, shipped[s_test], ys)
            # stack: a logistic regression over the three scores' logits, fitted on the dev fold
            # (the other sources' rows no model trained on); reported on the held-out source
            feats = np.column_stack([_logit(c), _logit(e), lex_scores[sample_at]])
            sw_, sb = train.fit_stack(feats[s_dev], sdev_rows)
            st = 1.0 / (1.0 + np.exp(-(feats @ sw_ + sb)))
            report("stack", held, st[s_dev], sdev_rows, st[s_test], ys)
            results["stack"][held]["coef"] = [round(float(v), 3) for v in (*sw_, sb)]
        print(f"  ({time.perf_counter() - t1:.0f}s)", file=sys.stderr)

    if results:
        print("\nLeave-one-source-out (train on the others, threshold from their dev fold, report the held-out source):")
        print_table(results, both)
    splits = test_splits(rows, counts, lex_scores, emb, sample_at if emb is not None else None, args.steps)
    print("\nSource test splits (train on every source's non-test rows outside the dev fold, "
          "threshold from the dev fold's non-test rows):")
    print_table(splits, sorted(next(iter(splits.values()))))
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "test_splits": splits}, indent=1))
    return 0


def print_table(results: dict[str, dict[str, dict]], sources: list[str]) -> None:
    print(f"{'scorer':18s} " + " ".join(f"{s[:14]:>14s}" for s in sources) + f" {'mean':>7s}")
    for name, per in results.items():
        for key in ("roc_auc", "precision", "recall", "f1"):
            vals = [per[s][key] for s in sources]
            print(f"{name + ' ' + key[:3]:18s} " + " ".join(f"{v:14.3f}" for v in vals) + f" {np.mean(vals):7.3f}")


def test_splits(rows, counts, lex_scores, emb, sample_at, steps: int) -> dict[str, dict[str, dict]]:
    """Figures on each source's own test split, every model trained on all sources' other rows.

    Training: rows outside their source's test split and outside the dev fold; threshold: the
    dev-fold rows outside the test splits; reported: the test split of every source where it
    holds both labels. `emb` (embeddings of the rows at `sample_at`) may be None."""
    from corpuskit.stages.toxicity.scorers import ENSEMBLE_LEXICON_SCALE

    y = np.array([r.label for r in rows])
    test = np.array([r.split == "test" for r in rows])
    dev = np.array([dev_fold(r.text) for r in rows])
    fit_idx, dev_idx = np.flatnonzero(~test & ~dev), np.flatnonzero(~test & dev)
    fit_rows, dev_rows = [rows[i] for i in fit_idx], [rows[i] for i in dev_idx]
    sw = source_weights(fit_rows)
    x = train.tfidf(counts, train.fitted_idf(counts[fit_idx]).astype(np.float32))
    w, b = train.fit(x[fit_idx], y[fit_idx], [sw[(r.source, r.label)] for r in fit_rows], steps=steps)
    scores = {"lexicon": lex_scores, "classifier": 1.0 / (1.0 + np.exp(-(x @ w + b)))}
    scores["ensemble"] = np.maximum(scores["classifier"], ENSEMBLE_LEXICON_SCALE * lex_scores)
    if emb is not None:  # every row embedded (the default --embed-cap), else these rows are left out
        full = np.full((len(rows), emb.shape[1]), np.nan)
        full[sample_at] = emb
        have = ~np.isnan(full[:, 0])
        hw, hb = train.train_head([rows[i] for i in fit_idx if have[i]], full[fit_idx[have[fit_idx]]])
        e = 1.0 / (1.0 + np.exp(-(np.nan_to_num(full) @ hw + hb)))
        scores["embedding"] = np.where(have, e, np.nan)
        scores["blend"] = (scores["classifier"] + scores["embedding"]) / 2
        scores["blend+lexicon"] = np.maximum(scores["blend"], lex_scores)
    src = np.array([r.source for r in rows])
    out: dict[str, dict[str, dict]] = {}
    for name, s in scores.items():
        keep = ~np.isnan(s)
        t = best_threshold(s[dev_idx[keep[dev_idx]]], [rows[i] for i in dev_idx if keep[i]])
        for source in sorted(set(src[test])):
            idx = np.flatnonzero(test & (src == source) & keep)
            if len(set(y[idx])) == 2:
                out.setdefault(name, {})[source] = binary_metrics(s[idx], y[idx], t)
    print(f"test splits: {len(fit_idx)} training rows, {len(dev_rows)} dev rows", file=sys.stderr)
    return out


if __name__ == "__main__":
    sys.exit(main())
