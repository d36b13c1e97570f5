"""Paragraph-level dedup: a site's menu repeated across its pages goes, the pages stay."""

import gzip
import json

import pytest

from corpuskit.pipeline import PipelineError
from helpers import FIXTURES
from helpers.dedup import kept_docs, rejected, run_stages, write_jsonl

MENU = ["Planned Parenthood Federation of America", "Commenting Policy", "Follow us on Twitter! Like us on Facebook! Subscribe to RSS!"]


def _pages(tmp_path):
    """The dev Common Crawl pages, split over two files (two units of work)."""
    recs = []
    for path in sorted((FIXTURES / "cc").glob("*.jsonl.gz")):
        recs += [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    half = len(recs) // 2
    write_jsonl(tmp_path / "in" / "a.jsonl", [(r["id"], r["text"]) for r in recs[:half]])
    write_jsonl(tmp_path / "in" / "b.jsonl", [(r["id"], r["text"]) for r in recs[half:]])
    return {r["id"]: r["text"] for r in recs}


def test_a_menu_repeated_on_one_sites_pages_is_removed_from_each(tmp_path):
    pages = _pages(tmp_path)
    site = [i for i, t in pages.items() if "PPAA Home" in t]
    assert len(site) == 2
    out = tmp_path / "out"
    stats = run_stages(tmp_path / "in", out, [{"paragraph_dedup": {"min_documents": 2}}], workers=2)
    kept = kept_docs(out)
    assert set(kept) == set(pages)  # no page lost
    for i in site:
        for line in MENU:
            assert line in pages[i] and line not in kept[i]
        assert len(kept[i]) > 200  # the article itself stays
    changed = {i for i in pages if kept[i] != pages[i]}
    assert changed == set(site)
    s = stats["paragraph_dedup"]
    assert s.counters["modified"] == 2 and s.counters["paragraphs_removed"] >= 2 * 30
    report = json.loads((out / "reports" / "paragraph_dedup.json").read_text())
    assert report["repeated"] == s.counters["paragraphs_removed"] // 2


def test_higher_threshold_keeps_everything_and_output_is_worker_independent(tmp_path):
    _pages(tmp_path)
    run_stages(tmp_path / "in", tmp_path / "o3", [{"paragraph_dedup": {"min_documents": 3}}])
    one = {p.name: p.read_bytes() for p in (tmp_path / "o3").glob("part-*")}
    run_stages(tmp_path / "in", tmp_path / "o3b", [{"paragraph_dedup": {"min_documents": 3}}], workers=2)
    assert one == {p.name: p.read_bytes() for p in (tmp_path / "o3b").glob("part-*")}


def test_a_document_made_only_of_repeated_paragraphs_is_dropped_with_its_reason(tmp_path):
    footer = "Copyright 2024 Example Corp. All rights reserved."
    body = "A paragraph of real content that appears only once in the corpus, line {}."
    write_jsonl(tmp_path / "in" / "x.jsonl", [(f"d{i}", f"{body.format(i)}\n\n{footer}") for i in range(3)]
                + [("only", footer)])
    out = tmp_path / "out"
    run_stages(tmp_path / "in", out, [{"paragraph_dedup": {"unit": "paragraph", "min_documents": 3}}])
    assert kept_docs(out) == {f"d{i}": body.format(i) for i in range(3)}
    assert rejected(out)["only"]["reason"] == "only_repeated_paragraphs"


def test_bad_parameters_are_refused_at_load(tmp_path):
    write_jsonl(tmp_path / "in" / "x.jsonl", [("a", "text")])
    for params, message in [({"unit": "sentence"}, "'unit': must be one of 'line', 'paragraph'"),
                            ({"min_documents": 1}, "'min_documents': must be >= 2"),
                            ({"min_chars": -1}, "'min_chars': must be >= 0")]:
        with pytest.raises(PipelineError, match=message):
            run_stages(tmp_path / "in", tmp_path / "o", [{"paragraph_dedup": params}])
