"""False drops on literature and web pages: books cut several ways, and the dev Common Crawl pages.

    python bench/bench_toxicity_books.py [--scorer classifier ensemble cascade] [--editions DIR] [--web DIR]

Every book of `corpus/` (the embedded books) and, when present, every file of
`shared/corpora/dev/editions/docs` (other Project Gutenberg editions; four of their works
are not among the embedded books) is read with Gutenberg headers stripped and cut into
documents: single paragraphs; paragraph groups of about 500, 1,000, 2,000 and 4,000
characters (the reader's `target_chars`); whole chapters (split before lines starting
`CHAPTER`, `Chapter`, `STAVE`, `BOOK` or a roman numeral heading; a book with none is one
document; pieces under 200 characters, table-of-contents lines, are left out). Each
document is scored by the `toxicity` stage with the pipeline's parameters
and the scorer named, and the share dropped is printed. For the dev web pages, every page
the scorer drops is printed with its worst sentence, so a reader can judge whether it
contains abuse.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from _shared import CORPORA  # noqa: E402

SHARED = CORPORA / "dev"
sys.path.insert(0, str(REPO))

from corpuskit.readers import list_sources, read_source  # noqa: E402
from corpuskit.readers.base import ReaderConfig  # noqa: E402
from corpuskit.stages.toxicity.stage import ToxicityFilter  # noqa: E402

CUTS = ("paragraph", 500, 1000, 2000, 4000, "chapter")
_CHAPTER = re.compile(r"\n(?=(?:CHAPTER|Chapter|STAVE|Stave|BOOK|Book)\b|[IVXLC]+\.\s*\n)")


def books(folder: Path, glob: str, cut) -> list[str]:
    """The documents of every book under `folder`, cut as `cut` says."""
    mode = "file" if cut == "chapter" else "paragraphs"
    cfg = ReaderConfig(glob=glob, text_mode=mode, target_chars=1 if cut == "paragraph" else
                       (cut if isinstance(cut, int) else 2000), gutenberg="auto")
    docs = [d.text for s in list_sources(folder, glob) for d in read_source(s, cfg, lambda *a, **k: None)]
    if cut == "chapter":
        # a "chapter" under 200 characters is a line of the table of contents, not a chapter
        docs = [c for text in docs for c in _CHAPTER.split(text) if len(c.strip()) >= 200]
    return docs


def stage_params() -> dict:
    from corpuskit.pipeline import load_pipeline

    cfg = load_pipeline(REPO / "pipelines" / "default.yaml")
    return dict(next(s.params for s in cfg.stages if s.type == "toxicity"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scorer", nargs="+", default=["classifier", "ensemble", "cascade"])
    ap.add_argument("--editions", default=str(SHARED / "editions" / "docs"))
    ap.add_argument("--web", default=str(SHARED))
    ap.add_argument("--threshold", type=float, nargs="*", default=[],
                    help="Unit thresholds to try instead of the pipeline's "
                    "(tuning: the books and the editions are dev data).")
    args = ap.parse_args(argv)
    import os

    os.chdir(REPO)  # the pipeline's input path is relative to the repository
    base = stage_params()
    sets = [("embedded books", REPO / "corpus", "*.txt.gz")]
    if Path(args.editions).is_dir():
        sets.append(("dev editions", Path(args.editions), "*.txt.gz"))
    runs = [(s, {**base, "scorer": s, **({"threshold": t} if t is not None else {})})
            for s in args.scorer for t in (args.threshold or [None])]
    for scorer, params in runs:
        stage = ToxicityFilter(**params)
        print(f"scorer {scorer} ({', '.join(f'{k}={v}' for k, v in sorted(params.items()))})")
        for label, folder, glob in sets:
            for cut in CUTS:
                docs = books(folder, glob, cut)
                scores = [r for a in range(0, len(docs), 256) for r in stage.score_many(docs[a:a + 256])]
                dropped = [d for d, r in zip(docs, scores) if r.value(stage.aggregate) >= stage.doc_threshold]
                print(f"  {label:15s} cut {str(cut):9s}: {len(dropped):4d} of {len(docs):6d} dropped "
                      f"({100 * len(dropped) / len(docs):.2f}%)")
                for d in dropped[:3]:
                    print(f"      e.g. {d[:160]!r}")
        web = sorted(Path(args.web).glob("dolma_*.jsonl")) if Path(args.web).is_dir() and not args.threshold else []
        pages = [json.loads(line) for f in web for line in f.open(encoding="utf-8") if line.strip()]
        if pages:
            n_drop = 0
            for p in pages:
                res = stage.score(p["text"])
                if res.value(stage.aggregate) >= stage.doc_threshold:
                    n_drop += 1
                    worst = max(zip(res.scores, res.spans))[1]
                    print(f"      web drop {p['id'][:70]}: {p['text'][worst[0]:worst[1]][:120]!r}")
            print(f"  dev web pages: {n_drop} of {len(pages)} dropped ({100 * n_drop / len(pages):.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
