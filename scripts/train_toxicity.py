"""Train the shipped toxicity models from the labelled sources, deterministically.

    python scripts/train_toxicity.py [TOXICITY_DIR] [--davidson CSV]

TOXICITY_DIR defaults to `shared/corpora/toxicity` next to the repository, and the Davidson
tweets to `shared/corpora/dev/davidson_labeled_data.csv`. Writes, next to the stage code:

- `weights.npz`: the hashed character + word n-gram classifier (`classifier.py`);
- `embedding_head.npz`: the logistic head over all-MiniLM-L6-v2 embeddings (`embedding.py`),
  unless `--no-embedding` (or the `embed` extra is missing).

Rows in the dev fold (`sources.dev_fold`, one text in five) are left out: they are where the
stage's thresholds and the cascade's cut are tuned (`bench/bench_toxicity_loso.py --tune`).
Each source weighs the same, and within a source both labels weigh the same
(`sources.source_weights`), so the 25k Davidson tweets do not make every filter a tweet
filter. Hard negatives (identity terms, the hate forum's non-hateful sentences, strong but
non-abusive language) are all kept. Training is full-batch Adam on a weighted logistic loss
with L2, with no random numbers; arrays are written into a zip with fixed timestamps, so a
rerun writes byte-identical files. Needs scipy (sparse products; it comes with the `embed`
extra's dependencies) and, for the head, the `embed` extra itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"
sys.path.insert(0, str(REPO))

from corpuskit.classify.hashed import idf_weights  # noqa: E402,F401  (the benches reach the toolkit through here)
from corpuskit.classify.train import document_frequencies, fit, fitted_idf, save_npz, tfidf  # noqa: E402,F401
from corpuskit.classify.train import featurize as _featurize  # noqa: E402
from corpuskit.stages.toxicity.classifier import FEATURES, WEIGHTS  # noqa: E402
from corpuskit.stages.toxicity.embedding import HEAD  # noqa: E402
from corpuskit.stages.toxicity.sources import (BOOKS, capped, dev_fold, read_books, read_sources,  # noqa: E402
                                               source_weights)

N_BUCKETS = 1 << 20
MAX_CHARS = 1000  # training texts are cut here: the stage scores sentences, not whole threads
EMBED_CAP = 1_000_000  # rows per (source, label) for the embedding head: every row (111k, ~6 min to encode on 2 cores)
BOOK_PARAGRAPHS = 6000  # negatives from the embedded books (one source among the others)
TRAIN_DTYPE = "float32"  # the encoder's precision for training embeddings (the LOSO table is the same in bfloat16)
HEAD_LAYERS = (6, 3)  # mean-pooled layers 6 and 3, each of unit length (docs/TOXICITY.md: chosen on the dev folds)


def featurize(texts: list[str], n_buckets: int = N_BUCKETS):
    """The toolkit's count matrix of `texts`, each cut at MAX_CHARS (the stage scores sentences, not threads)."""
    return _featurize(texts, n_buckets, MAX_CHARS)


def train_classifier(rows, steps: int = 300, n_buckets: int = N_BUCKETS) -> tuple[np.ndarray, float, np.ndarray]:
    """(weights, bias, idf) of the hashed classifier on labelled rows, balanced by source and label."""
    weights = source_weights(rows)
    counts = featurize([r.text for r in rows], n_buckets)
    idf = fitted_idf(counts)
    x = tfidf(counts, idf.astype(np.float32))
    w, b = fit(x, [r.label for r in rows], [weights[(r.source, r.label)] for r in rows], steps=steps)
    return w, b, idf


def train_head(rows, emb: np.ndarray, steps: int = 500) -> tuple[np.ndarray, float]:
    """(w, b) of the logistic head on float16 embeddings of `rows`, balanced like the classifier."""
    weights = source_weights(rows)
    return fit(emb.astype(np.float64), [r.label for r in rows], [weights[(r.source, r.label)] for r in rows],
               steps=steps, lr=0.05, l2=1e-4)


