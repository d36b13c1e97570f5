"""The command-line habits users bring: -h, --version, - for stdin and stdout, --key=value,
--print-config, --verbose, progress bars only on a terminal; and a README that matches the commands."""

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from corpuskit.cli import cli
from helpers.clean import prose

REPO = Path(__file__).resolve().parents[1]
RUN_FOLDER_COMMANDS = ("run", "clean", "dedup", "decontaminate", "toxicity filter", "quality score")


def _commands(group=cli, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield " ".join(prefix + (name,)), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def _command(path: str) -> click.Command:
    cmd = cli
    for part in path.split():
        cmd = cmd.commands[part]
    return cmd


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}


def _jsonl(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


DOCS = [{"id": f"d{i}", "text": prose(120, seed=i)} for i in range(4)] + [{"id": "copy", "text": prose(120, seed=0)}]


@pytest.mark.parametrize("path", [p for p, _ in _commands()] + [""])
def test_dash_h_is_help_everywhere(path):
    result = CliRunner().invoke(cli, [*path.split(), "-h"], prog_name="corpuskit")
    assert result.exit_code == 0 and result.output.startswith("Usage: corpuskit"), result.output


def test_both_entry_points_have_version():
    from trainer.__main__ import cli as trainer_cli

    version = CliRunner().invoke(cli, ["--version"])
    assert version.exit_code == 0 and re.search(r"\d+\.\d+", version.output)
    result = CliRunner().invoke(trainer_cli, ["--version"], prog_name="python -m trainer")
    assert result.exit_code == 0 and result.output.split()[-1] == version.output.split()[-1]


def test_dedup_reads_stdin_and_writes_stdout(tmp_path):
    result = CliRunner().invoke(cli, ["dedup", "-", "-", "-w", "1"], input=_jsonl(DOCS))
    assert result.exit_code == 0, result.output + result.stderr
    kept = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["id"] for d in kept] == ["d0", "d1", "d2", "d3"]  # the copy went; the summary is not in the stream
    # the run folder was temporary: no line names a file in it (#39: the report it named was gone)
    assert result.stderr.splitlines()[-1] == ("4 of 5 documents kept; written to standard output (rejected "
                                              "documents and reports are not kept with OUTPUT -)")
    assert "minhash_dedup: reduce" in result.stderr and "(report not kept: OUTPUT is -)" in result.stderr
    assert "corpuskit-stdout-" not in result.stderr and "/run/" not in result.stderr


def test_a_real_pipe_through_two_commands(tmp_path):
    (tmp_path / "in.jsonl").write_text(_jsonl(DOCS))
    exe = [sys.executable, "-m", "corpuskit"]
    first = subprocess.run([*exe, "dedup", str(tmp_path / "in.jsonl"), "-", "-w", "1", "-q", "--exact-only"],
                           capture_output=True, timeout=120)
    second = subprocess.run([*exe, "clean", "-", "-", "-w", "1", "-q"], input=first.stdout, capture_output=True,
                            timeout=120)
    assert first.returncode == second.returncode == 0, second.stderr.decode()
    assert len(second.stdout.decode().splitlines()) == 4 and not second.stderr  # -q: nothing on stderr either


def test_tokenizer_and_shard_read_stdin(tmp_path):
    runner = CliRunner()
    tok = runner.invoke(cli, ["tokenizer", "train", "-", str(tmp_path / "tok"), "--vocab-size", "300", "-q"],
                        input=_jsonl(DOCS))
    assert tok.exit_code == 0, tok.output
    again = runner.invoke(cli, ["tokenizer", "train", "-", str(tmp_path / "tok"), "--vocab-size", "300", "--force"],
                          input=_jsonl(DOCS))
    assert again.exit_code == 0 and "tokenizer: trained" in again.output  # --force redoes an up-to-date step
    shard = runner.invoke(cli, ["shard", "-", str(tmp_path / "shards"), "--tokenizer",
                                str(tmp_path / "tok" / "tokenizer.json"), "-q"], input=_jsonl(DOCS))
    assert shard.exit_code == 0, shard.output
    assert json.loads((tmp_path / "shards" / "manifest.json").read_text())["n_documents"] == len(DOCS)


