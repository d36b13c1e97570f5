"""Benchmark: do our quality rules keep and drop the same documents as datatrove's?

Runs datatrove's GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter and
FineWebQualityFilter (published thresholds; `pip install datatrove spacy` in the bench
environment only: corpuskit never imports them) and ours, with the published thresholds,
on the same documents: the dev Common Crawl pages and generated web-like pages made from
them (paragraphs mixed across pages, plus the junk the rules exist for: menus, repeated
lines, lists, hashtags, ellipses, code, very short pages), and on the embedded books.
Every document is first put through our `repair` stage, as in a pipeline.

Prints, per rule, how often the keep/drop decisions agree and the first disagreements;
then the same for the whole default cleaning list (`pipelines/clean.yaml`) and for the
web and books lists against datatrove's four filters in a row.

    python bench/bench_quality_agreement.py [--dev ../shared/corpora/dev] [--pages 2000] [--show 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

from corpuskit.document import Document
from corpuskit.presets import pipelines_dir, read_yaml_mapping
from corpuskit.stages import build_stage
from corpuskit.stages.filters.c4 import C4Quality
from corpuskit.stages.filters.fineweb import FineWebQuality
from corpuskit.stages.filters.gopher import GopherQuality, GopherRepetition
from corpuskit.stages.formatters.boilerplate import Boilerplate
from corpuskit.stages.formatters.repair import Repair

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from _shared import CORPORA, need, need_module  # noqa: E402

DEV = CORPORA / "dev"

_JUNK_LINES = ["Home", "About us", "Contact", "Blog", "Shop", "Login", "Sign up", "Privacy", "FAQ", "Careers"]
_TAGS = "#news #travel #food #love #instagood #photooftheday #fashion #beautiful #happy #cute"


def dev_pages(dev: Path) -> list[tuple[str, str]]:
    pages = []
    for path in sorted(dev.glob("dolma_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            pages.append((rec["id"], rec["text"]))
    return pages


def generated_pages(pages: list[tuple[str, str]], n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Web-like pages: real paragraphs recombined, some with one kind of junk added."""
    rng = random.Random(seed)
    paragraphs = [p for _, text in pages for p in text.split("\n") if p.strip()]
    out = []
    for i in range(n):
        body = rng.sample(paragraphs, rng.randint(1, 12))
        kind = rng.choice(["plain", "plain", "menu", "repeat", "list", "tags", "ellipsis", "code",
                           "short_lines", "dup_para", "no_punct", "lorem"])
        if kind == "menu":
            k = rng.randint(2, 10)
            body = rng.sample(_JUNK_LINES, k) + body + rng.sample(_JUNK_LINES, rng.randint(0, k))
        elif kind == "repeat":
            line = rng.choice(paragraphs)
            for _ in range(rng.randint(1, 6)):
                body.insert(rng.randrange(len(body) + 1), line)
        elif kind == "list":
            words = " ".join(body).split()
            body = ["- " + " ".join(words[j:j + rng.randint(1, 6)]) for j in range(0, min(len(words), 400), 4)]
        elif kind == "tags":
            body.append(" ".join(rng.sample(_TAGS.split(), rng.randint(2, 10))))
        elif kind == "ellipsis":
            body = [p[: rng.randint(20, max(21, len(p)))].rstrip() + "..." if rng.random() < 0.5 else p for p in body]
        elif kind == "code":
            body.insert(rng.randrange(len(body) + 1), "function f(x) { return x + 1; }")
        elif kind == "short_lines":
            words = " ".join(body).split()
            body = [" ".join(words[j:j + rng.randint(2, 5)]) for j in range(0, len(words), 4)]
        elif kind == "dup_para":
            body = body + body[: rng.randint(1, len(body))]
        elif kind == "no_punct":
            body = [p.rstrip(".!?\"'”’") for p in body]
        elif kind == "lorem":
            body.append("Lorem ipsum dolor sit amet, consectetur adipiscing elit.")
        sep = "\n\n" if rng.random() < 0.3 else "\n"
        out.append((f"gen-{i:05d}-{kind}", sep.join(body)))
    return out


def book_docs(corpus: Path, every: int = 4) -> list[tuple[str, str]]:
    """Every `every`-th ~2,000-character paragraph group of the embedded books, as the default reader cuts them."""
    from corpuskit.readers.text import paragraph_groups, strip_gutenberg  # the reader's own cutting

    docs = []
    for path in sorted(corpus.glob("*.txt.gz")):
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        text = strip_gutenberg(text) or text
        for j, chunk in enumerate(paragraph_groups(text, 2000)):
            if j % every == 0:
                docs.append((f"{path.name}#{j}", chunk))
    return docs


def _ours(stages):
    """A decision function: 'kept' or the first drop reason, through a chain of our stages."""
    def decide(text: str) -> str:
        for st in stages:
            if hasattr(st, "filter"):
                verdict = st.filter(Document(text=text, id="x"))
                if verdict is not True:
                    return verdict[1] if isinstance(verdict, tuple) else "dropped"
            else:
                text = st.map(text)
                if not text.strip():
                    return "empty"
        return "kept"
    return decide


