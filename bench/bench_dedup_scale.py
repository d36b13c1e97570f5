"""Benchmark: MinHash de-duplication at scale, against planted near-duplicate clusters.

Data (bench/dedup_corpus.py): in `text` mode, JSON Lines documents of real prose (8 random
sentences of the embedded books each, ~1 kB) with planted clusters of 2-50 documents whose
copies have 0-5 % of their words changed; in `bands` mode, the stage's per-unit stores written
directly (112 bytes of band hashes a document, signatures for cluster members only), so that
100 million documents fit this disk; only the reduce runs then.

Each size runs in a fresh subprocess: `python -m corpuskit dedup INPUT OUTPUT --workers W`
(text), or the stage's reduce with W local workers (bands). Printed per size: wall seconds,
throughput, peak RSS of the driver and of the largest other process (VmHWM sampled from /proc
every 0.2 s for every descendant process), the peak disk use of the run folder, and against
the plant: recall (copies with true word 5-gram Jaccard >= 0.8 that were removed), false
removals (unique documents or cluster sources removed), and copies below 0.8 removed.

    python bench/bench_dedup_scale.py                                  # 20,000 text + 200,000 band documents
    python bench/bench_dedup_scale.py --mode text --docs 1000000 --workers 2
    python bench/bench_dedup_scale.py --mode bands --docs 10000000,100000000 --memory 8GB --cold
    python bench/bench_dedup_scale.py ... --record runs.jsonl --plot docs/dedup_scale.svg
    python bench/bench_dedup_scale.py --record runs.jsonl --plot docs/dedup_scale.svg --replot

`--cold` writes each size's input to disk and drops it from the page cache before the timed run
(posix_fadvise DONTNEED): every size then reads its input from disk, as a crawl-sized run must,
and a small size is not timed from memory against a large one from disk.
`--record FILE` appends each row as JSON; `--plot FILE` draws wall time and peak memory
against documents, log-log, from every row in the record file (needs matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import dedup_corpus  # noqa: E402

PARAMS = {"ngram": 5, "num_perm": 112, "seed": 1, "bands": 14, "rows": 8, "normalization": 2, "scheme": "affine32"}


# -- measuring a process tree ------------------------------------------------------------------
def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return out


def _disk_bytes(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512  # sparse files count what they hold
            except OSError:
                pass
    return total


class Watch(threading.Thread):
    """Peak RSS (VmHWM, kB) of a process and each descendant, and peak disk use of a folder."""

    def __init__(self, pid: int, folder: Path):
        super().__init__(daemon=True)
        self.pid, self.folder = pid, folder
        self.peaks: dict[int, int] = {}
        self.disk = 0
        self.stop = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.stop.is_set():
            for p in _descendants(self.pid):
                self.peaks[p] = max(self.peaks.get(p, 0), _status_kb(p, "VmHWM:"))
            if tick % 10 == 0:
                self.disk = max(self.disk, _disk_bytes(self.folder))
            tick += 1
            self.stop.wait(0.2)


def evict(root: Path) -> int | None:
    """Write every file under root to disk and drop it from the page cache (posix_fadvise DONTNEED,
    no privileges needed), so a timed run reads its input from disk as a crawl-sized run must.
    Returns the bytes still cached after (fincore's count), None where fincore is not installed."""
    for dirpath, _, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    if not shutil.which("fincore"):
        return None  # not known: not reported as nothing cached
    paths = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", *paths],
                         capture_output=True, text=True).stdout
    return sum(int(x) for x in out.split() if x.isdigit())


def run_watched(cmd: list[str], folder: Path, timeout: float | None) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = Watch(proc.pid, folder)
    watch.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    watch.stop.set()
    watch.join()
    watch.disk = max(watch.disk, _disk_bytes(folder))
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    driver = watch.peaks.pop(proc.pid, 0)
    return {"wall": wall, "driver_mb": driver / 1024, "other_mb": max(watch.peaks.values(), default=0) / 1024,
            "processes": 1 + len(watch.peaks), "disk_mb": watch.disk / 1e6, "stdout": out}


