"""The command line, driven through click's CliRunner."""

import json
import re

import pyarrow.parquet as pq
from click.testing import CliRunner

from corpuskit.cli import cli


def _commands(group, prefix=""):
    for name, cmd in sorted(group.commands.items()):
        yield prefix + name, cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, prefix + name + " ")


def test_every_command_has_help_with_an_example_and_is_in_the_readme(repo):
    readme = (repo / "README.md").read_text()
    for name, cmd in _commands(cli):
        result = CliRunner().invoke(cli, name.split() + ["--help"])
        assert result.exit_code == 0, name
        if not hasattr(cmd, "commands"):
            assert "Example:" in result.output, f"`corpuskit {name} --help` has no example"
        assert f"corpuskit {name}" in readme, f"`corpuskit {name}` is not documented in README.md"


def test_run_command_with_overrides(repo, prose_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: nowhere-overridden\nstages:\n  - normalize: {}\n  - exact_dedup: {}\n")
    # The input override is applied before validation, so a placeholder input is fine.
    result = CliRunner().invoke(cli, ["run", str(pipeline), "--input", str(prose_dir),
                                      "--output", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "exact_dedup" in result.output and "2 of 3 documents kept" in result.output


def test_run_reports_pipeline_errors_cleanly(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"input: {tmp_path}\nstages:\n  - nope: {{}}\n")
    result = CliRunner().invoke(cli, ["run", str(pipeline), "-q"])
    assert result.exit_code != 0
    assert "unknown stage 'nope'" in result.output and "Traceback" not in result.output


def test_clean_then_dedup_then_stats(prose_dir, tmp_path):
    runner = CliRunner()
    cleaned, deduped = tmp_path / "cleaned", tmp_path / "deduped"
    config = tmp_path / "clean.yaml"
    config.write_text("stages:\n  - normalize: {}\n  - length_filter: {min_words: 3}\n")
    result = runner.invoke(cli, ["clean", str(prose_dir), str(cleaned), "-w", "1", "-q", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet prints nothing
    assert (cleaned / "stats.json").exists()
    result = runner.invoke(cli, ["dedup", str(cleaned), str(deduped), "-w", "1", "-q", "--exact-only"])
    assert result.exit_code == 0, result.output
    kept = [i for p in sorted(deduped.glob("part-*.parquet")) for i in pq.read_table(p)["id"].to_pylist()]
    assert kept == ["a.txt#0", "b.txt#0"]  # ids survive both steps
    rejected = pq.read_table(next((deduped / "rejected").glob("*.parquet"))).to_pylist()
    assert [(r["id"], r["reason"], r["duplicate_of"]) for r in rejected] == [("c.txt#0", "exact_duplicate", "a.txt#0")]
    result = runner.invoke(cli, ["stats", str(deduped)])
    assert result.exit_code == 0
    assert re.search(r"exact_dedup\s+3\s+2\s+1", result.output)
    assert "exact_duplicate=1" in result.output
    as_json = json.loads(runner.invoke(cli, ["stats", str(deduped), "--json"]).output)
    assert as_json["documents_out"] == 2


def test_clean_defaults_drop_short_documents_with_a_reason(prose_dir, tmp_path):
    result = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "o"), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    reasons = {r["reason"] for p in (tmp_path / "o" / "rejected").glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert reasons == {"c4_too_few_sentences"}  # two-sentence documents, under the default minimum of 3


def test_jsonl_format_option(prose_dir, tmp_path):
    result = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "o"), "--format", "jsonl", "-q", "-w", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "part-00000.jsonl").exists()


def test_stats_on_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(cli, ["stats", str(tmp_path)])
    assert result.exit_code != 0 and "not a finished corpuskit run" in result.output