def _theirs(filters):
    from datatrove.data import Document as DTDocument

    def decide(text: str) -> str:
        doc = DTDocument(text=text, id="x")
        for f in filters:
            verdict = f.filter(doc)
            if verdict is not True and not (isinstance(verdict, tuple) and verdict[0]):
                return verdict[1] if isinstance(verdict, tuple) else "dropped"
        return "kept"
    return decide


def compare(name: str, ours, theirs, docs: list[tuple[str, str]], show: int) -> float:
    agree, both_drop, only_ours, only_theirs, examples = 0, 0, 0, 0, []
    for doc_id, text in docs:
        a, b = ours(text), theirs(text)
        if (a == "kept") == (b == "kept"):
            agree += 1
            both_drop += a != "kept"
        else:
            only_ours += a != "kept"
            only_theirs += b != "kept"
            if len(examples) < show:
                examples.append((doc_id, a, b, text))
    pct = 100 * agree / len(docs)
    print(f"  {name:30s} {pct:6.2f}%  ({len(docs)} docs; both drop {both_drop}, "
          f"only we drop {only_ours}, only datatrove drops {only_theirs})")
    for doc_id, a, b, text in examples:
        snippet = text[:160].replace("\n", " | ")
        print(f"      {doc_id}: ours={a} datatrove={b}: {snippet!r}")
    return pct


def _yaml_filters(name: str) -> list:
    entries = read_yaml_mapping(pipelines_dir() / f"{name}.yaml").get("stages", [])
    stages = []
    for entry in entries:
        (kind, params), = entry.items()
        if kind not in ("repair", "emoji", "pii", "language_filter"):
            stages.append(build_stage(kind, params or {}))
    return stages


def _cache_datatrove_tokenizer() -> None:
    """Memoize spaCy tokenization inside datatrove's filters: every filter re-tokenizes the
    same text, and spaCy is most of this bench's time. Decisions are unchanged."""
    from functools import lru_cache

    import datatrove.pipeline.filters.c4_filters as c4
    import datatrove.pipeline.filters.fineweb_quality_filter as fw
    import datatrove.pipeline.filters.gopher_quality_filter as gq
    import datatrove.pipeline.filters.gopher_repetition_filter as gr

    for module, name in ((gq, "split_into_words"), (gr, "split_into_words"), (fw, "split_into_words"),
                         (c4, "split_into_sentences")):
        original = getattr(module, name)
        cached = lru_cache(maxsize=None)(lambda text, language="en", f=original: tuple(f(text, language)))
        setattr(module, name, lambda text, language="en", c=cached: list(c(text, language)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", type=Path, default=DEV, help="folder with the dolma_*.jsonl dev pages")
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus", help="folder of *.txt.gz books")
    ap.add_argument("--pages", type=int, default=2000, help="generated web-like pages")
    ap.add_argument("--show", type=int, default=3, help="disagreements shown per rule")
    args = ap.parse_args()
    need(args.dev, what="the dolma_*.jsonl dev pages; --dev DIR")
    need_module("datatrove", "pip install datatrove: the reference implementation, benchmark only")
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    _cache_datatrove_tokenizer()
    t0 = time.perf_counter()
    repair = Repair()
    real = dev_pages(args.dev)
    web = [(i, repair.map(t)) for i, t in real + generated_pages(real, args.pages)]
    books = [(i, repair.map(t)) for i, t in book_docs(args.corpus)]
    # C4's published rule removes lines first (no terminal punctuation, < 3 words, javascript,
    # policy, citations), then counts sentences: our boilerplate stage with C4's strict line
    # rules, then c4_quality.
    c4_lines = Boilerplate(navigation=False, numeric=False, min_words_per_line=3, require_terminal_punct=True)
    rules = [
        ("gopher_quality", [GopherQuality()], [GopherQualityFilter()]),
        ("gopher_repetition", [GopherRepetition()], [GopherRepetitionFilter()]),
        ("c4 (lines + c4_quality)", [c4_lines, C4Quality()], [C4QualityFilter()]),
        ("fineweb_quality", [FineWebQuality()], [FineWebQualityFilter()]),
    ]
    datatrove_chain = _theirs([GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()])
    for label, docs in (("web pages (30 dev + generated)", web), ("embedded books (every 4th document)", books)):
        print(f"\n{label}: {len(docs)} documents; per rule, published thresholds on both sides")
        for name, ours, theirs in rules:
            compare(name, _ours(ours), _theirs(theirs), docs, args.show)
        print("  whole lists against datatrove's four filters in a row:")
        for preset in ("clean", "web", "books"):
            if (pipelines_dir() / f"{preset}.yaml").exists():
                compare(f"pipelines/{preset}.yaml", _ours(_yaml_filters(preset)), datatrove_chain, docs, args.show)
        kept = {p: sum(_ours(_yaml_filters(p))(t) == "kept" for _, t in docs) / len(docs)
                for p in ("clean", "web", "books") if (pipelines_dir() / f"{p}.yaml").exists()}
        theirs_kept = sum(datatrove_chain(t) == "kept" for _, t in docs) / len(docs)
        print("  kept: " + ", ".join(f"{p} {100 * k:.1f}%" for p, k in kept.items()) + f", datatrove {100 * theirs_kept:.1f}%")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
