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


def test_clean_defaults_drop_non_prose_with_a_reason(prose_dir, tmp_path):
    # two-sentence paragraphs are prose: the book list asks one sentence of a document (#34)
    result = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "p"), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "break.txt").write_text("* * * * *\n", encoding="utf-8")
    (junk / "menu.txt").write_text("Home\nAbout us\nContact\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["clean", str(junk), str(tmp_path / "o"), "-w", "1", "-q"])
    assert result.exit_code == 1, result.output  # every document dropped: loud (#39)
    reasons = {r["reason"] for p in (tmp_path / "o" / "rejected").glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert reasons == {"c4_too_few_sentences", "empty"}  # no sentence at all; the menu's lines removed


def test_jsonl_format_option(prose_dir, tmp_path):
    result = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "o"), "--format", "jsonl", "-q", "-w", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "part-00000.jsonl").read_text().startswith('{"id":')


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


# -- #39: a stranger's first hour -------------------------------------------------------------


def test_a_run_that_keeps_nothing_exits_1_naming_the_reasons_and_keeps_its_outputs(tmp_path):
    """An input of only unsupported files exited 0 with "0 of 2 documents kept" and no warning."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "thesis.docx").write_bytes(b"PK\x03\x04")
    (raw / "paper.pdf").write_bytes(b"%PDF-1.4")
    for quiet in ([], ["-q"]):
        out = tmp_path / f"out{len(quiet)}"
        result = CliRunner().invoke(cli, ["clean", str(raw), str(out), "-w", "1", *quiet])
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == (f"warning: no document kept of 2 read (unsupported_format=2); "
                                                  f"the dropped documents are in {out / 'rejected'}")
        assert (out / "stats.json").is_file() and len(list((out / "rejected").glob("*.parquet"))) == 2
        assert "Traceback" not in result.output


def test_a_run_that_keeps_some_exits_0_without_a_warning(prose_dir, tmp_path):
    result = CliRunner().invoke(cli, ["dedup", str(prose_dir), str(tmp_path / "o"), "-w", "1"])
    assert result.exit_code == 0 and "warning" not in result.output, result.output


def test_clean_says_which_stage_list_it_runs_and_why(prose_dir, tmp_path):
    """It said pipelines/clean.yaml while record files silently got pipelines/web.yaml."""
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "crawl.jsonl").write_text(json.dumps({"text": "A page of text. " * 20}) + "\n")
    web = CliRunner().invoke(cli, ["clean", str(pages), str(tmp_path / "w"), "-w", "1"])
    assert web.stderr.splitlines()[0] == ("clean: stages of pipelines/web.yaml: record files (jsonl, e.g. crawl.jsonl) "
                                          "are read as web pages; --config FILE for other stages")
    books = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "b"), "-w", "1"])
    assert books.stderr.splitlines()[0].startswith("clean: stages of pipelines/clean.yaml: text files are read as books")
    config = tmp_path / "mine.yaml"
    config.write_text("stages:\n  - length_filter: {min_words: 1}\n")
    mine = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "m"), "-w", "1", "-c", str(config)])
    assert mine.stderr.splitlines()[0] == (f"clean: stages of {config} (its stages and reader replace "
                                           "pipelines/clean.yaml's)")
    quiet = CliRunner().invoke(cli, ["clean", str(prose_dir), str(tmp_path / "q"), "-w", "1", "-q", "-c", str(config)])
    assert quiet.exit_code == 0 and quiet.output == ""


def test_dedup_of_a_run_with_an_empty_part_file_counts_no_empty_file(prose_dir, tmp_path):
    """c.txt is a duplicate, so the first run's part-00002.parquet is empty: that is its outcome,
    not an `empty_file` reject of the second run."""
    first, second = tmp_path / "d1", tmp_path / "d2"
    assert CliRunner().invoke(cli, ["dedup", str(prose_dir), str(first), "-w", "1", "-q"]).exit_code == 0
    assert pq.read_table(first / "part-00002.parquet").num_rows == 0
    result = CliRunner().invoke(cli, ["dedup", str(first), str(second), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    read = json.loads((second / "stats.json").read_text())["stages"]["read"]
    assert read["docs_in"] == 2 and read["dropped"] == 0 and "dropped_empty_file" not in read


def test_toxicity_score_and_filter_use_the_same_document_score_and_say_which(tmp_path):
    """score printed the highest unit score (0.997) and filter compared the share of characters
    (0.013) for the same document, without saying so."""
    text = " ".join(["The garden was quiet in the long summer evening and the bees went home."] * 30
                    + ["You are a f*cking idiot."])
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "doc", "text": text}) + "\n")
    score = CliRunner().invoke(cli, ["toxicity", "score", str(src)])
    assert score.exit_code == 0, score.output
    scored = json.loads(score.stdout)["score"]
    annotate = CliRunner().invoke(cli, ["toxicity", "filter", str(src), str(tmp_path / "o"), "--action", "annotate",
                                        "-w", "1", "--format", "jsonl"])
    assert annotate.exit_code == 0, annotate.output
    meta = json.loads((tmp_path / "o" / "part-00000.jsonl").read_text())["metadata"]["toxicity"]
    assert scored == pytest.approx(meta["score"], abs=1e-4) == meta["char_fraction"] < 0.05 < meta["max"]
    said = "document score = char_fraction, the share of characters in units scoring >= 0.8"
    assert said in score.stderr
    drop = CliRunner().invoke(cli, ["toxicity", "filter", str(src), str(tmp_path / "d"), "-w", "1"])
    assert "toxicity filter: drops a document whose score >= 0.3; " + said in drop.stderr
    worst = CliRunner().invoke(cli, ["toxicity", "score", str(src), "--aggregate", "max"])
    assert json.loads(worst.stdout)["score"] > 0.9 and "document score = max, the highest unit score" in worst.stderr


def test_run_reads_a_jsonl_folder_with_glob_and_reader_overrides(tmp_path):
    """`corpuskit run PIPELINE --input DIR` failed on a JSONL folder: the reader's glob was only in the YAML."""
    pipe = tmp_path / "books.yaml"
    pipe.write_text("input: .\nreader: {glob: '*.txt.gz'}\nstages:\n  - exact_dedup: {}\n")
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.jsonl").write_text("".join(json.dumps({"content": f"page {i}"}) + "\n" for i in range(3)))
    base = ["run", str(pipe), "--input", str(pages), "-w", "1", "-q"]
    refused = CliRunner().invoke(cli, [*base, "--output", str(tmp_path / "o1")])
    assert refused.exit_code == 1
    assert refused.output.strip() == (f"Error: no input files under {pages} (glob '*.txt.gz'; the reader's glob "
                                      "setting: `corpuskit run --glob PATTERN` overrides it)")
    result = CliRunner().invoke(cli, [*base, "--glob", "*.jsonl", "--reader", "text_field=content",
                                      "--output", str(tmp_path / "o2")])
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "o2" / "part-00000.parquet")["text"].to_pylist() == ["page 0", "page 1", "page 2"]
    reader = json.loads((tmp_path / "o2" / "config.json").read_text())["config"]["reader"]
    assert reader == {"glob": "*.jsonl", "text_field": "content"}
    bad = CliRunner().invoke(cli, [*base, "--reader", "text_field", "--output", str(tmp_path / "o3")])
    assert bad.exit_code == 2 and "expected KEY=VALUE" in bad.output
