"""The command line, driven through click's CliRunner."""

import inspect
import json
import re

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.layout import RunPaths


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


def _example_lines(cmd) -> list[str]:
    """The lines of the docstring's example block, as written."""
    lines = inspect.cleandoc(cmd.help).splitlines()
    block = lines[lines.index("Example:") + 1:]
    return [line.strip() for line in block if line.strip() and line.strip() != "\b"]


def test_every_example_is_shown_unwrapped():
    for name, cmd in [("", cli), *_commands(cli)]:
        assert "\b" in cmd.help, f"`corpuskit {name}`: no \\b before the example, so click rewraps it"
        output = CliRunner().invoke(cli, name.split() + ["--help"]).output
        examples = _example_lines(cmd)
        assert examples, name
        for line in examples:
            assert any(out.strip() == line for out in output.splitlines()), f"`corpuskit {name} --help` wraps {line!r}"


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


def test_a_stage_that_raises_on_every_document_stops_the_run(prose_dir, tmp_path, monkeypatch):
    """A ValueError from stage code on one document drops that document as `stage_error` (#33);
    on every document the stage is broken, and the run stops with a message naming it and the error."""
    from corpuskit.stages.formatters.repair import Normalize

    def broken(self, text):
        raise ValueError("a bug in a stage")

    monkeypatch.setattr(Normalize, "map", broken)
    config = tmp_path / "clean.yaml"
    config.write_text("stages:\n  - normalize: {}\n")
    result = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "o"), "-w", "1", "-q", "-c", str(config)])
    assert result.exit_code == 1, result.output
    assert "stage 'normalize' raised an error on each of its 3 documents" in result.output
    assert ": ValueError: a bug in a stage)" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("text, message", [
    ("stages: [unclosed\n", "clean.yaml: invalid YAML"),
    ("- normalize: {}\n", "clean.yaml: expected a mapping with 'stages' and/or 'reader'"),
    ("stages:\n  - normalize: {form: 5}\n", "clean.yaml: stages[0].normalize"),
    ("stages:\n  - normalize: {form: NFX}\n", "stage 'normalize': parameter 'form': must be one of 'NFC', 'NFKC', 'none'"),
])
def test_clean_config_file_errors_are_one_line(prose_dir, tmp_path, text, message):
    config = tmp_path / "clean.yaml"
    config.write_text(text)
    result = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "o"), "-q", "-c", str(config)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert "Traceback" not in result.output


def test_the_clean_and_dedup_presets_are_pipelines_too(repo, prose_dir, tmp_path):
    """pipelines/clean.yaml and dedup.yaml run with `corpuskit run` as they run behind their commands."""
    outputs = {}
    for args in (["run", str(repo / "pipelines" / "dedup.yaml"), "--input", str(prose_dir), "--output"],
                 ["dedup", str(prose_dir)]):
        out = tmp_path / args[0]
        result = CliRunner().invoke(cli, args + [str(out), "-w", "1", "-q"])
        assert result.exit_code == 0, result.output
        outputs[args[0]] = RunPaths(out).fingerprint()
    assert outputs["run"] == outputs["dedup"] is not None
