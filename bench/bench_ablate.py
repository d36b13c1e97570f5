"""Benchmark: an ablation that must show an effect. Clean book documents against the same
documents with 30% of them replaced by their own words shuffled (junk with the same words,
lengths and vocabulary, none of the order).

Data: the embedded books (corpus/pg*.txt.gz) cut into ~2,000-character documents at paragraph
breaks, leaving out the two novels the held-out "books" text comes from (pg2701, pg345).
Both variants are trained by `corpuskit ablate` with the same tokenizer, seeds and steps, and
scored on the shipped held-out books, web and textbook text. Printed: each variant's bits per
byte per domain and mean, the difference, the seed noise, the verdict, and the wall time.

    python bench/bench_ablate.py                 # 2 seeds, 2 layers x 128, 2.4M tokens a run (~7 min)
    python bench/bench_ablate.py --seeds 3 --tokens 4000000 --config trainer/configs/default.yaml
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELD_OUT_BOOKS = ("pg2701", "pg345")
SMALL = ("model.n_layer=2", "model.n_head=2", "model.n_embd=128", "batch_size=32", "model.block_size=128",
         "warmup_steps=20")


def documents() -> list[str]:
    docs = []
    for book in sorted((REPO / "corpus").glob("pg*.txt.gz")):
        if book.name.startswith(HELD_OUT_BOOKS):
            continue
        text = gzip.decompress(book.read_bytes()).decode("utf-8")
        text = text.split("*** START", 1)[-1].split("*** END", 1)[0]
        cur = ""
        for para in re.split(r"\n\s*\n", text):
            cur = f"{cur}\n\n{para.strip()}" if cur else para.strip()
            if len(cur) >= 2000:
                docs.append(cur)
                cur = ""
    return docs


def write(folder: Path, docs: list[str]) -> None:
    folder.mkdir(parents=True)
    (folder / "docs.jsonl").write_text("".join(json.dumps({"id": f"d{i}", "text": d}) + "\n"
                                               for i, d in enumerate(docs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=2_400_000)
    ap.add_argument("--config", help="trainer config (default: the trainer's default with a smaller model)")
    ap.add_argument("--junk", type=float, default=0.3)
    ap.add_argument("--keep", help="write the ablation here instead of a temporary folder")
    args = ap.parse_args()
    docs = documents()
    rng = random.Random(0)
    junk = []
    for d in docs:
        if rng.random() < args.junk:
            # the words shuffled, the whitespace left where it was: the same line breaks and
            # paragraphs, so that only word order differs (joining with spaces also changed the
            # layout, and the web and textbook text, which has no hard line wraps, then scored
            # better after the junk: 2.9485 vs 3.0253 on web)
            parts = re.split(r"(\s+)", d)
            words = parts[0::2]
            rng.shuffle(words)
            parts[0::2] = words
            d = "".join(parts)
        junk.append(d)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        write(base / "clean", docs)
        write(base / "junk", junk)
        cmd = [sys.executable, "-m", "corpuskit", "ablate", f"clean={base / 'clean'}", f"junk={base / 'junk'}",
               "--output", str(base / "ablation"), "--seeds", str(args.seeds), "--tokens", str(args.tokens),
               "--tasks", "none", "--quiet"]
        if args.config:
            cmd += ["--config", args.config]
        else:
            for kv in SMALL:
                cmd += ["--train-arg", kv]
        mb = sum(len(d.encode()) for d in docs) / 1e6
        print(f"bench_ablate: {len(docs)} documents ({mb:.1f} MB), {sum(a != b for a, b in zip(docs, junk))} "
              f"replaced by shuffled words in the junk variant; {args.seeds} seeds, {args.tokens:,} tokens a run")
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode:
            print(done.stdout + done.stderr)
            sys.exit(1)
        print(done.stdout.strip())
        result = json.loads((base / "ablation" / "ablation.json").read_text())
        for v in result["variants"]:
            per_seed = ", ".join(f"{s['heldout']['mean']:.4f}" for s in v["seeds"])
            print(f"  {v['name']}: mean {v['heldout']['mean']:.4f} (seeds: {per_seed}); {result['steps']} steps "
                  f"of {result['tokens_per_step']} tokens")
        for row in result["comparison"]:
            for metric, r in row["heldout"].items():
                print(f"  {row['variant']} - {row['baseline']}, {metric}: {r['difference']:+.4f} (seed noise "
                      f"{r['noise']}) {r['verdict']}")
        print(f"wall time of the ablation: {wall:.0f} s (2 variants x {args.seeds} seeds, tokenizer and shards "
              "included)")


if __name__ == "__main__":
    main()