def fit_stack(feats: np.ndarray, rows) -> tuple[np.ndarray, float]:
    """(w, b) of a logistic regression over other scorers' outputs `feats` on `rows` (dev-fold rows), balanced, no L2."""
    weights = source_weights(rows)
    return fit(feats, [r.label for r in rows], [weights[(r.source, r.label)] for r in rows],
               steps=500, lr=0.05, l2=0.0)


def load_rows(toxicity_dir, davidson: str, books: str, book_paragraphs: int, limit: int = 0):
    """The labelled sources, then the book paragraphs; `limit`: the first N rows of each source (tests)."""
    rows = read_sources(toxicity_dir, davidson or None)
    if books:
        rows += read_books(books, book_paragraphs)
    if limit:
        seen: dict[str, int] = {}
        rows = [r for r in rows if seen.setdefault(r.source, 0) < limit and not seen.__setitem__(
            r.source, seen[r.source] + 1)]
    return rows


def embed_sample(encoder, sample, cache):
    """Embeddings of the sample rows: the labelled sources and the books cached apart (they change apart)."""
    from corpuskit.stages.toxicity.embedding import cached_embeddings

    k = sum(r.source != BOOKS for r in sample)  # books come last (`load_rows`)
    parts = [cached_embeddings(encoder, [r.text for r in sample[:k]], cache)]
    if k < len(sample):
        parts.append(cached_embeddings(encoder, [r.text for r in sample[k:]], cache))
    return np.concatenate(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("toxicity_dir", nargs="?", default=str(SHARED / "toxicity"))
    ap.add_argument("--davidson", default=str(SHARED / "dev" / "davidson_labeled_data.csv"),
                    help="The Davidson tweets CSV; '' to leave them out.")
    ap.add_argument("--out", default=str(WEIGHTS), help="Where the classifier's weights go.")
    ap.add_argument("--head-out", default=str(HEAD), help="Where the embedding head goes.")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--buckets", type=int, default=N_BUCKETS, help="Hash buckets (smaller for quick tests).")
    ap.add_argument("--limit", type=int, default=0, help="Keep the first N rows of each source (tests).")
    ap.add_argument("--embed-cap", type=int, default=EMBED_CAP)
    ap.add_argument("--no-embedding", action="store_true", help="Train the hashed classifier only.")
    ap.add_argument("--cache", default=None, help="Folder to keep embeddings in between runs.")
    ap.add_argument("--books", default=str(REPO / "corpus"), help="Gutenberg books whose paragraphs are negatives; "
                    "'' for none.")
    ap.add_argument("--book-paragraphs", type=int, default=BOOK_PARAGRAPHS)
    args = ap.parse_args(argv)
    rows = load_rows(args.toxicity_dir, args.davidson, args.books, args.book_paragraphs, args.limit)
    train = [r for r in rows if not dev_fold(r.text)]
    print(f"{len(rows)} labelled rows, {len(train)} for training, {len(rows) - len(train)} in the dev fold",
          file=sys.stderr)
    weights, bias, idf = train_classifier(train, steps=args.steps, n_buckets=args.buckets)
    save_npz(args.out, weights=weights.astype(np.float16), bias=np.float64(bias), idf=idf,
             n_buckets=np.int64(args.buckets), features=np.str_(FEATURES))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes), bias {bias:.3f}", file=sys.stderr)
    if args.no_embedding:
        return 0
    from corpuskit.stages.toxicity.embedding import Encoder

    # the sample is drawn from every row, dev fold included, so its embeddings are the ones the
    # benchmark caches too; the head then trains on the sample's non-dev rows only
    sample = capped(rows, args.embed_cap)
    emb = embed_sample(Encoder(dtype=TRAIN_DTYPE, layers=HEAD_LAYERS), sample, args.cache)
    keep = [i for i, r in enumerate(sample) if not dev_fold(r.text)]
    w, b = train_head([sample[i] for i in keep], emb[keep])
    sample = keep
    save_npz(args.head_out, w=w.astype(np.float32), b=np.float64(b), layers=np.array(HEAD_LAYERS, dtype=np.int64))
    print(f"wrote {args.head_out} ({len(sample)} embedded rows), bias {b:.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
