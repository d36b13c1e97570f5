"""Held-out bits per byte of trained checkpoints, on books that are not in the training corpus.

    python bench/bench_train_heldout.py [runs/default runs/other ...] [--text FILE ...]

Each FILE (plain or .gz; UTF-8 with or without BOM, else Latin-1) is evaluated with the
checkpoint's own tokenizer (`trainer eval --text`), and the total is bits over bytes of all files.
The default texts are one edition each of Tom Sawyer, A Christmas Carol, Metamorphosis and
Dubliners from ../shared/corpora/dev/editions/docs (next to the repository), never used for
tuning the tokenizer or the data.
"""

import argparse
import gzip
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainer.evaluate import eval_checkpoint  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _shared import CORPORA, shown  # noqa: E402

EDITIONS = str(CORPORA / "dev" / "editions" / "docs")
BOOKS = ["tom-sawyer__74-0", "a-christmas-carol__19337-8", "metamorphosis__5200", "dubliners__2814-0"]


def read_book(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", default=["runs/default"],
                    help="checkpoint directories or run directories (newest checkpoint); default runs/default")
    ap.add_argument("--text", nargs="*", default=[os.path.join(EDITIONS, f"{b}.txt.gz") for b in BOOKS])
    args = ap.parse_args()
    missing = [p for p in args.checkpoints + args.text if not os.path.exists(p)]
    if missing:  # under `make bench` before `make train`, or without the shared corpora: nothing to measure
        print(f"skipped: needs {shown(missing[0])} (make train for runs/default; --text FILE ... for other texts)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for path in args.text:
            name = os.path.basename(path).split(".")[0]
            files.append((name, os.path.join(tmp, name + ".txt")))
            with open(files[-1][1], "w", encoding="utf-8") as f:
                f.write(read_book(path))
        for ckpt in args.checkpoints:
            bits = n_bytes = 0
            per_book = []
            for name, file in files:
                m = eval_checkpoint(ckpt, text=file, batch_size=32)
                bits += m["loss"] * m["tokens"] / math.log(2)
                n_bytes += m["bytes"]
                per_book.append(f"{name} {m['bits_per_byte']:.4f}")
            print(f"{ckpt}: held-out bits per byte {bits / n_bytes:.4f} over {n_bytes:,} bytes ({'; '.join(per_book)})",
                  flush=True)


if __name__ == "__main__":
    main()
