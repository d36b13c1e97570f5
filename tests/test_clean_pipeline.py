"""The default cleaning list end to end: the embedded books, the dev web pages, the CLI."""

from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq
import yaml
from click.testing import CliRunner

from helpers import FIXTURES
from helpers.clean import prose, run_stage
from corpuskit.cli import cli
from corpuskit.document import Document
from corpuskit.pipeline import load_pipeline
from corpuskit.presets import preset_stages
from corpuskit.runner import run_pipeline
from corpuskit.stages import build_stage
from corpuskit.stages.filters import STAGES as FILTERS
from corpuskit.stages.formatters import STAGES as FORMATTERS

CC = FIXTURES / "cc"
STAGES = {**FORMATTERS, **FILTERS}  # the cleaning and quality stages


def _clean_specs(cfg):
    return [s for s in cfg.stages if s.type in STAGES]


def test_default_pipeline_opens_with_the_clean_stages(repo):
    """`corpuskit clean` runs what the default pipeline runs before de-duplication."""
    default = yaml.safe_load((repo / "pipelines" / "default.yaml").read_text(encoding="utf-8"))
    clean = yaml.safe_load((repo / "pipelines" / "clean.yaml").read_text(encoding="utf-8"))
    assert clean["stages"] == [s for s in default["stages"] if next(iter(s)) in STAGES]


def test_embedded_books_are_kept(repo, tmp_path):
    """Classic prose is not junk: at least 99.7% of the default reader's documents survive."""
    cfg = load_pipeline(repo / "pipelines" / "default.yaml", {"output": str(tmp_path / "out")})
    cfg.stages = _clean_specs(cfg)
    cfg.tokenizer = cfg.shards = None
    run_pipeline(cfg, workers=2, quiet=True)
    summary = json.loads((tmp_path / "out" / "stats.json").read_text())
    kept = summary["documents_out"] / summary["documents_in"]
    assert summary["documents_in"] > 5000
    assert kept >= 0.997, summary["stages"]
    # Tiny Shakespeare (short verse lines, speaker labels) is the hardest case for line rules.
    rejected = pq.read_table(tmp_path / "out" / "rejected").to_pylist()
    shakespeare = [r for r in rejected if "tinyshakespeare" in r["source"]]
    assert len(shakespeare) < 0.03 * 560, [r["reason"] for r in shakespeare]


def _pages():
    docs = []
    for path in sorted(CC.glob("dolma_*.jsonl.gz")):
        for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
            rec = json.loads(line)
            docs.append(Document(text=rec["text"], id=rec["id"]))
    return docs


def _clean_texts(docs):
    stages = [build_stage(*next(iter(e.items()))) for e in preset_stages("clean")]
    dropped = {}
    for st in stages:
        st.reject = lambda doc, reason, name, **kw: dropped.__setitem__(doc.id, reason)
    stream = iter(docs)
    for st in stages:
        stream = st(stream)
    return {d.id: d.text for d in stream}, dropped


def test_dev_pages_lose_navigation_and_keep_content():
    pages = _pages()
    before = {d.id: d.text for d in pages}
    after, dropped = _clean_texts(pages)
    assert len(after) >= 25  # of 30 pages; the rest are dropped with a reason
    assert set(after) | set(dropped) == set(before)
    blog = "http://advocatesaz.org/tag/good-cholesterol/"
    for nav in ["PPAA Home", "About Our Blog", "Become a Volunteer", "Receive Care"]:
        assert nav + "\n" in before[blog] and nav not in after[blog]
    assert "It’s National Cholesterol Education Month." in after[blog]
    assert "June 2016 (6)" not in after[blog]  # the archive widget line
    search = "http://bufvc.ac.uk/allbufvc/search.php?q=Discussion&sort=relevance"
    if search in after:
        assert "Skip to:[Main Navigation | Page Content]" not in after[search]
    court = "http://claihr.ca/2015/02/12/2014-year-review-canadas-top-court-rejects-torture-tort/"
    assert after[court].startswith("2014 Year in Review: Canada’s Top Court Rejects Torture as Tort")
    assert "Toronto, ON | email:" not in after[court]


def test_cookie_banner_on_a_real_page_is_removed():
    page = next(d for d in _pages() if d.id.startswith("http://claihr.ca/"))
    banner = ["We use cookies to give you the best experience. Accept all cookies",
              "By continuing you agree to our Privacy Policy and Terms of Service",
              "Please enable JavaScript in your browser to use this site."]
    doc = Document(text="\n".join(banner[:1] + [page.text] + banner[1:]), id=page.id)
    after, _ = _clean_texts([doc])
    for line in banner:
        assert line not in after[page.id]
    assert "Kazemi Estate v Islamic Republic of Iran" in after[page.id]


def test_clean_command_keeps_ids_and_writes_reasons(tmp_path):
    inp = tmp_path / "in.jsonl"
    good = " ".join(["The farmer walked to the market with his daughter, and they sold the eggs."] * 1)
    para = prose(150)
    records = [{"id": "good-1", "text": para}, {"id": "short-1", "text": good},
               {"id": "french-1", "text": "Le fermier est allé au marché avec sa fille. " * 12}]
    inp.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["clean", str(inp), str(out), "-q", "--workers", "1", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    kept = [json.loads(l) for l in (out / "part-00000.jsonl").read_text().splitlines()]
    assert [r["id"] for r in kept] == ["good-1"]
    rejected = {}
    for path in (out / "rejected").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            rejected[r["id"]] = r["reason"]
    # French text meets Gopher's English stop-word rule before the language filter
    assert rejected == {"short-1": "c4_too_few_sentences", "french-1": "gopher_stop_words"}


def test_clean_is_deterministic_across_worker_counts(tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    for path in CC.glob("dolma_*.jsonl.gz"):
        (folder / path.name).write_bytes(path.read_bytes())
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        res = CliRunner().invoke(cli, ["clean", str(folder), str(out), "-q", "--workers", str(workers)])
        assert res.exit_code == 0, res.output
        outputs.append(sorted((p.name, p.read_bytes()) for p in out.glob("part-*")))
    assert outputs[0] == outputs[1]


def test_custom_config_file_replaces_the_stages(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a", "text": "Home\nAbout\nContact\nShort text."}) + "\n")
    config = tmp_path / "clean.yaml"
    config.write_text("stages:\n  - repair: {lowercase: true}\n  - boilerplate: {}\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["clean", str(inp), str(out), "-q", "-c", str(config), "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "part-00000.jsonl").read_text())["text"] == "short text."


def test_stage_names_are_registered():
    for name in ("repair", "emoji", "boilerplate", "pii", "gopher_quality", "gopher_repetition",
                 "c4_quality", "fineweb_quality", "language_filter"):
        assert name in STAGES
        kept, _ = run_stage(build_stage(name, {}), [])
        assert kept == []


def test_clean_picks_web_for_records_and_books_for_text(tmp_path):
    from corpuskit.presets import clean_preset

    (tmp_path / "pages.jsonl").write_text(json.dumps({"id": "a", "text": "x"}) + "\n")
    (tmp_path / "book.txt").write_text("x\n")
    assert clean_preset(str(tmp_path / "pages.jsonl")) == "web"
    assert clean_preset(str(tmp_path / "book.txt")) == "clean"
    assert clean_preset(str(tmp_path)) == "web"  # a folder holding any record file
    web = [next(iter(e)) for e in preset_stages("web")]
    assert web == [next(iter(e)) for e in preset_stages("clean")]  # same stages, other thresholds
