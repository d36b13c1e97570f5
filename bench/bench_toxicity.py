"""Toxicity stage benchmark: throughput through the real runner (workers=2), and quality figures.

    python bench/bench_toxicity.py

Prints MB/s and peak memory for the default `toxicity` stage on the embedded books
(read as pipelines/default.yaml reads them), the share of book documents it drops,
and, when the Davidson set is present (DAVIDSON=path, default ../shared/corpora/dev next to the repo),
figures on its held-out split and the drop rate of mostly-abusive documents built
from held-out tweets.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAVIDSON = Path(os.environ.get("DAVIDSON", REPO.parent / "shared" / "corpora" / "dev" / "davidson_labeled_data.csv"))


def throughput() -> None:
    import shutil

    from corpuskit.pipeline import load_pipeline, parse_pipeline
    from corpuskit.runner import load_stats, run_pipeline

    default = load_pipeline(REPO / "pipelines" / "default.yaml")
    reader = {"glob": default.reader.glob, "text_mode": default.reader.text_mode,
              "target_chars": default.reader.target_chars, "gutenberg": default.reader.gutenberg}
    # 1x is the embedded corpus; 3x holds three copies of it, so the fixed cost of starting
    # workers (about 0.8 s here: spawn, imports, loading the weights) weighs less.
    for copies in (1, 3):
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in"
            src.mkdir()
            for i in range(copies):
                for f in sorted((REPO / "corpus").glob("*.txt.gz")):
                    shutil.copy(f, src / f"c{i}-{f.name}")
            cfg = parse_pipeline({"input": str(src), "output": str(Path(tmp) / "out"),
                                  "reader": reader, "stages": [{"toxicity": {}}]}, "bench")
            t0 = time.perf_counter()
            run_pipeline(cfg, workers=2, force=True, quiet=True)
            wall = time.perf_counter() - t0
            stats = load_stats(cfg.output)
        tox = stats["stages"]["toxicity"]
        mb, stage_s = tox["bytes_in"] / 1e6, tox["time_s"]
        print(f"throughput {copies}x: {mb:.1f} MB of book text, workers=2, wall {wall:.2f}s -> {mb / wall:.2f} MB/s "
              f"end to end (spawn + read + score + write); stage time summed over workers {stage_s:.2f}s -> "
              f"{mb / (stage_s / 2):.2f} MB/s for the stage itself on 2 cores")
        if copies == 1:
            dropped = tox.get("dropped_toxic", 0)
            books = (f"books: {dropped} of {tox['docs_in']} documents dropped as toxic "
                     f"({100 * dropped / tox['docs_in']:.2f}%)")
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"peak memory (max RSS of this process or a worker): {peak / 1024:.0f} MB")
    print(books)


def quality() -> None:
    if not DAVIDSON.is_file():
        print(f"quality: skipped ({DAVIDSON} not found; set DAVIDSON=path)")
        return
    from corpuskit.stages.toxicity.evaluate import binary_metrics
    from corpuskit.stages.toxicity.stage import ToxicityFilter
    from corpuskit.stages.toxicity.labelled import is_heldout, read_labelled

    texts, y = read_labelled(DAVIDSON, "tweet", "class", {"0", "1"})
    held = [i for i, t in enumerate(texts) if is_heldout(t)]
    for scorer in ("ensemble", "classifier", "lexicon"):
        stage = ToxicityFilter(scorer=scorer, aggregate="max")
        m = binary_metrics([stage.score(texts[i]).max for i in held], y[held], 0.5)
        print(f"davidson held-out ({m['n']} tweets) {scorer:10s} ROC-AUC {m['roc_auc']:.4f} "
              f"P {m['precision']:.4f} R {m['recall']:.4f} F1 {m['f1']:.4f}")
    toxic = [texts[i].replace("\n", " ") for i in held if y[i] == 1]
    clean = [texts[i].replace("\n", " ") for i in held if y[i] == 0]
    rng = random.Random(0)
    docs, shares = [], []
    for _ in range(1000):
        k = rng.randint(3, 10)
        m_clean = rng.randint(0, k - 1)  # clean lines are always a minority
        lines = rng.sample(toxic, k) + rng.sample(clean, m_clean)
        rng.shuffle(lines)
        docs.append("\n".join(lines))
        shares.append(k / (k + m_clean))
    stage = ToxicityFilter()
    dropped = [stage.score(d).value(stage.aggregate) >= stage.doc_threshold for d in docs]
    close = [d for d, s in zip(dropped, shares) if s < 0.6]
    print(f"mostly-abusive documents (3-10 held-out toxic tweets + fewer clean ones, 1000 docs): "
          f"{100 * sum(dropped) / len(dropped):.1f}% dropped; with 50-60% toxic lines: "
          f"{100 * sum(close) / max(len(close), 1):.1f}% of {len(close)}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    throughput()
    quality()
