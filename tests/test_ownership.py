"""Never touch what is not ours: run folders, shard directories and indexes are marked and claimed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpuskit.layout import LOCK, RunError, RunPaths
from corpuskit.pipeline import PipelineError, parse_pipeline
from corpuskit.runner import run_pipeline

STAGES = [{"normalize": {}}, {"exact_dedup": {}}]


def _run(inp, out, stages=STAGES, **kw):
    return run_pipeline(parse_pipeline({"input": str(inp), "output": str(out), "stages": stages}),
                        workers=1, quiet=True, **kw)


def test_a_folder_we_did_not_create_is_refused_and_kept(prose_dir, tmp_path):
    """`mkdir u; echo k > u/part-of-my-thesis.docx; corpuskit clean in u --force` used to lose the .docx."""
    u = tmp_path / "u"
    u.mkdir()
    (u / "part-of-my-thesis.docx").write_text("k")
    (u / "config.json").write_text("{}")
    for force in (False, True):
        with pytest.raises(RunError, match="not empty and was not created by corpuskit"):
            _run(prose_dir, u, force=force)
    assert sorted(p.name for p in u.iterdir()) == ["config.json", "part-of-my-thesis.docx"]


def test_force_deletes_only_our_own_names(prose_dir, tmp_path):
    out = tmp_path / "out"
    _run(prose_dir, out)
    mine = {"part-of-my-thesis.docx": "k", "rejected/notes.txt": "n", ".hidden.tmp-notes": "h",
            "reports/mine.txt": "r"}
    for rel, text in mine.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    (out / ".my-draft.tmp").write_text("d")
    mine[".my-draft.tmp"] = "d"
    _run(prose_dir, out, force=True)  # a forced rerun ...
    for rel, text in mine.items():  # ... and its stale-temporary cleanup leave them alone
        assert (out / rel).read_text() == text, rel
    assert sorted(p.name for p in out.glob("part-0*")) == ["part-00000.parquet", "part-00001.parquet",
                                                          "part-00002.parquet"]


def test_force_keeps_a_users_report_and_temporary_lookalikes(prose_dir, tmp_path):
    """#33 item 19: --force deleted `reports/mine.json` and `.my.tmp-123` put in a run folder."""
    out, stages = tmp_path / "out", [{"normalize": {}}, {"minhash_dedup": {}}]
    _run(prose_dir, out, stages)
    assert (out / "reports" / "minhash_dedup.json").is_file()
    mine = {"reports/mine.json": "{}", ".my.tmp-123": "m", "rejected/.notes.tmp-7": "n",
            "reports/.mine.json.tmp-9": "r", "part-00009.parquet\n": "p", ".part-00000.parquet.tmp-1\n": "t"}
    for rel, text in mine.items():
        (out / rel).write_text(text)
    ours = [out / ".part-00001.parquet.tmp-4242", out / "reports" / ".minhash_dedup.json.tmp-4242",
            out / f".{LOCK}.tmp-4242"]
    for p in ours:
        p.write_bytes(b"partial")
    _run(prose_dir, out, stages, force=True)
    for rel, text in mine.items():
        assert (out / rel).read_text() == text, rel
    assert not any(p.exists() for p in ours)
    # a forced rerun without the stage that wrote the report: its report goes, the user's stays
    _run(prose_dir, out, stages=[{"normalize": {}}], force=True)
    assert sorted(p.name for p in (out / "reports").iterdir()) == [".mine.json.tmp-9", "mine.json"]


@pytest.mark.parametrize("folder", ["rejected", "reports", "_work", "_work/stages/exact_dedup"])
def test_a_run_folders_own_folder_that_is_a_link_is_refused(prose_dir, tmp_path, folder):
    """`ln -s ~/mine OUT/rejected`: --force deleted ~/mine/seg0-part-00000.parquet and wrote rejects there."""
    out, mine = tmp_path / "out", tmp_path / "mine"
    _run(prose_dir, out)
    mine.mkdir()
    for name in ("seg0-part-00000.parquet", "exact_dedup.json", "hashes-00000.bin"):
        (mine / name).write_text("mine")
    shutil.rmtree(out / folder, ignore_errors=True)  # (no reports/ here: exact_dedup reports nothing)
    (out / folder).symlink_to(mine)
    for force in (False, True):
        with pytest.raises(RunError, match=f"{out / folder} is a symbolic link"):
            _run(prose_dir, out, force=force)
    assert sorted((p.name, p.read_text()) for p in mine.iterdir()) == [
        ("exact_dedup.json", "mine"), ("hashes-00000.bin", "mine"), ("seg0-part-00000.parquet", "mine")]


