"""Rebuild corpuskit/ablation/heldout/*.txt.gz, the held-out text `corpuskit ablate` scores every
variant on, byte for byte from ../shared/corpora (sources and licences: heldout/README.md).

    python scripts/build_heldout.py [--shared ../shared/corpora]

books:    two Gutenberg novels (pg2701 Moby-Dick, pg345 Dracula), 60,000 characters from the middle
          of each body (the licence header and footer cut off); they are in corpuskit's embedded
          corpus, so an ablation on those books must leave them out (bench/bench_ablate.py does).
web:      the last 120,000 characters' worth of C4 pages of quality/negatives_c4.jsonl.gz (ids c4/0-949).
textbook: OpenStax Astronomy 2e passages (openstax/5009-5702), the last 120,000 characters' worth.
Documents are separated by a blank line. gzip with mtime 0 and no file name: the same bytes every time.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "corpuskit" / "ablation" / "heldout"
SIZE = 120_000


def body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    text = text.split("*** START", 1)[1].split("\n", 1)[1]
    return text.split("*** END", 1)[0]


def middle(text: str, size: int) -> str:
    at = len(text) // 2 - size // 2
    at = text.index("\n\n", at) + 2  # whole paragraphs
    end = text.rindex("\n\n", 0, at + size)
    return text[at:end].strip()


def tail_docs(path: Path, keep, size: int) -> str:
    rows = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()]
    docs, total = [], 0
    for row in reversed([r for r in rows if keep(r)]):
        if total >= size:
            break
        docs.append(row["text"].strip())
        total += len(docs[-1])
    return "\n\n".join(reversed(docs))


def write(name: str, text: str) -> None:
    data = (text.strip() + "\n").encode("utf-8")
    (OUT / f"{name}.txt.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{name}: {len(data):,} bytes of text")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "corpora")
    args = ap.parse_args()
    g = args.shared / "gutenberg"
    write("books", "\n\n".join(middle(body(g / f), SIZE // 2) for f in ("pg2701-moby-dick.txt", "pg345-dracula.txt")))
    write("web", tail_docs(args.shared / "quality" / "negatives_c4.jsonl.gz",
                           lambda r: int(r["id"].split("/")[1]) < 950, SIZE))
    write("textbook", tail_docs(args.shared / "quality" / "positives_openstax.jsonl.gz",
                                lambda r: int(r["id"].split("/")[1]) >= 5009, SIZE))


if __name__ == "__main__":
    main()
