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
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"
sys.path.insert(0, str(REPO))

from corpuskit.stages.toxicity.classifier import (FEATURES, WEIGHTS, idf_weights, lowercase,  # noqa: E402
                                                  tfidf_values, unit_counts)
from corpuskit.stages.toxicity.embedding import HEAD  # noqa: E402
from corpuskit.stages.toxicity.sources import (BOOKS, capped, dev_fold, read_books, read_sources,  # noqa: E402
                                               source_weights)

N_BUCKETS = 1 << 20
MAX_CHARS = 1000  # training texts are cut here: the stage scores sentences, not whole threads
EMBED_CAP = 1_000_000  # rows per (source, label) for the embedding head: every row (111k, ~6 min to encode on 2 cores)
BOOK_PARAGRAPHS = 6000  # negatives from the embedded books (one source among the others)
TRAIN_DTYPE = "float32"  # the encoder's precision for training embeddings (the LOSO table is the same in bfloat16)
HEAD_LAYERS = (6, 3)  # mean-pooled layers 6 and 3, each of unit length (docs/TOXICITY.md: chosen on the dev folds)


def save_npz(path: str | Path, **arrays) -> None:
    """`np.savez_compressed` with fixed zip timestamps (numpy stamps the current time), written atomically."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = io.BytesIO()
            np.lib.format.write_array(data, np.asarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, data.getvalue())
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def featurize(texts: list[str], n_buckets: int = N_BUCKETS, chunk: int = 4000):
    """CSR matrix (texts x buckets) of feature counts, each text one unit (`tfidf` turns it into the model's input)."""
    from scipy.sparse import csr_matrix

    rows, slots, counts = [], [], []
    for a in range(0, len(texts), chunk):
        part = [lowercase(t[:MAX_CHARS]) for t in texts[a:a + chunk]]
        low = "\n".join(part)
        spans, pos = [], 0
        for t in part:
            spans.append((pos, pos + len(t)))
            pos += len(t) + 1
        r, s, c = unit_counts(low, spans, n_buckets)
        rows.append(r + a)
        slots.append(s)
        counts.append(c)
    r, s, c = np.concatenate(rows), np.concatenate(slots), np.concatenate(counts)
    # the pairs are distinct and sorted, so the matrix is canonical as built
    return csr_matrix((c.astype(np.float32), (r, s)), shape=(len(texts), n_buckets))


def document_frequencies(counts) -> np.ndarray:
    """How many rows of the count matrix hold each slot."""
    return np.bincount(counts.indices, minlength=counts.shape[1])


def fitted_idf(counts) -> np.ndarray:
    """The IDF of the rows of a count matrix, rounded to float16 as the weights file holds it."""
    return idf_weights(document_frequencies(counts), counts.shape[0]).astype(np.float16)


def tfidf(counts, idf: np.ndarray):
    """The classifier's input: `classifier.tfidf_values` on every row of a count matrix (float32 CSR)."""
    x = counts.copy()
    unit = np.repeat(np.arange(x.shape[0], dtype=np.int32), np.diff(x.indptr))
    x.data = tfidf_values(unit, x.data, idf[x.indices], x.shape[0])
    return x


def fit(x, y, sample_w, steps: int = 300, lr: float = 0.05, l2: float = 1e-5) -> tuple[np.ndarray, float]:
    """Full-batch Adam on the weighted logistic loss (weights mean 1) + L2; `x` sparse or dense. (weights, bias)."""
    y = np.asarray(y, dtype=np.float64)
    sw = np.asarray(sample_w, dtype=np.float64) / len(y)
    xt = x.T.tocsr() if hasattr(x, "tocsr") else x.T
    dtype = x.dtype
    params = np.zeros(x.shape[1] + 1)  # weights then bias
    m, v = np.zeros_like(params), np.zeros_like(params)
    b1, b2 = 0.9, 0.999
    for step in range(1, steps + 1):
        w, b = params[:-1], params[-1]
        p = 1.0 / (1.0 + np.exp(-(x @ w.astype(dtype) + b)))
        g = (p - y) * sw
        grad = np.empty_like(params)
        grad[:-1] = xt @ g.astype(dtype) + l2 * w
        grad[-1] = g.sum()
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        params -= lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + 1e-8)
    return params[:-1], float(params[-1])


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
