"""Tune the shipped models' thresholds on the dev fold (the rows `scripts/train_toxicity.py` left out).

    python bench/bench_toxicity_tune.py [--data DIR] [--davidson CSV] [--cache DIR]

Prints, for the shipped classifier, the embedding head and the cascade (for each cut in
`CUTS`), the source-balanced-F1-best threshold on the dev fold and the figures there, plus
the share of units each cut sends on to the embedding model. These are dev figures: the
thresholds are chosen on them, so they are optimistic; the held-out figures are in
`bench_toxicity_loso.py`'s tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from bench_toxicity_loso import CUTS, SHARED, best_threshold, need, train  # noqa: E402

from corpuskit.stages.toxicity.evaluate import binary_metrics  # noqa: E402
from corpuskit.stages.toxicity.sources import capped, dev_fold  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(SHARED / "toxicity"))
    ap.add_argument("--davidson", default=str(SHARED / "dev" / "davidson_labeled_data.csv"))
    ap.add_argument("--cache", default=None)
    ap.add_argument("--embed-cap", type=int, default=500)
    args = ap.parse_args(argv)
    need(args.data, what="the toxicity training sources; --data DIR")
    from corpuskit.stages.toxicity.classifier import HashedClassifier
    from corpuskit.stages.toxicity.embedding import EmbeddingScorer

    rows = train.load_rows(args.data, args.davidson if Path(args.davidson).is_file() else "",
                           str(REPO / "corpus"), train.BOOK_PARAGRAPHS)
    dev = [r for r in rows if dev_fold(r.text)]
    clf = HashedClassifier()
    s = clf.score_texts([r.text for r in dev])
    y = np.array([r.label for r in dev])
    t = best_threshold(s, dev)
    m = binary_metrics(s, y, t)
    print(f"classifier dev fold ({len(dev)} rows): threshold {t:.3f} AUC {m['roc_auc']:.3f} P {m['precision']:.3f} "
          f"R {m['recall']:.3f} F1 {m['f1']:.3f}")
    sample = capped(rows, args.embed_cap)
    emb_scorer = EmbeddingScorer()
    emb = train.embed_sample(emb_scorer.encoder, sample, args.cache)
    keep = [i for i, r in enumerate(sample) if dev_fold(r.text)]
    sdev = [sample[i] for i in keep]
    e = emb_scorer.score_embeddings(emb[keep])
    c = clf.score_texts([r.text for r in sdev])
    ys = np.array([r.label for r in sdev])
    for name, sc in [("classifier@sample", c), ("embedding", e)] + [
            (f"cascade cut {cut}", np.where(c >= cut, (c + e) / 2, c)) for cut in CUTS]:
        t = best_threshold(sc, sdev)
        m = binary_metrics(sc, ys, t)
        print(f"{name:18s} dev sample ({len(sdev)} rows): threshold {t:.3f} AUC {m['roc_auc']:.3f} "
              f"P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