# -- the two modes -----------------------------------------------------------------------------
def text_case(root: Path, n_docs: int, workers: int, memory: str | None, timeout: float | None,
              cold: bool = False) -> dict:
    inp, out = root / "in", root / "out"
    t0 = time.perf_counter()
    made = dedup_corpus.write_text_corpus(inp, n_docs)
    made["generate_s"] = time.perf_counter() - t0
    if cold:
        left = evict(inp)
        made["cached_mb"] = None if left is None else left / 1e6
    cmd = [sys.executable, "-m", "corpuskit", "dedup", str(inp), str(out), "--workers", str(workers), "--quiet"]
    if memory:
        cmd += ["--memory", memory]
    res = run_watched(cmd, out, timeout)
    import pyarrow.parquet as pq

    removed: set[str] = set()
    for p in (out / "rejected").glob("*.parquet"):
        removed.update(pq.read_table(p, columns=["id"])["id"].to_pylist())
    copies = {}
    with open(root / "truth.tsv", encoding="utf-8") as fh:
        for line in fh:
            doc, _, j = line.rstrip("\n").split("\t")
            copies[doc] = float(j)
    high = [d for d, j in copies.items() if j >= 0.8]
    return {**made, **res, "recall": sum(d in removed for d in high) / max(len(high), 1), "high": len(high),
            "false": sum(1 for d in removed if d not in copies),
            "low_removed": sum(1 for d, j in copies.items() if j < 0.8 and d in removed)}