def test_stale_temporaries_of_killed_writers_are_removed_files_and_folders(prose_dir, tmp_path):
    """kill -9 during the MinHash index left `.unit-00000.tmp-PID/` and every rerun failed."""
    out = tmp_path / "out"
    stages = [{"minhash_dedup": {}}]
    _run(prose_dir, out, stages)
    work = out / "_work" / "stages" / "minhash_dedup"
    stale_dir = work / ".unit-00007.tmp-4242"
    stale_dir.mkdir()
    (stale_dir / "band-000.u64").write_bytes(b"x" * 8)
    stale_file = out / ".part-00001.parquet.tmp-4242"
    stale_file.write_bytes(b"partial")
    _run(prose_dir, out, stages)
    assert not stale_dir.exists() and not stale_file.exists()


def test_index_folder_must_be_ours_and_only_its_generations_are_removed(prose_dir, tmp_path):
    """`--index DIR` used to delete any `gen-*` folder in DIR."""
    foreign = tmp_path / "photos"
    (foreign / "gen-holiday").mkdir(parents=True)
    (foreign / "gen-holiday" / "beach.jpg").write_bytes(b"jpg")
    with pytest.raises(PipelineError, match="not a corpuskit MinHash index"):
        parse_pipeline({"input": str(prose_dir), "output": str(tmp_path / "o"),
                        "stages": [{"minhash_dedup": {"index_dir": str(foreign)}}]})
    index = tmp_path / "index"
    stages = [{"minhash_dedup": {"index_dir": str(index)}}]
    _run(prose_dir, tmp_path / "o1", stages)
    (index / "gen-holiday").mkdir()  # a user's folder inside our index: not one of our generations
    (index / "gen-holiday" / "beach.jpg").write_bytes(b"jpg")
    _run(prose_dir, tmp_path / "o2", stages)
    assert (index / "gen-holiday" / "beach.jpg").read_bytes() == b"jpg"
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["generation"] == 2
    assert sorted(p.name for p in index.glob("gen-0*")) == [manifest["current"]]


def test_index_manifest_that_is_not_an_object_is_a_clear_error(prose_dir, tmp_path):
    index = tmp_path / "index"
    stages = [{"minhash_dedup": {"index_dir": str(index)}}]
    _run(prose_dir, tmp_path / "o1", stages)
    (index / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="manifest.json: not a JSON object"):
        _run(prose_dir, tmp_path / "o2", stages)


def test_shard_directory_is_claimed(tmp_path):
    from corpuskit.tokenize.config import ShardConfig
    from corpuskit.tokenize.shards import write_shards

    target = tmp_path / "mine"
    target.mkdir()
    (target / "train").mkdir()
    (target / "train" / "shard-00000.arrow").write_bytes(b"my own file")
    with pytest.raises(RunError, match="not empty and was not created by corpuskit"):
        write_shards([], tmp_path / "tokenizer.json", target, ShardConfig(), eot_token="<|endoftext|>")
    assert (target / "train" / "shard-00000.arrow").read_bytes() == b"my own file"


def test_a_second_shard_writer_on_one_folder_is_refused(prose_dir, tmp_path):
    """#33 item 15: two `corpuskit shard` runs on one folder left a manifest listing a missing shard."""
    from click.testing import CliRunner

    from corpuskit.cli import cli
    from corpuskit.tokenize.standalone import train_tokenizer

    tok = train_tokenizer(prose_dir, tmp_path / "tok", {"vocab_size": 300, "min_frequency": 1}, {}, log=lambda m: None)
    shards = tmp_path / "shards"
    command = ["shard", str(prose_dir), str(shards), "--tokenizer", str(tok), "-w", "1", "-q", "--force"]
    assert CliRunner().invoke(cli, command).exit_code == 0
    before = {p: p.read_bytes() for p in shards.rglob("*") if p.is_file()}
    (shards / LOCK).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))  # writing now
    result = CliRunner().invoke(cli, command + ["--shard-tokens", "5"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{shards} is in use by another corpuskit shard writer (pid {os.getppid()}" in result.output
    assert {p: p.read_bytes() for p in before} == before


def test_a_damaged_config_json_is_a_clear_error_and_force_redoes_the_run(prose_dir, tmp_path):
    out = tmp_path / "out"
    _run(prose_dir, out)
    for text in ("[1", "[1, 2]"):
        (out / "config.json").write_text(text)
        with pytest.raises(RunError, match=f"{out / 'config.json'} is not a run's record"):
            _run(prose_dir, out)
    _run(prose_dir, out, force=True)
    assert RunPaths(out).fingerprint() == json.loads((out / "config.json").read_text())["fingerprint"]


def test_only_a_marked_run_folder_has_a_fingerprint(tmp_path):
    """A user's folder with a config.json is no run: `corpuskit shard` recorded its "fingerprint"."""
    (tmp_path / "config.json").write_text(json.dumps({"fingerprint": "0" * 64}))
    assert RunPaths(tmp_path).fingerprint() is None


def test_edited_input_is_noticed(prose_dir, tmp_path):
    out = tmp_path / "out"
    _run(prose_dir, out)
    time.sleep(0.01)
    (prose_dir / "b.txt").write_text("An entirely new text, written after the run.\n")
    with pytest.raises(RunError, match="input changed since this run read it: .*b.txt"):
        _run(prose_dir, out)
    _run(prose_dir, out, force=True)


def test_a_second_run_on_the_same_folder_is_refused(prose_dir, tmp_path):
    out = tmp_path / "out"
    _run(prose_dir, out)
    lock = out / LOCK
    lock.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))  # a live process
    with pytest.raises(RunError, match="in use by another corpuskit run"):
        _run(prose_dir, out)
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname()}))  # gone: stale
    _run(prose_dir, out)
    assert not lock.exists()