def test_parquet_to_stdout_is_refused_in_one_line():
    result = CliRunner().invoke(cli, ["clean", "-", "-", "--format", "parquet"], input=_jsonl(DOCS))
    assert result.exit_code == 2 and "writes JSON Lines" in result.output


def test_verbose_shows_the_minhash_log_and_progress_follows_the_terminal(tmp_path):
    (tmp_path / "in.jsonl").write_text(_jsonl(DOCS))
    quiet = CliRunner().invoke(cli, ["dedup", str(tmp_path / "in.jsonl"), str(tmp_path / "a"), "-w", "1"])
    assert quiet.exit_code == 0 and "INFO corpuskit.dedup" not in quiet.stderr
    assert "unit/s" not in quiet.stderr and "it/s" not in quiet.stderr  # stderr is no terminal: no bar
    loud = CliRunner().invoke(cli, ["dedup", str(tmp_path / "in.jsonl"), str(tmp_path / "b"), "-w", "1", "-v",
                                    "--progress"])
    assert loud.exit_code == 0
    assert "INFO corpuskit.dedup: minhash_dedup: 0 clusters" in loud.stderr
    assert "100%" in loud.stderr  # asked for: drawn


def test_trainer_accepts_every_override_spelling_and_prints_its_config():
    from trainer.__main__ import cli as trainer_cli

    config = str(REPO / "trainer" / "configs" / "default.yaml")
    spellings = [["lr=0.002", "model.n_layer=3", "max_steps=7"],
                 ["--lr=0.002", "--model.n_layer=3", "--max-steps=7"],
                 ["--lr", "0.002", "--model.n_layer", "3", "--max_steps", "7"]]
    printed = []
    for overrides in spellings:
        result = CliRunner().invoke(trainer_cli, ["train", "--config", config, "--print-config", *overrides])
        assert result.exit_code == 0, result.output
        printed.append(yaml.safe_load(result.output))
    assert printed[0] == printed[1] == printed[2]
    assert printed[0]["lr"] == 0.002 and printed[0]["model"]["n_layer"] == 3 and printed[0]["max_steps"] == 7
    missing = CliRunner().invoke(trainer_cli, ["train", "--config", config, "--print-config", "--lr"])
    assert missing.exit_code == 2 and "--lr needs a value" in missing.output


def _readme_table() -> dict[str, str]:
    """README command table: command path -> its usage cell."""
    rows = {}
    for line in (REPO / "README.md").read_text().splitlines():
        m = re.match(r"\| `corpuskit ((?:[a-z]+ ?)+)(.*?)` \|", line)
        if m:
            rows[m.group(1).strip()] = m.group(2)
    return rows


def test_readme_command_table_lists_every_command_with_real_options():
    rows = _readme_table()
    leaves = {path for path, cmd in _commands() if not isinstance(cmd, click.Group)}
    assert set(rows) == leaves
    for path, usage in rows.items():
        named = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage.replace("\\|", "|")))
        assert named <= _options(_command(path)), (path, named - _options(_command(path)))


def test_the_options_the_readme_promises_exist():
    text = " ".join((REPO / "README.md").read_text().split())
    run_part = re.search(r"Commands that write a run folder \((.*?)\) take (.*?); `tokenizer train` and `shard` take (.*?)\.",
                         text)
    assert run_part, "the README's sentence on shared options"
    commands = re.findall(r"`([a-z ]+)`", run_part.group(1))
    assert tuple(commands) == RUN_FOLDER_COMMANDS
    promised = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", run_part.group(2)))
    assert {"--workers", "--quiet", "--format", "--force", "--progress", "--no-progress", "--verbose", "-v"} <= promised
    for path in RUN_FOLDER_COMMANDS:
        assert promised <= _options(_command(path)), (path, promised - _options(_command(path)))
    promised = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", run_part.group(3)))
    assert promised == {"--workers", "--quiet", "--force", "-v"}
    for path in ("tokenizer train", "shard"):
        assert promised <= _options(_command(path)), path