def bands_case(root: Path, n_docs: int, workers: int, memory: str | None, timeout: float | None,
               cold: bool = False) -> dict:
    work = root / "work"
    n_units = max(4, n_docs // 1_000_000)
    t0 = time.perf_counter()
    made = dedup_corpus.write_band_stores(work, n_docs, n_units, PARAMS)
    made["generate_s"] = time.perf_counter() - t0
    made["bytes"] = _disk_bytes(work)
    if cold:
        left = evict(work)
        made["cached_mb"] = None if left is None else left / 1e6
    cmd = [sys.executable, __file__, "--reduce", str(work), "--units", str(n_units), "--workers", str(workers)]
    if memory:
        cmd += ["--memory", memory]
    res = run_watched(cmd, work, timeout)
    per = -(-n_docs // n_units)
    removed = []
    for u in range(n_units):
        pos = json.loads((work / f"drops-{u:05d}.json").read_text())["pos"]
        removed.append(np.asarray(pos, dtype=np.int64) + u * per)
    removed = np.concatenate(removed)
    truth = np.load(work / "truth.npz")
    copy, j = truth["copy"], truth["jaccard"]
    hit = np.isin(copy, removed)
    return {**made, **res, "recall": float(hit[j >= 0.8].mean()) if (j >= 0.8).any() else 1.0,
            "high": int((j >= 0.8).sum()), "false": int((~np.isin(removed, copy)).sum()),
            "low_removed": int(hit[j < 0.8].sum())}


def reduce_only(work: Path, n_units: int, workers: int, memory: str | None) -> None:
    """The stage's reduce over stores written by write_band_stores, with local workers."""
    from corpuskit.execute.local import LocalExecutor
    from corpuskit.stage import StageContext
    from corpuskit.stages.dedup.minhash import MinhashDedup

    stage = MinhashDedup(**({"memory": memory} if memory else {}))
    with LocalExecutor(workers) as ex:
        report = stage.reduce(StageContext(work, 0, n_units, map=ex.map))
    print(json.dumps({k: report[k] for k in ("documents", "candidate_pairs", "rejected_pairs", "removed")
                      if k in report}))


# -- output --------------------------------------------------------------------------------------
HEADER = (f"{'mode':<6}{'docs':>11}{'MB in':>9}{'wall s':>9}{'MB/s':>7}{'kdoc/s':>8}{'driver MB':>10}"
          f"{'worker MB':>10}{'procs':>6}{'disk MB':>9}{'recall':>8}{'false':>6}{'J<0.8 rm':>9}")


def row(mode: str, r: dict) -> str:
    mb = r["bytes"] / 1e6
    return (f"{mode:<6}{r['docs']:>11,}{mb:>9.0f}{r['wall']:>9.1f}{mb / r['wall']:>7.2f}"
            f"{r['docs'] / r['wall'] / 1e3:>8.1f}{r['driver_mb']:>10.0f}{r['other_mb']:>10.0f}{r['processes']:>6}"
            f"{r['disk_mb']:>9.0f}{r['recall']:>8.4f}{r['false']:>6}{r['low_removed']:>9}")


def plot(records: Path, dest: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print(f"no plot: matplotlib is not installed ({dest} not written)")
        return
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: a small, diffable file
    matplotlib.rcParams["svg.hashsalt"] = "corpuskit"  # the same ids every time
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for mode, marker in (("text", "o"), ("bands", "s")):
        latest = {r["docs"]: r for r in rows if r["mode"] == mode}  # a size measured again: its last row
        rs = [latest[d] for d in sorted(latest)]
        if not rs:
            continue
        x = [r["docs"] for r in rs]
        axes[0].loglog(x, [r["wall"] for r in rs], marker=marker, label=mode)
        axes[1].loglog(x, [max(r["driver_mb"], r["other_mb"]) for r in rs], marker=marker, label=mode)
    for limit in sorted({r["memory"] for r in rows if r.get("memory")}):
        from corpuskit.stages.dedup.spill import MB, parse_memory

        axes[1].axhline(parse_memory(limit) / MB, linestyle="--", color="grey", linewidth=1)
        axes[1].annotate(f"--memory {limit}", (min(r["docs"] for r in rows), parse_memory(limit) / MB * 1.1),
                         color="grey", fontsize=8)
    axes[0].set(xlabel="documents", ylabel="wall seconds", title="time")
    axes[1].set(xlabel="documents", ylabel="peak RSS of any process, MB", title="memory")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(dest, metadata={"Date": None} if str(dest).endswith(".svg") else None)
    print(f"plot: {dest}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["text", "bands", "both"], default="both")
    ap.add_argument("--docs", help="comma-separated sizes (default: 20000 text, 200000 bands)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory", help="the run's memory limit (--memory of corpuskit dedup)")
    ap.add_argument("--dir", help="working folder (default: a temporary one, deleted after each size)")
    ap.add_argument("--timeout", type=float, help="seconds per run before it is killed")
    ap.add_argument("--cold", action="store_true",
                    help="drop the input from the page cache before each run: every size reads it from disk")
    ap.add_argument("--record", help="append each row as JSON to this file")
    ap.add_argument("--plot", help="write a log-log plot of every row in --record here")
    ap.add_argument("--replot", action="store_true", help="only draw --plot from --record, run nothing")
    ap.add_argument("--reduce", help=argparse.SUPPRESS)
    ap.add_argument("--units", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reduce:
        reduce_only(Path(args.reduce), args.units, args.workers, args.memory)
        return
    if args.replot:
        plot(Path(args.record), Path(args.plot))
        return
    modes = ["text", "bands"] if args.mode == "both" else [args.mode]
    print(f"MinHash dedup at scale: workers={args.workers}, memory={args.memory or 'not set'}, "
          f"input {'dropped from the page cache before each run' if args.cold else 'as written (cached)'}; "
          "planted clusters of 2-50 documents (bench/dedup_corpus.py)")
    print(HEADER)
    for mode in modes:
        sizes = [int(s) for s in args.docs.split(",")] if args.docs else [20_000 if mode == "text" else 200_000]
        for n in sizes:
            root = Path(args.dir) / f"{mode}-{n}" if args.dir else Path(tempfile.mkdtemp(prefix="dedup-scale-"))
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            try:
                case = text_case if mode == "text" else bands_case
                r = case(root, n, args.workers, args.memory, args.timeout, args.cold)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            print(row(mode, r), flush=True)
            if args.record:
                with open(args.record, "a") as fh:
                    fh.write(json.dumps({"mode": mode, "workers": args.workers, "memory": args.memory,
                                         "cold": args.cold,
                                         **{k: v for k, v in r.items() if k != "stdout"}}) + "\n")
    print("MB in: input text (bands: the stores on disk); driver MB: peak RSS of the command's process; worker MB:\n"
          "the largest other process; disk MB: peak of the run folder (input excluded in text mode); recall: copies\n"
          "with 5-gram Jaccard >= 0.8 removed; false: unique documents or cluster sources removed. Shared CPU.")
    if args.plot and args.record:
        plot(Path(args.record), Path(args.plot))


if __name__ == "__main__":
    main()