def test_a_killed_runs_zombie_does_not_hold_the_lock(prose_dir, tmp_path):
    """#33 item 24: a killed run that its parent has not reaped yet (state Z) counted as alive."""
    out = tmp_path / "out"
    _run(prose_dir, out)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while _state(child.pid) != "Z" and time.monotonic() < deadline:  # exited, not yet waited for
        time.sleep(0.01)
    try:
        assert _state(child.pid) == "Z"
        (out / LOCK).write_text(json.dumps({"pid": child.pid, "host": socket.gethostname()}))
        _run(prose_dir, out)
        assert not (out / LOCK).exists()
    finally:
        child.wait()


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 1:].split()[0]


def test_output_inside_input_is_refused(prose_dir):
    with pytest.raises(RunError, match="inside the input folder"):
        _run(prose_dir, prose_dir / "out")
    assert not (prose_dir / "out").exists()


def test_input_inside_the_output_is_refused_before_anything_is_deleted(prose_dir, tmp_path):
    """#33 item 7: `corpuskit clean O/part-00000.parquet O --force` deleted its own input (50 -> 0)."""
    out = tmp_path / "out"
    _run(prose_dir, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and "_work" not in p.parts}
    for inp in (out / "part-00000.parquet", out / "rejected", out):
        for force in (False, True):
            with pytest.raises(RunError, match=f"the input {inp} is inside the output folder {out}"):
                _run(inp, out, force=force)
    assert {p: p.read_bytes() for p in before} == before


def test_shard_output_inside_its_input_is_refused(prose_dir, tmp_path):
    """`corpuskit shard in in/shards`: each rerun read the last one's shard directory as input."""
    from click.testing import CliRunner

    from corpuskit.cli import cli
    from corpuskit.tokenize.standalone import train_tokenizer

    tok = train_tokenizer(prose_dir, tmp_path / "tok", {"vocab_size": 300, "min_frequency": 1}, {}, log=lambda m: None)
    result = CliRunner().invoke(cli, ["shard", str(prose_dir), str(prose_dir / "shards"), "--tokenizer", str(tok)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"the output folder {prose_dir / 'shards'} is inside the input folder {prose_dir}" in result.output
    assert not (prose_dir / "shards").exists()
    out = tmp_path / "out"
    _run(prose_dir, out)  # a run folder as input gives only its part-* files: an output inside it is fine
    result = CliRunner().invoke(cli, ["shard", str(out), str(out / "shards-300"), "--tokenizer", str(tok), "-q"])
    assert result.exit_code == 0, result.output


def test_bad_stage_parameters_are_refused_at_load(prose_dir, tmp_path):
    """`num_perm: 12.5` and `toxicity: {threshold: 2.0}` used to fail only after earlier passes ran."""
    for stage, message in [({"minhash_dedup": {"num_perm": 12.5}}, "'num_perm': expected int"),
                           ({"toxicity": {"threshold": 2.0}}, "threshold must be between 0 and 1")]:
        with pytest.raises(PipelineError, match=message):
            parse_pipeline({"input": str(prose_dir), "output": str(tmp_path / "o"),
                            "stages": [{"exact_dedup": {}}, stage]})
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["../../escape", "/tmp/x", ".hidden", "a/b", "ok\n"])
def test_a_stage_name_is_a_plain_file_name(prose_dir, tmp_path, name):
    """`exact_dedup: {name: ../../../escape}` wrote the stage's working files outside the run folder."""
    with pytest.raises(PipelineError, match="stage name .* must be letters, digits"):
        parse_pipeline({"input": str(prose_dir), "output": str(tmp_path / "run" / "o"),
                        "stages": [{"exact_dedup": {"name": name}}]})
    assert list(tmp_path.iterdir()) == [prose_dir]


def test_run_paths_is_the_only_owner_of_the_layout(repo):
    """No module but layout.py spells the run folder's file names."""
    offenders = []
    for path in (repo / "corpuskit").rglob("*.py"):
        if path.name == "layout.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ('"_work"', '"stats.json"', '"rejected"', "parents[2]", '"dedup_report'):
            if needle in text:
                offenders.append(f"{path.relative_to(repo)}: {needle}")
    assert offenders == []
