"""Benchmark: the quality model on the human-labelled dev pages, the books, and its speed.

Prints, for the shipped model (corpuskit/models/quality; the dev pages chose its threshold and
its options, so its dev figures are not held-out figures; the 2-fold line below is):

- ROC-AUC of `quality_score` on the 218 DCLM dev pages, and of each part (n-grams, statistics);
- the threshold chosen on one half of the dev pages by balanced accuracy, scored on the other
  half, both ways (the held-out estimate of the keep rates at a dev-chosen threshold);
- what `corpuskit clean` (pipelines/web.yaml on record files) keeps of the good and the
  low-quality dev pages, as shipped and with `quality: {}` appended;
- what the default book pipeline (pipelines/clean.yaml) keeps of the embedded books, and what
  share of book documents the model alone would keep;
- the scorer's speed in MB/s of UTF-8 text over the books, one process and two;
- with `--embedding` (the `embed` extra and ../shared/corpora/quality): a logistic head on
  all-MiniLM-L6-v2 embeddings (layers 6 and 3, first 128 tokens) trained on 1,000 documents per
  training source, alone, added to the shipped model's logit, and as a cascade that embeds only
  the pages whose fast score falls in the uncertain middle; and the encoder's speed;
- with `--ceiling`: the same features fitted on the dev pages' own labels, cross-validated (how
  far labels like the dev pages' carry these features), and the ROC-AUC the keep goals take.

    python bench/bench_quality.py [--dev ../shared/corpora/dev/dclm_quality_dev.jsonl] [--embedding [--cache DIR]]
                                  [--ceiling]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from _shared import CORPORA, need  # noqa: E402

from corpuskit.classify.metrics import roc_auc  # noqa: E402
from corpuskit.stages.quality.model import QualityModel  # noqa: E402
from corpuskit.stages.quality.train import best_threshold  # noqa: E402


def _rate(keep: np.ndarray, y: np.ndarray) -> str:
    return f"keeps {keep[y].mean():.1%} of good, {keep[~y].mean():.1%} of low-quality"


def two_fold(scores: np.ndarray, y: np.ndarray, seed: int = 0) -> str:
    """Threshold chosen on one half (balanced accuracy), keep rates measured on the other; both ways."""
    half = np.random.default_rng(seed).permutation(len(y)) % 2 == 0
    good, bad = [], []
    for fit in (half, ~half):
        t = best_threshold(scores[fit], y[fit])
        test = ~fit
        good.append((scores[test & y] >= t).sum())
        bad.append((scores[test & ~y] >= t).sum())
    return f"keeps {sum(good) / y.sum():.1%} of good, {sum(bad) / (~y).sum():.1%} of low-quality"


def clean_keeps(pages: Path, stages_extra: list, out: Path) -> set[str]:
    """Ids `corpuskit clean` keeps of `pages` (pipelines/web.yaml, plus `stages_extra`)."""
    import pyarrow.parquet as pq

    from corpuskit.pipeline import parse_pipeline
    from corpuskit.presets import pipelines_dir, read_yaml_mapping
    from corpuskit.runner import run_pipeline

    raw = read_yaml_mapping(str(pipelines_dir() / "web.yaml"))
    cfg = parse_pipeline({"input": str(pages), "output": str(out), "stages": raw["stages"] + stages_extra})
    run_pipeline(cfg, workers=2, quiet=True)
    return {i for p in out.glob("part-*.parquet") for i in pq.read_table(p, columns=["id"])["id"].to_pylist()}


def _score_part(texts: list[str]) -> int:
    model = QualityModel()
    for a in range(0, len(texts), 256):
        model.score_texts(texts[a:a + 256])
    return len(texts)


def speed(texts: list[str], processes: int) -> float:
    """MB/s of UTF-8 text scored by `processes` processes, each with its share (model loaded in each)."""
    total = sum(len(t.encode("utf-8")) for t in texts)
    parts = [texts[i::processes] for i in range(processes)]
    with get_context("fork").Pool(processes) as pool:
        pool.map(_score_part, [p[:20] for p in parts])  # warm: the model loaded in each process
        t0 = time.perf_counter()
        pool.map(_score_part, parts)
        return total / (time.perf_counter() - t0) / 1e6


def book_documents() -> list[str]:
    from corpuskit.readers import ReaderConfig, list_sources, read_source

    docs = []
    for src in list_sources(REPO / "corpus"):
        docs += [d.text for d in read_source(src, ReaderConfig(), lambda *a, **k: None)]
    return docs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=CORPORA / "dev" / "dclm_quality_dev.jsonl")
    ap.add_argument("--embedding", action="store_true", help="Also the MiniLM head and cascade (minutes of CPU).")
    ap.add_argument("--cache", default=None, help="Folder to keep the embeddings in between runs.")
    ap.add_argument("--ceiling", action="store_true",
                    help="Also models fitted on the dev pages' own labels, cross-validated (bench/_quality_ceiling.py).")
    args = ap.parse_args()
    need(args.dev, what="the DCLM dev pages; --dev FILE")
    rows = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines()]
    y = np.array([r["label"] for r in rows]).astype(bool)
    model = QualityModel()
    texts = [r["text"] for r in rows]
    scores = model.score_texts(texts)
    parts = model.parts(texts)
    print(f"dev pages: {len(rows)} ({y.sum()} good), shipped model, threshold {model.threshold} (chosen on dev)")
    print(f"  ROC-AUC quality_score {roc_auc(scores, y):.4f}  (n-gram part {roc_auc(parts[:, 0], y):.4f}, "
          f"statistics part {roc_auc(parts[:, 1], y):.4f}; options chosen on dev)")
    print(f"  model alone at its threshold: {_rate(scores >= model.threshold, y)}")
    print(f"  model alone, threshold chosen on the other half (2-fold): {two_fold(scores, y)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pages = tmp / "dev.jsonl"
        pages.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows))
        ids = np.array([r["id"] for r in rows])
        for label, extra in (("corpuskit clean (pipelines/web.yaml)", []),
                             ("web.yaml + quality: {}", [{"quality": {}}])):
            kept = clean_keeps(pages, extra, tmp / f"out-{len(extra)}")
            print(f"  {label}: {_rate(np.isin(ids, list(kept)), y)}")
        from corpuskit.presets import preset_pipeline
        from corpuskit.runner import run_pipeline
        from corpuskit.summary import load_stats

        run_pipeline(preset_pipeline("clean", str(REPO / "corpus"), str(tmp / "books")), workers=2, quiet=True)
        s = load_stats(str(tmp / "books"))
    books = book_documents()
    book_scores = np.concatenate([model.score_texts(books[a:a + 256]) for a in range(0, len(books), 256)])
    print(f"books: the default book pipeline (pipelines/clean.yaml) keeps {s['documents_out']} of "
          f"{s['documents_in']} documents ({s['documents_out'] / s['documents_in']:.2%}); the model alone at its "
          f"threshold would keep {(book_scores >= model.threshold).mean():.2%} of {len(books)}")
    for n in (1, 2):
        print(f"speed: {speed(books, n):.1f} MB/s with {n} process{'es' if n > 1 else ''} (the books, "
              f"{sum(len(t.encode()) for t in books) / 1e6:.1f} MB)")
    dev_embeddings = None
    if args.embedding:
        from _quality_embedding import embedding_figures

        dev_embeddings = embedding_figures(texts, y, scores, model.threshold, args.cache)
    if args.ceiling:
        from _quality_ceiling import ceiling_figures

        ceiling_figures(texts, y, scores, dev_embeddings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
