"""Benchmark: normalization plus every cleaning rule on web-like text, 2 workers.

The Common Crawl test pages shipped as test fixtures are replicated to at least 20 MB
(8 JSONL files, so both workers have units of work) and run through the real runner
with the default cleaning stages (`corpuskit clean`'s list). Prints throughput, peak
memory and what the rules did.

First, the `repair` stage alone, in this process: MB/s on clean text (the dev pages and
2,000-character chunks of the embedded books) and on damaged text (the same documents
(every 8th) with one sentence each turned into mojibake, cycling through the encodings ftfy
undoes). The stage is timed with today's pre-scan and with the previous one (kept here
only, `OldScanRepair`: the Latin-1/cp1252 pattern alone), interleaved in one run and
repeated, so the ratio is fair on a shared machine; min and median are printed.

    python bench/bench_clean.py [--mb 20] [--workers 2] [--repeats 7] [--repair-only]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from corpuskit.pipeline import parse_pipeline
from corpuskit.presets import preset_stages
from corpuskit.runner import run_pipeline
from corpuskit.stages.formatters.repair import Repair

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "cc"

# The pre-scan before issue 18: only UTF-8 read as Latin-1/cp1252 reached ftfy.
_OLD_MOJIBAKE = re.compile(
    "[\u00c0-\u00ff][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
_OLD_FTFY_CHAR = re.compile("[\x1b\x80-\x9f\ufb00-\ufb06\u2028\u2029\ud800-\udfff\ufffd]")
_ENTITY = re.compile("&(?:#[0-9]{2,7}|#x[0-9A-Fa-f]{2,6}|[A-Za-z][A-Za-z0-9]{1,31});")


class OldScanRepair(Repair):
    """The repair stage with the previous pre-scan, for the before/after ratio only."""

    def _needs_ftfy(self, text: str, odd: bool) -> bool:
        if odd and _OLD_FTFY_CHAR.search(text):
            return True
        if "&" in text and _ENTITY.search(text):
            return True
        return not text.isascii() and _OLD_MOJIBAKE.search(text) is not None


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


def _fixture_pages() -> list[str]:
    texts = []
    for path in sorted(FIXTURES.glob("dolma_*.jsonl.gz")):
        texts += [json.loads(line)["text"] for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()]
    return texts


def clean_texts(corpus: Path, chunk: int = 2000) -> list[str]:
    """The dev pages and the embedded books cut into `chunk`-character documents."""
    texts = _fixture_pages()
    for path in sorted(corpus.glob("*.txt.gz")):
        book = gzip.decompress(path.read_bytes()).decode("utf-8")
        texts += [book[i:i + chunk] for i in range(0, len(book), chunk)]
    return texts


_ENCODINGS = ("latin-1", "sloppy-windows-1252", "sloppy-windows-1250", "sloppy-windows-1251",
              "iso-8859-2", "macroman", "cp437")
_SAMPLES = ("Crème brûlée, gâteaux et café à volonté.", "Liège, Kraków, Łódź and Plzeň.",
            "Съешь же ещё этих мягких французских булок.", "He said “voilà” — and didn’t stay…")


def damaged_texts(texts: list[str]) -> list[str]:
    """Each text with one accented sentence in mojibake, the encoding cycling, once or twice."""
    import ftfy.bad_codecs  # noqa: F401 (registers sloppy-windows-125x)

    out = []
    for i, text in enumerate(texts):
        bad = _SAMPLES[i % len(_SAMPLES)]
        for _ in range(1 + (i // len(_ENCODINGS)) % 2):
            try:
                bad = bad.encode("utf-8").decode(_ENCODINGS[i % len(_ENCODINGS)])
            except UnicodeDecodeError:
                break
        mid = text.find(". ", len(text) // 2) + 2 or len(text)
        out.append(text[:mid] + bad + " " + text[mid:])
    return out


def _time_stage(stage: Repair, texts: list[str]) -> float:
    t0 = time.perf_counter()
    for text in texts:
        stage.map(text)
    return time.perf_counter() - t0


def bench_repair(corpus: Path, repeats: int) -> None:
    import ftfy

    clean = clean_texts(corpus)
    damaged = damaged_texts(clean[::8])  # every 8th: ftfy runs on most of them
    stages = {"before (old scan)": OldScanRepair(), "after (ftfy-derived scan)": Repair()}
    for label, texts in (("clean", clean), ("damaged", damaged)):
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        times: dict[str, list[float]] = {k: [] for k in stages}
        for stage in stages.values():
            _time_stage(stage, texts)  # warm up: ftfy import, scan build, caches
        for _ in range(repeats):
            for name, stage in stages.items():  # interleaved, so a busy moment hits both
                times[name].append(_time_stage(stage, texts))
        sent = {name: sum(1 for t in texts if stage._needs_ftfy(t, True)) for name, stage in stages.items()}
        fixed = sum(1 for t in texts if Repair().map(t) != OldScanRepair().map(t)) if label == "damaged" else 0
        print(f"repair on {label} text: {len(texts)} documents, {mb:.1f} MB, {repeats} repeats")
        for name, ts in times.items():
            print(f"  {name:26s} best {mb / min(ts):7.2f} MB/s  median {mb / statistics.median(ts):7.2f} MB/s"
                  f"  documents sent to ftfy: {sent[name]}")
        after, before = times["after (ftfy-derived scan)"], times["before (old scan)"]
        print(f"  after/before throughput: best {min(before) / min(after):.3f}, "
              f"median {statistics.median(before) / statistics.median(after):.3f}")
        if label == "damaged":
            print(f"  documents the old scan left broken and the new one repairs: {fixed}")
            sample = texts[: max(1, len(texts) // 20)]
            t0 = time.perf_counter()
            for text in sample:
                ftfy.fix_text(text)
            ftfy_s = time.perf_counter() - t0
            print(f"  ftfy.fix_text on every document (1/20 sample): "
                  f"{sum(len(t.encode()) for t in sample) / 1e6 / ftfy_s:.2f} MB/s")


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
    ap.add_argument("--repeats", type=int, default=7, help="timings of the repair stage alone")
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus", help="folder of *.txt.gz books")
    ap.add_argument("--repair-only", action="store_true", help="skip the full pipeline run")
    args = ap.parse_args()
    print("(timings on a shared machine: compare the ratios within one run, not absolute MB/s)")
    bench_repair(args.corpus, args.repeats)
    if args.repair_only:
        return
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
