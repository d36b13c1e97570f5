"""`corpuskit report`: the page of a small real run, its escaping, no external URL, the
deterministic examples, and training runs overlaid."""

import json
import re

import pytest
from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.report import render_report, write_report

SCRIPT = "<script>alert(1)</script>"  # in a rejected document of the `runs` fixture (conftest.py)


@pytest.fixture(scope="module")
def html(runs):
    return render_report(runs[0])


def test_funnel_has_the_numbers_of_stats_json(runs, html):
    stats = json.loads((runs[0] / "stats.json").read_text())
    for name, s in stats["stages"].items():
        row = f'<td class="s">{name}</td><td>{s["docs_in"]:,}</td><td>{s["docs_out"]:,}</td><td>{s["dropped"]:,}</td>'
        assert row in html, name
    assert stats["stages"]["length_filter"]["dropped_too_short"] >= 2
    assert 'class="reason">too_short</span> ' in html
    assert 'class="reason">exact_duplicate</span>' in html


def test_a_rejected_script_is_escaped(html):
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()


def test_no_external_urls(html):
    assert not re.search(r"""(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_examples_near_duplicate_pair_and_sections(runs, html):
    profile = json.loads((runs[0] / "stats.json").read_text())["profile"]
    dup = profile["minhash_dedup"]["examples"]["minhash_duplicate"][0]
    assert dup["duplicate_of"] and dup["detail"].startswith("estimated_jaccard=")
    assert "near-duplicate pairs: kept and removed" in html
    for chart in ("funnel", "chars", "words", "clusters", "tokens", "shard_docs", "timings"):
        assert f'data-chart="{chart}"' in html, chart
    manifest = json.loads((runs[0] / "shards" / "manifest.json").read_text())
    for split in manifest["splits"].values():
        for shard in split["shards"]:
            assert shard["sha256"] in html


def test_reservoir_is_the_same_for_one_and_two_workers(runs):
    one, two = (json.loads((r / "stats.json").read_text()) for r in runs)
    assert one["profile"] == two["profile"]
    assert one["profile"]["read"]["hists"]["out:words"]["n"] == one["documents_in"]


def test_stats_json_stages_keep_their_shape(runs):
    stages = json.loads((runs[0] / "stats.json").read_text())["stages"]
    assert all("profile" not in s and "hists" not in s for s in stages.values())
    result = CliRunner().invoke(cli, ["stats", str(runs[0])])
    assert result.exit_code == 0 and "length_filter" in result.output


def test_command_writes_the_report_into_the_run_folder(runs):
    result = CliRunner().invoke(cli, ["report", str(runs[0])])
    assert result.exit_code == 0, result.output
    assert (runs[0] / "report.html").is_file()
    assert str(runs[0] / "report.html") in result.output


def test_not_a_run_is_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 1 and "not a finished corpuskit run" in result.output


def test_train_overlays_two_real_runs(runs, tmp_path):
    from trainer.config import load_config
    from trainer.train import train

    tiny = ["model.n_layer=1", "model.n_head=2", "model.n_embd=16", "model.block_size=16", "batch_size=4",
            "warmup_steps=2", "max_steps=8", "log_interval=1", "progress=false", "plot=false",
            "sample_tokens=0", "eval_interval=4", f"data={runs[0] / 'shards'}"]
    outs = []
    book = tmp_path / "book.txt"
    book.write_text("The cat sat on the mat.\n" * 20)
    for name, lr, tasks in (("small-lr", "1e-3", ""), ("big-lr", "1e-2", "copa")):
        train(load_config(None, tiny + [f"out={tmp_path / name}", f"lr={lr}", f"eval_tasks={tasks}",
                                        f"heldout={book if tasks else ''}"]))
        outs.append(tmp_path / name)
    path = write_report(runs[0], tmp_path / "r.html", outs)
    page = path.read_text()
    for chart in ("train_loss", "val_loss", "bpb", "lr", "tok_s"):
        assert f'data-chart="{chart}"' in page, chart
    assert page.count("<polyline") >= 10  # five charts, two runs each
    for name in ("small-lr", "big-lr"):
        rows = [json.loads(x) for x in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        assert f"{[r for r in rows if 'val_loss' in r][-1]['val_loss']:.4f}" in page
        assert f"<td class=\"s\">{name}</td>" in page
    copa = rows[-1]["tasks"]["copa"]  # big-lr's downstream row: one table row, small-lr scored none
    assert "<h3>held-out text and downstream tasks</h3>" in page and page.count("n=100</td>") == 1
    assert "held-out book bits/byte" in page and f"{rows[-1]['heldout']['book']:.4f}" in page
    assert f"{copa['accuracy']:.3f} ({copa['centered']:+.3f}), n=100" in page


def test_a_folder_that_is_no_run_keeps_its_report_html(runs, tmp_path):
    """A folder with a `stats.json` is no run without corpuskit's marker: its report.html was overwritten."""
    (tmp_path / "stats.json").write_bytes((runs[0] / "stats.json").read_bytes())
    (tmp_path / "report.html").write_text("<p>mine</p>")
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{tmp_path} is not a finished corpuskit run (no .corpuskit-run: not a run folder)" in result.output
    assert (tmp_path / "report.html").read_text() == "<p>mine</p>"
