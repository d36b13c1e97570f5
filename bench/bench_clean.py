"""Benchmark: normalization plus every cleaning rule on web-like text, 2 workers.

The Common Crawl test pages shipped as test fixtures are replicated to at least 20 MB
(8 JSONL files, so both workers have units of work) and run through the real runner
with the default cleaning stages (`corpuskit clean`'s list). Prints throughput, peak
memory and what the rules did.

    python bench/bench_clean.py [--mb 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from corpuskit.pipeline import parse_pipeline
from corpuskit.presets import preset_stages
from corpuskit.runner import run_pipeline

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cc"


def build_input(folder: Path, target_mb: float, n_files: int = 8) -> int:
    records = []
    for path in sorted(FIXTURES.glob("dolma_*.jsonl.gz")):
        for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
            rec = json.loads(line)
            records.append({"id": rec["id"], "text": rec["text"]})
    size = sum(len(r["text"].encode()) for r in records)
    copies = int(target_mb * 1e6 / size) + 1
    total = 0
    for f in range(n_files):
        with open(folder / f"web-{f:02d}.jsonl", "w", encoding="utf-8") as fh:
            for c in range(f, copies, n_files):
                for r in records:
                    fh.write(json.dumps({"id": f"{r['id']}#{c}", "text": r["text"]}) + "\n")
                    total += len(r["text"].encode())
    return total


def _cpu() -> float:
    """CPU seconds of this process and its finished workers: unlike wall time, not inflated
    when other jobs share the machine."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def run(inp: Path, out: Path, stages: list, workers: int) -> tuple[float, float, dict]:
    cfg = parse_pipeline({"input": str(inp), "output": str(out), "stages": stages})
    t0, c0 = time.perf_counter(), _cpu()
    stats = run_pipeline(cfg, workers=workers, force=True, quiet=True)
    return time.perf_counter() - t0, _cpu() - c0, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in"
        inp.mkdir()
        nbytes = build_input(inp, args.mb)
        base_s, base_cpu, _ = run(inp, Path(tmp) / "base", [], args.workers)
        clean_s, clean_cpu, stats = run(inp, Path(tmp) / "clean", preset_stages("clean"), args.workers)
        summary = json.loads((Path(tmp) / "clean" / "stats.json").read_text())
    mb = nbytes / 1e6
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"input: {mb:.1f} MB of web pages (dev Common Crawl pages replicated), workers={args.workers}")
    print(f"read+write only:        {base_s:6.2f} s  {mb / base_s:6.2f} MB/s   cpu {base_cpu:6.2f} s")
    print(f"clean (all rules):      {clean_s:6.2f} s  {mb / clean_s:6.2f} MB/s   cpu {clean_cpu:6.2f} s")
    print(f"CPU-bound estimate on {args.workers} idle cores: {mb / (clean_cpu / args.workers):.2f} MB/s")
    print(f"peak RSS: main {self_kb / 1024:.0f} MiB, largest worker {child_kb / 1024:.0f} MiB")
    print(f"kept {summary['documents_out']} of {summary['documents_in']} documents")
    print("per-stage seconds (summed over workers) and events:")
    for name, s in stats.items():
        events = ", ".join(f"{k}={v}" for k, v in sorted(s.counters.items()))
        print(f"  {name:18s} {s.time_s:6.2f} s  {events}")


if __name__ == "__main__":
    sys.exit(main())
