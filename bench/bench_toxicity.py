"""Toxicity stage benchmark: throughput through the real runner (workers=2), and mostly-abusive documents.

    python bench/bench_toxicity.py [--scorer classifier cascade embedding] [--repeats 3]

Prints, for each scorer, the MB/s of the `toxicity` stage on the embedded books (read as
pipelines/default.yaml reads them), min and median over `--repeats` runs: end to end
(spawn + read + score + write) and for the stage itself (the stage time summed over the two
workers, halved). For a scorer with a model to load (`cascade`, `embedding`), the time one
process takes to import and load it is measured apart (in a fresh interpreter, best of 2) and
the stage figure is also printed without one load per worker: that is the rate on a corpus
large enough for the load not to matter. `embedding` runs on the first `--embedding-docs` book documents only:
every sentence goes through MiniLM, which is three orders of magnitude slower.
On a shared machine these are wall-clock figures under whatever else is running.
Then, when the Davidson set is present (DAVIDSON=path, default ../shared/corpora/dev next
to the repo), the drop rate of documents built from its dev-fold tweets (never trained on).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from _shared import CORPORA, shown  # noqa: E402

DAVIDSON = Path(os.environ.get("DAVIDSON", CORPORA / "dev" / "davidson_labeled_data.csv"))
sys.path.insert(0, str(REPO))


def _run_once(scorer: str, src: Path, out: Path, reader: dict):
    from corpuskit.pipeline import parse_pipeline
    from corpuskit.runner import load_stats, run_pipeline

    cfg = parse_pipeline({"input": str(src), "output": str(out), "reader": reader,
                          "stages": [{"toxicity": {"scorer": scorer}}]}, "bench")
    t0 = time.perf_counter()
    run_pipeline(cfg, workers=2, force=True, quiet=True)
    wall = time.perf_counter() - t0
    return wall, load_stats(cfg.output)["stages"]["toxicity"]


def load_seconds(scorer: str) -> float:
    """Seconds a fresh interpreter takes to import and load `scorer` (what each worker pays once), best of 2."""
    import subprocess

    code = ("import time; t = time.perf_counter(); from corpuskit.stages.toxicity.scorers import load_scorer; "
            f"load_scorer({scorer!r}, cut=0.7); print(time.perf_counter() - t)")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as a worker of two gets it
    return min(float(subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                                    capture_output=True, text=True).stdout.split()[-1]) for _ in range(2))


def throughput(scorers: list[str], repeats: int, embedding_docs: int) -> None:
    from corpuskit.pipeline import load_pipeline

    default = load_pipeline(REPO / "pipelines" / "default.yaml")
    reader = {"glob": default.reader.glob, "text_mode": default.reader.text_mode,
              "target_chars": default.reader.target_chars, "gutenberg": default.reader.gutenberg}
    for scorer in scorers:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in"
            src.mkdir()
            if scorer == "embedding":  # a slice of the books as JSONL: all of them would take hours
                import json

                from corpuskit.readers import list_sources, read_source
                from corpuskit.readers.base import ReaderConfig

                docs = [d for s in list_sources(REPO / "corpus", reader["glob"])
                        for d in read_source(s, ReaderConfig(**reader), lambda *a, **k: None)][:embedding_docs]
                for part in range(2):
                    with open(src / f"p{part}.jsonl", "w", encoding="utf-8") as fh:
                        fh.writelines(json.dumps({"id": d.id, "text": d.text}) + "\n"
                                      for d in docs[part::2])
                run_reader = {}
            else:
                for f in sorted((REPO / "corpus").glob("*.txt.gz")):
                    shutil.copy(f, src / f.name)
                run_reader = reader
            walls, stage_rates, steady = [], [], []
            load = load_seconds(scorer) if scorer in ("cascade", "embedding") else 0.0
            for _ in range(repeats):
                wall, tox = _run_once(scorer, src, Path(tmp) / "out", run_reader)
                mb = tox["bytes_in"] / 1e6
                walls.append(mb / wall)
                stage_rates.append(mb / (tox["time_s"] / 2))
                steady.append(mb / max(tox["time_s"] / 2 - load, 1e-9))
        print(f"throughput {scorer:10s}: {mb:.2f} MB, workers=2, {repeats} runs: end to end MB/s min "
              f"{min(walls):.2f} median {statistics.median(walls):.2f}; stage MB/s on 2 cores min "
              f"{min(stage_rates):.2f} median {statistics.median(stage_rates):.2f}; "
              f"{tox.get('dropped_toxic', 0)} of {tox['docs_in']} documents dropped")
        if load:
            print(f"  {scorer}: loading it takes {load:.2f}s per worker; stage MB/s without one load per "
                  f"worker min {min(steady):.2f} median {statistics.median(steady):.2f}")
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"peak memory (max RSS of this process or a worker): {peak / 1024:.0f} MB; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other processes share the machine)")


def abusive_documents() -> None:
    if not DAVIDSON.is_file():
        print(f"abusive documents: skipped: needs {shown(DAVIDSON)} (the Davidson set; DAVIDSON=path)")
        return
    from corpuskit.stages.toxicity.labelled import read_labelled
    from corpuskit.stages.toxicity.sources import dev_fold
    from corpuskit.stages.toxicity.stage import ToxicityFilter

    texts, y = read_labelled(DAVIDSON, "tweet", "class", {"0", "1"})
    held = [i for i, t in enumerate(texts) if dev_fold(t)]
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
    print(f"mostly-abusive documents (3-10 dev-fold toxic tweets + fewer clean ones, 1000 docs): "
          f"{100 * sum(dropped) / len(dropped):.1f}% dropped; with 50-60% toxic lines: "
          f"{100 * sum(close) / max(len(close), 1):.1f}% of {len(close)}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scorer", nargs="+", default=["classifier", "cascade"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--embedding-docs", type=int, default=40)
    args = ap.parse_args()
    throughput(args.scorer, args.repeats, args.embedding_docs)
    abusive_documents()
