"""Training for the toolkit's classifiers: hashed features to a sparse matrix, TF-IDF, a logistic fit.

Used by `scripts/train_toxicity.py` (the shipped toxicity weights), `corpuskit quality train`
and `scripts/build_quality_model.py`. Nothing here draws a random number: full-batch Adam from
zeros, rows in the order given, so the same rows give the same weights bit for bit; `save_npz`
writes the zip with fixed timestamps, so the same weights give the same file byte for byte.
Needs scipy for the sparse products (datasketch, a core dependency, brings it).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from corpuskit.classify.hashed import idf_weights, lowercase, tfidf_values, unit_counts


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


def featurize(texts: list[str], n_buckets: int, max_chars: int, chunk: int = 4000):
    """CSR matrix (texts x buckets) of feature counts, each text (cut at `max_chars`) one unit."""
    from scipy.sparse import csr_matrix

    rows, slots, counts = [], [], []
    for a in range(0, len(texts), chunk):
        part = [lowercase(t[:max_chars]) for t in texts[a:a + chunk]]
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
    """The IDF of the rows of a count matrix, rounded to float16 as a weights file holds it."""
    return idf_weights(document_frequencies(counts), counts.shape[0]).astype(np.float16)


def tfidf(counts, idf: np.ndarray):
    """The classifier's input: `hashed.tfidf_values` on every row of a count matrix (float32 CSR)."""
    x = counts.copy()
    unit = np.repeat(np.arange(x.shape[0], dtype=np.int32), np.diff(x.indptr))
    x.data = tfidf_values(unit, x.data, idf[x.indices], x.shape[0])
    return x


def fit(x, y, sample_w, steps: int = 300, lr: float = 0.05, l2: float = 1e-5,
        progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, float]:
    """Full-batch Adam on the weighted logistic loss (weights mean 1) + L2; `x` sparse or dense. (weights, bias).

    `progress(step)` is called after each step (a progress bar for long training).
    """
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
        if progress is not None:
            progress(step)
    return params[:-1], float(params[-1])
