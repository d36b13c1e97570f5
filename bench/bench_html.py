"""Main-text extraction from HTML on the dev set: corpuskit's extractor beside trafilatura and resiliparse.

Pages: ../shared/corpora/dev/html (368 real pages: Mozilla Readability's test pages, the
WCXB benchmark's dev split, trafilatura's evaluation pages), scored with that folder's own
score.py (4-word shingle precision / recall / F1 against gold text where it exists, and the
share of must-contain snippets found / must-not-contain snippets absent).

The pages are cut in two by a seeded hash of their id: "tune" (where corpuskit's extraction
rules were chosen) and "check" (never looked at while tuning). Both are printed, and
"all" (the 368 pages together, as the dev set's MANIFEST reports its reference scores).

Time: one process, one page at a time (one core), the clock around the extraction only
(the page is read and gunzipped before; each extractor's imports and first call are
outside): mean and max ms per page, from the page's bytes to its text. The extractors take
turns page by page, so their times compare even on a busy machine; run it alone (and
`taskset -c 0`) for the absolute figures.

    python bench/bench_html.py [--split tune|check|all] [--extractors corpuskit,trafilatura]
                               [--per-page out.tsv]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import time

from _shared import CORPORA, need, shown

DEV = CORPORA / "dev" / "html"
SEED = "bench_html-2026"  # the tune / check cut: changing it would make every figure new


def half(page_id: str) -> str:
    """'tune' or 'check', by a stable hash of the id (about half each)."""
    return "tune" if hashlib.sha256(f"{SEED}:{page_id}".encode()).digest()[0] < 128 else "check"


def corpuskit_text(body: bytes) -> str:
    from corpuskit.readers.html import html_to_text

    return html_to_text(body)


def trafilatura_text(body: bytes) -> str:
    import trafilatura

    # Its documented call, with comments off (the dev set counts them as boilerplate) and tables on.
    return trafilatura.extract(body, include_comments=False, include_tables=True) or ""


def resiliparse_text(body: bytes) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return extract_plain_text(bytes_to_str(body, detect_encoding(body)), main_content=True)


EXTRACTORS = {"corpuskit": corpuskit_text, "trafilatura": trafilatura_text, "resiliparse": resiliparse_text}
MODULES = {"trafilatura": "trafilatura", "resiliparse": "resiliparse"}


def load_scorer():
    spec = importlib.util.spec_from_file_location("dev_html_score", DEV / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(fns: dict, pages) -> dict[str, tuple[dict, list[float]]]:
    """Each extractor's texts and times. The extractors take turns page by page, so a change in
    the machine's load (a shared machine) weighs on all of them alike."""
    for fn in fns.values():
        fn(pages[0][1])  # imports and first-call setup outside the clock
    out = {name: ({}, []) for name in fns}
    for pid, body in pages:
        for name, fn in fns.items():
            t0 = time.perf_counter()
            text = fn(body)
            out[name][1].append(time.perf_counter() - t0)
            out[name][0][pid] = text
    return out


def line(name: str, split: str, summary: dict, times: list[float]) -> str:
    sh, sn = summary["ALL"].get("shingle", {}), summary["ALL"].get("snippets", {})
    return (f"{name:<12} {split:<6} {len(times):>5} {sh.get('pages', 0):>5} {sh.get('precision', 0):7.3f} "
            f"{sh.get('recall', 0):7.3f} {sh.get('f1', 0):7.3f} {100 * sn.get('must_contain_found', 0):7.1f} "
            f"{100 * sn.get('must_not_contain_absent', 0):7.1f} {1000 * sum(times) / len(times):8.1f} "
            f"{1000 * max(times):8.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("tune", "check", "all"), default="all")
    ap.add_argument("--extractors", default=",".join(EXTRACTORS), help="comma-separated, of: " + ", ".join(EXTRACTORS))
    ap.add_argument("--per-page", metavar="TSV", help="write each page's scores here (for the first extractor)")
    args = ap.parse_args()
    need(DEV / "gold.jsonl", what="the HTML extraction dev set")
    score = load_scorer()
    rows = score.load_jsonl(str(DEV / "gold.jsonl"))
    names = [n.strip() for n in args.extractors.split(",") if n.strip()]
    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown:
        ap.error(f"unknown extractor(s) {', '.join(unknown)}; choose from {', '.join(EXTRACTORS)}")
    splits = ("tune", "check", "all") if args.split == "all" else (args.split,)
    pages = [(r["id"], score.read_page(str(DEV), r)) for r in rows]
    print(f"{len(pages)} pages from {shown(DEV)}, {sum(len(b) for _, b in pages) / 1e6:.1f} MB of HTML; "
          f"tune {sum(half(p) == 'tune' for p, _ in pages)}, check {sum(half(p) == 'check' for p, _ in pages)} "
          "(corpuskit's rules were chosen on tune)")
    print(f"{'extractor':<12} {'split':<6} {'pages':>5} {'gold':>5} {'P':>7} {'R':>7} {'F1':>7} "
          f"{'with%':>7} {'w/o%':>7} {'ms/page':>8} {'max ms':>8}")
    missing = [n for n in names if n in MODULES and importlib.util.find_spec(MODULES[n]) is None]
    for name in missing:
        print(f"{name:<12} skipped: not installed (pip install 'corpuskit[{name}]')")
    results = run({n: EXTRACTORS[n] for n in names if n not in missing}, pages)
    for name, (texts, times) in results.items():
        for split in splits:
            keep = [r for r in rows if split == "all" or half(r["id"]) == split]
            summary, per_page = score.evaluate(keep, texts)
            t = [dt for (pid, _), dt in zip(pages, times) if split == "all" or half(pid) == split]
            print(line(name, split, summary, t), flush=True)
            if args.per_page and name == names[0] and split != "all":
                dt = dict(zip((p for p, _ in pages), times))
                with open(args.per_page, "a" if split != splits[0] else "w", encoding="utf-8") as f:
                    for rec in per_page:
                        f.write(json.dumps({**rec, "split": split, "ms": round(1000 * dt[rec["id"]], 1)}) + "\n")


if __name__ == "__main__":
    main()
