"""Build the shipped quality model (corpuskit/models/quality/) from named data, byte for byte.

    python scripts/build_quality_model.py [QUALITY_DIR] [--dev FILE] [--out DIR]

QUALITY_DIR defaults to `shared/corpora/quality` next to the repository (its MANIFEST.md names
every document's origin and licence); each file is checked against the sha256 listed there
(`DATA` below), so a different copy is refused instead of silently giving another model.
Trained on OpenStax textbook passages (label 1) against C4 and HPLT v2 crawl (label 0); the
GPTeacher answers are left out (synthetic LLM text; leaving them out did not lower dev
ROC-AUC, docs/QUALITY.md). The DCLM dev pages (`--dev`) are never trained on: they only give
the card its dev figures and its default threshold (the best balanced accuracy on them).

Deterministic (corpuskit.classify.train): the same files give the same `weights.npz` and
`card.json`; tests/stages/quality/test_shipped.py rebuilds them and compares the bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"
sys.path.insert(0, str(REPO))

from corpuskit.stages.quality.data import read_rows  # noqa: E402
from corpuskit.stages.quality.model import DEFAULT_MODEL  # noqa: E402
from corpuskit.stages.quality.train import TrainOptions, train_quality  # noqa: E402

# file -> (label, sha256 from shared/corpora/quality/MANIFEST.md, licence)
DATA = {
    "positives_openstax.jsonl.gz": (1, "8d247ef6311e1efc4681f6cbd62241b471c591dc943dc96f8ca1dd0435e7faa5",
                                    "CC BY 4.0, OpenStax (Rice University)"),
    "negatives_c4.jsonl.gz": (0, "2db5959ba2e252682d1e0728f3d4e2f96f64394ca5fa2d7de451cc0ee1cd4388",
                              "ODC-BY 1.0 (C4, AllenAI; Common Crawl terms)"),
    "negatives_hplt.jsonl.gz": (0, "d44ab991d8fb2ee8e3f96cccbdd77183ca9666a54f4c13d05249af1645971ad5",
                                "CC0 packaging (HPLT v2); MIT sample repository"),
}
DEV = "dclm_quality_dev.jsonl"
# chosen on the dev pages (docs/QUALITY.md): 2**16 slots did as well as 2**18 at a quarter of the size;
# the first 2,000 characters did as well as 4,000 or 8,000 and better than 1,000
OPTIONS = dict(n_buckets=1 << 16, max_chars=2000, steps=200, ngram_l2=1e-2, stats_l2=1e-3)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("quality_dir", nargs="?", default=str(SHARED / "quality"))
    ap.add_argument("--dev", default=str(SHARED / "dev" / DEV), help="DCLM dev pages: threshold and dev figures only.")
    ap.add_argument("--out", default=str(DEFAULT_MODEL))
    args = ap.parse_args(argv)
    rows, notes = [], []
    for name, (label, digest, licence) in DATA.items():
        path = Path(args.quality_dir) / name
        if not path.is_file() or sha256(path) != digest:
            print(f"error: {path}: missing, or not the file MANIFEST.md names (sha256 {digest})", file=sys.stderr)
            return 2
        got = read_rows(path, label)
        rows += got
        notes.append({"file": name, "sha256": digest, "documents": len(got), "label": label, "licence": licence})
    dev = read_rows(args.dev)
    notes.append({"dev": DEV, "sha256": sha256(Path(args.dev)), "documents": len(dev),
                  "use": "threshold and dev figures only; never trained on"})
    print(f"{len(rows)} training documents, {len(dev)} dev pages", file=sys.stderr)
    card = train_quality(rows, dev, args.out, TrainOptions(**OPTIONS, notes={"inputs": notes}))
    m = card["dev"]
    print(f"wrote {args.out}: dev ROC-AUC {m['roc_auc']}, threshold {m['threshold']} "
          f"(precision {m['precision']}, recall {m['recall']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
