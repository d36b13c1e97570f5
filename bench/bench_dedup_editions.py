"""Benchmark: near-duplicate removal on real Project Gutenberg editions (dev set).

Data: `shared/corpora/dev/editions/` (26 files, 12 works, 8 clusters of 2-3 editions:
14 removable files), one document per file, decoded as its MANIFEST.md says (UTF-8 with
or without BOM, else Latin-1), headers and licences left in. Runs `corpuskit dedup` at
the default threshold and at `--threshold 0.6` and scores it by MANIFEST.md's rule:

    recall          removed duplicates / 14 (a removed file counts when another member
                    of its cluster is kept)
    false removals  a removed file with no kept cluster member, or whose duplicate_of
                    is in another cluster (Austen vs Austen, Dickens vs Dickens, ...)

This set is for development: the thresholds and the normalization were chosen on it, so
its figures are not held-out figures.

    python bench/bench_dedup_editions.py [--editions PATH]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from _shared import CORPORA, need  # noqa: E402

DEFAULT = CORPORA / "dev" / "editions"


def build_jsonl(editions: Path, out: Path) -> dict[str, str]:
    """One JSONL document per file; returns file -> cluster."""
    labels = {r["file"]: r["cluster"] for r in csv.DictReader((editions / "labels.csv").open())}
    with open(out, "w", encoding="utf-8") as fh:
        for p in sorted((editions / "docs").glob("*.gz")):
            raw = gzip.decompress(p.read_bytes())
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            fh.write(json.dumps({"id": p.name, "text": text}) + "\n")
    return labels


def score(out: Path, labels: dict[str, str]) -> dict:
    kept = set()
    for p in out.glob("part-*.jsonl"):
        kept |= {json.loads(line)["id"] for line in p.read_text(encoding="utf-8").splitlines()}
    removed = {}
    for p in (out / "rejected").glob("*.jsonl"):
        for line in p.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            removed[r["id"]] = r
    clusters: dict[str, list[str]] = {}
    for f, c in labels.items():
        clusters.setdefault(c, []).append(f)
    removable = sum(len(m) - 1 for m in clusters.values())
    good, false = 0, []
    for f, r in sorted(removed.items()):
        cluster_kept = any(m in kept for m in clusters[labels[f]] if m != f)
        if cluster_kept and labels.get(r.get("duplicate_of")) == labels[f]:
            good += 1
        else:
            false.append(f"{f} (duplicate_of {r.get('duplicate_of')})")
    missed = [f for c, m in clusters.items() if len(m) > 1 for f in m
              if f in kept and sum(x in kept for x in m) > 1]
    return {"removed": good, "removable": removable, "false": false, "kept_duplicates": missed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--editions", type=Path, default=DEFAULT)
    args = ap.parse_args()
    need(args.editions / "labels.csv", what="the editions dev set; --editions DIR")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        labels = build_jsonl(args.editions, tmp / "editions.jsonl")
        print(f"{'setting':<22} {'removed':>9} {'false':>6}  missed / false")
        for name, extra in [("default", []), ("--threshold 0.6", ["--threshold", "0.6"])]:
            out = tmp / name.replace(" ", "_")
            cmd = [sys.executable, "-m", "corpuskit", "dedup", str(tmp / "editions.jsonl"), str(out),
                   "--format", "jsonl", "--workers", "2", "--quiet", *extra]
            subprocess.run(cmd, check=True)
            s = score(out, labels)
            print(f"{name:<22} {s['removed']:>4} / {s['removable']:<3} {len(s['false']):>6}  "
                  f"{', '.join(s['kept_duplicates'] + s['false']) or '-'}")
        # The raw files through corpuskit's own text reader: one document per file, Gutenberg
        # headers kept, ISO-8859-1 files decoded by `encoding: auto` (before: quarantined).
        pipeline = tmp / "raw.yaml"
        pipeline.write_text(json.dumps({
            "input": str(args.editions / "docs"), "output": str(tmp / "raw"), "format": "jsonl",
            "reader": {"glob": "*.txt.gz", "text_mode": "file", "gutenberg": "off"},
            "stages": [{"exact_dedup": {}}, {"minhash_dedup": {}}]}))
        subprocess.run([sys.executable, "-m", "corpuskit", "run", str(pipeline), "--quiet", "--workers", "2"], check=True)
        for d in (tmp / "raw").glob("part-*.jsonl"):  # ids are FILE#0 here
            d.write_text(d.read_text(encoding="utf-8").replace('.txt.gz#0"', '.txt.gz"'), encoding="utf-8")
        for d in (tmp / "raw" / "rejected").glob("*.jsonl"):
            d.write_text(d.read_text(encoding="utf-8").replace('.txt.gz#0"', '.txt.gz"'), encoding="utf-8")
        stats = json.loads((tmp / "raw" / "stats.json").read_text())["stages"]["read"]
        s = score(tmp / "raw", labels)
        print(f"{'raw files, reader':<22} {s['removed']:>4} / {s['removable']:<3} {len(s['false']):>6}  "
              f"{', '.join(s['kept_duplicates'] + s['false']) or '-'}  "
              f"(decoded_as_latin-1: {stats.get('decoded_as_latin-1', 0)}, invalid_utf8: {stats.get('dropped_invalid_utf8', 0)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
