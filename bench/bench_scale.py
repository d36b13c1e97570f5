"""Benchmark: the default pipeline at scale, and how it speeds up with workers.

Data: a generated JSON Lines corpus of about `--mb` MB: the embedded books (corpus/*.txt.gz,
cut into ~2,000-character documents by corpuskit's reader) in "cipher copies" (every word
but the 300 most frequent through a seeded permutation of the vocabulary, as in
bench_dedup.py: stop words and prose statistics kept, few 5-grams shared between copies),
with duplicates planted for the dedup stages: every 10th document repeated exactly, every
10th (offset by 5) repeated with 2 % of its words changed. One file, so that the units
inside it are all the parallelism there is.

    python bench/bench_scale.py --mb 200 --workers 1,2 --repeat 2   # the speedup from units inside a file
    python bench/bench_scale.py --mb 1000 --workers 2 --repeat 1    # at scale

Each run is a fresh `corpuskit run` subprocess of pipelines/default.yaml (its tokenizer and
shards included; `--without toxicity` leaves a stage out) on the same file; runs alternate
between worker counts so that the load of a shared machine falls on both alike. Printed:
wall seconds per run, min and median per worker count, the speedup of the medians and of
the minima, and whether every run's outputs are byte-identical. Then, for the last run, a
table per stage (MB in, MB/s of the stage's own time, CPU seconds per MB: the stage's time
in the workers, which run one thread each), the reduces, the tokenizer step (driver) and the
shard step (one task per output file), and the peak RSS of the driver and of each worker
process, sampled from /proc every 0.2 s (a forked worker's RSS includes the pages it shares
with the driver).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import statistics
from collections import Counter
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_WORD = re.compile(r"[A-Za-z]+")


def base_documents() -> list[str]:
    """The embedded books as the reader cuts them (paragraph groups of ~2,000 characters)."""
    from corpuskit.readers import paragraph_groups, strip_gutenberg

    docs: list[str] = []
    for book in sorted((REPO / "corpus").glob("pg*.txt.gz")):
        text = gzip.decompress(book.read_bytes()).decode("utf-8").replace("\r\n", "\n")
        docs += paragraph_groups(strip_gutenberg(text) or text, 2000)
    return docs


KEEP = 300  # the most frequent words stay themselves: stop words keep the Gopher and language rules passing


def _cipher(vocab: list[str], seed: int) -> dict[str, str]:
    """A permutation of `vocab` past its first KEEP words (most frequent first)."""
    rest = vocab[KEEP:]
    shuffled = rest[:]
    random.Random(seed).shuffle(shuffled)
    return dict(zip(rest, shuffled))


def _apply(text: str, table: dict[str, str]) -> str:
    def swap(m: re.Match) -> str:
        w = m.group(0)
        out = table.get(w.lower(), w)
        return out.capitalize() if w[0].isupper() else out

    return _WORD.sub(swap, text)


def _perturb(text: str, rng: random.Random, vocab: list[str], rate: float) -> str:
    words = text.split(" ")
    for _ in range(max(1, int(len(words) * rate))):
        words[rng.randrange(len(words))] = rng.choice(vocab)
    return " ".join(words)


def generate(path: Path, mb: float) -> dict:
    """Write the corpus to `path` (JSON Lines, `{"id", "text"}`); the same bytes for the same `mb`."""
    base = base_documents()
    counts = Counter(w.lower() for d in base for w in _WORD.findall(d))
    vocab = sorted(counts, key=lambda w: (-counts[w], w))
    target, size, n, copy = int(mb * 1e6), 0, 0, 0
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as fh:
        while size < target:
            table = _cipher(vocab, copy) if copy else {}
            for i, doc in enumerate(base):
                text = _apply(doc, table) if table else doc
                lines = [text]
                if i % 10 == 0:
                    lines.append(text)  # an exact duplicate
                elif i % 10 == 5:
                    lines.append(_perturb(text, rng, vocab, 0.02))  # a near duplicate
                for k, t in enumerate(lines):
                    line = json.dumps({"id": f"c{copy}-{i}-{k}", "text": t}, ensure_ascii=False) + "\n"
                    fh.write(line)
                    size += len(line.encode("utf-8"))
                    n += 1
                if size >= target:
                    break
            copy += 1
    return {"documents": n, "bytes": size, "copies": copy}


def _pipeline(root: Path, corpus: Path, without: list[str]) -> Path:
    import yaml

    p = yaml.safe_load((REPO / "pipelines" / "default.yaml").read_text())
    p["stages"] = [s for s in p["stages"] if next(iter(s)) not in without]
    p["input"] = str(corpus)
    p["reader"] = {}  # JSON Lines: the text-file options do not apply
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(p))
    return path


def _outputs_digest(out: Path) -> str:
    """A hash of everything a user or trainer reads (not stats.json timings, not config.json's output path)."""
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        skip = rel.startswith(("_work/", ".")) or rel in ("stats.json", "config.json", "README.md")
        if p.is_file() and not skip:
            h.update(rel.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


class PeakRSS(threading.Thread):
    """Peak RSS (kB) of a process and of each of its descendants, sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peaks, self.stop = pid, {}, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            todo = [self.pid]
            while todo:
                p = todo.pop()
                self.peaks[p] = max(self.peaks.get(p, 0), _rss_kb(p))
                todo += _children(p)


def run_once(pipeline: Path, out: Path, workers: int) -> tuple[float, str, dict]:
    """Wall seconds, output digest and peak RSS per process (driver first) of one run; its log
    (each pass, reduce and step timed) goes to OUT.log."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "corpuskit", "run", str(pipeline), "--output", str(out), "--workers", str(workers),
           "--force"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watch = PeakRSS(proc.pid)
    watch.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    watch.stop.set()
    watch.join()
    out.with_suffix(".log").write_text(stderr)
    if proc.returncode != 0:
        sys.exit(f"run failed ({workers} workers):\n{stderr}")
    return wall, _outputs_digest(out), {"driver": watch.peaks.pop(proc.pid, 0), "workers": watch.peaks}


def stage_table(out: Path, wall: float, rss: dict) -> None:
    """Per stage of the run in `out`: MB in, MB/s and CPU s/MB of its own time; then the driver's steps."""
    stats = json.loads((out / "stats.json").read_text())
    total_mb = stats["stages"]["read"]["bytes_in"] / 1e6 or stats["stages"]["repair"]["bytes_in"] / 1e6
    print(f"\n{'stage':<20}{'MB in':>9}{'docs in':>10}{'dropped':>9}{'time s':>9}{'MB/s':>9}{'CPU s/MB':>10}")
    for name, st in stats["stages"].items():
        mb, t = st["bytes_in"] / 1e6, st["time_s"]
        rate = f"{mb / t:9.1f}" if t else f"{'-':>9}"
        print(f"{name:<20}{mb:9.1f}{st['docs_in']:10,}{st['dropped']:9,}{t:9.1f}{rate}{t / max(mb, 1e-9):10.4f}")
    log = (out.with_suffix(".log")).read_text()
    for m in re.finditer(r"^(\S+): reduce over \d+ units took ([\d.]+)s", log, re.M):
        print(f"{m.group(1) + ' reduce':<20}{'':>37}{float(m.group(2)):9.1f}   (driver{', one task per band' if m.group(1) == 'minhash_dedup' else ''})")
    for what, pat, where in (("tokenizer", r"^tokenizer: trained .* in ([\d.]+)s", "driver"),
                             ("shards", r"^shards: .*; ([\d.]+)s ->", "one task per output file")):
        m = re.search(pat, log, re.M)
        if m:
            print(f"{what:<20}{'':>37}{float(m.group(1)):9.1f}   ({where})")
    print(f"whole run: {total_mb:.1f} MB in {wall:.1f} s wall = {total_mb / wall:.2f} MB/s")
    workers = sorted(rss["workers"].values(), reverse=True)
    print(f"peak RSS: driver {rss['driver'] / 1024:.0f} MB; workers "
          + ", ".join(f"{kb / 1024:.0f}" for kb in workers) + " MB")


def speedup(mb: float, workers: list[int], repeat: int, keep: Path | None, without: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        corpus = root / "corpus.jsonl"
        if not corpus.is_file():
            info = generate(corpus, mb)
            print(f"corpus: {info['bytes'] / 1e6:.1f} MB, {info['documents']:,} documents, {info['copies']} copies")
        pipeline = _pipeline(root, corpus, without)
        walls: dict[int, list[float]] = {w: [] for w in workers}
        digests = set()
        for r in range(repeat):
            for w in workers:
                wall, digest, rss = run_once(pipeline, root / f"out-{w}", w)
                walls[w].append(wall)
                digests.add(digest)
                print(f"run {r + 1}: {w} worker(s): {wall:7.1f} s  outputs {digest}", flush=True)
        for w in workers:
            print(f"{w} worker(s): min {min(walls[w]):.1f} s, median {statistics.median(walls[w]):.1f} s")
        if len(workers) > 1:
            a, b = workers[0], workers[-1]
            med = statistics.median(walls[a]) / statistics.median(walls[b])
            print(f"speedup {a} -> {b} workers: median {med:.2f}x, min {min(walls[a]) / min(walls[b]):.2f}x")
        print("outputs byte-identical across all runs:", "yes" if len(digests) == 1 else f"NO ({sorted(digests)})")
        print(f"last run: {workers[-1]} worker(s)")
        stage_table(root / f"out-{workers[-1]}", wall, rss)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to compare")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="work in this folder (and reuse its corpus) instead of a temporary one")
    ap.add_argument("--without", default="", help="comma-separated stages of default.yaml to leave out")
    args = ap.parse_args()
    speedup(args.mb, [int(w) for w in args.workers.split(",")], args.repeat, args.keep,
            [s for s in args.without.split(",") if s])


if __name__ == "__main__":
    main()
