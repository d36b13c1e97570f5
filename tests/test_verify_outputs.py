"""Outputs verified, not assumed: a rerun trusts a completed unit only while its files are as it wrote them."""

import json
import shutil
from pathlib import Path

import pytest

from corpuskit.pipeline import parse_pipeline
from corpuskit.readers import InputError, list_sources
from corpuskit.runner import RunError, load_stats, run_pipeline

STAGES = [{"normalize": {}}, {"exact_dedup": {}}]


def _config(inp, out, stages=STAGES, **extra):
    return parse_pipeline({"input": str(inp), "output": str(out), "stages": stages, **extra})


def _outputs(out: Path) -> dict[str, bytes]:
    """Every file a user reads, by name (not _work, not stats.json: it holds timings)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "_work" not in p.parts and "logs" not in p.parts  # logs/: times
            and p.name not in ("stats.json", ".corpuskit-lock")}


def _summary(out: Path) -> dict:
    summary = json.loads((out / "stats.json").read_text())
    for stage in summary["stages"].values():
        stage.pop("time_s")
    return {k: summary[k] for k in ("documents_in", "documents_out", "stages")}


def test_a_part_file_deleted_or_cut_after_the_run_is_written_again(prose_dir, tmp_path):
    """#33 item 6: the rerun said "already complete" and the documents were gone, exit 0."""
    out = tmp_path / "out"
    cfg = _config(prose_dir, out)
    run_pipeline(cfg, workers=1, quiet=True)
    want, summary = _outputs(out), _summary(out)
    (out / "part-00000.parquet").unlink()
    data = (out / "part-00001.parquet").read_bytes()
    (out / "part-00001.parquet").write_bytes(data[: len(data) // 2])
    messages = []
    run_pipeline(cfg, workers=1, log=messages.append)
    assert "part-00000.parquet is missing; redoing it" in "\n".join(messages)
    assert "part-00001.parquet changed since it was written; redoing it" in "\n".join(messages)
    assert _outputs(out) == want and _summary(out) == summary


def test_a_changed_byte_in_an_intermediate_file_redoes_the_passes_after_it(prose_dir, tmp_path):
    out = tmp_path / "out"
    cfg = _config(prose_dir, out)
    run_pipeline(cfg, workers=1, quiet=True)
    want, summary = _outputs(out), _summary(out)
    later = out / "_work" / "done" / "seg1-unit00002"
    before = later.stat().st_mtime_ns
    intermediate = out / "_work" / "seg0" / "part-00000.parquet"
    data = bytearray(intermediate.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    intermediate.write_bytes(bytes(data))
    messages = []
    run_pipeline(cfg, workers=1, log=messages.append)
    assert "_work/seg0/part-00000.parquet changed since it was written" in "\n".join(messages)
    assert later.stat().st_mtime_ns != before  # the dedup decisions were made again, and applied again
    assert _outputs(out) == want and _summary(out) == summary


def test_tokenizer_and_shards_are_made_from_the_restored_documents(prose_dir, tmp_path):
    out = tmp_path / "out"
    cfg = _config(prose_dir, out, tokenizer={"vocab_size": 300, "min_frequency": 1},
                  shards={"shard_tokens": 2000, "validation": 0.0})
    run_pipeline(cfg, workers=1, quiet=True)
    want = _outputs(out)
    assert "shards/manifest.json" in want and "tokenizer.json" in want
    (out / "part-00001.parquet").unlink()
    run_pipeline(cfg, workers=1, quiet=True)
    assert _outputs(out) == want


def test_a_rerun_that_fails_leaves_an_unfinished_run(prose_dir, tmp_path, monkeypatch):
    """A finished run being redone is no finished run: its stats.json goes until the rerun ends."""
    out = tmp_path / "out"
    stages = [{"exact_dedup": {}}, {"helpers.faults:CrashAfter": {"source": "b.txt", "after": 0, "hard": True}}]
    cfg = _config(prose_dir, out, stages)
    run_pipeline(cfg, workers=1, quiet=True)
    for name in ("part-00000.parquet", "part-00001.parquet"):  # two units to redo: in worker processes
        (out / name).unlink()
    monkeypatch.setenv("CORPUSKIT_TEST_CRASH", "1")
    with pytest.raises(Exception):  # the worker redoing b.txt's unit dies
        run_pipeline(cfg, workers=2, quiet=True)
    assert not (out / "stats.json").exists()
    with pytest.raises(InputError, match="unfinished corpuskit run"):
        list_sources(out)
    monkeypatch.delenv("CORPUSKIT_TEST_CRASH")
    run_pipeline(cfg, workers=1, quiet=True)
    assert [s.rel for s in list_sources(out)] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]


def test_a_deleted_report_is_written_again_by_its_reduce_alone(prose_dir, tmp_path):
    out = tmp_path / "out"
    cfg = _config(prose_dir, out, [{"normalize": {}}, {"minhash_dedup": {}}])
    run_pipeline(cfg, workers=1, quiet=True)
    want = _outputs(out)
    units = {p: p.stat().st_mtime_ns for p in (out / "_work" / "done").glob("seg0-unit*")}
    (out / "reports" / "minhash_dedup.json").unlink()
    messages = []
    run_pipeline(cfg, workers=1, log=messages.append)
    assert "minhash_dedup: reports/minhash_dedup.json is missing; redoing its reduce" in "\n".join(messages)
    assert {p: p.stat().st_mtime_ns for p in units} == units  # the units it read were sound
    assert _outputs(out) == want


def test_a_changed_file_in_a_stage_folder_redoes_its_pass(prose_dir, tmp_path):
    out = tmp_path / "out"
    cfg = _config(prose_dir, out)
    run_pipeline(cfg, workers=1, quiet=True)
    want, summary = _outputs(out), _summary(out)
    hashes = out / "_work" / "stages" / "exact_dedup" / "hashes-00002.bin"
    hashes.write_bytes(bytes(16) + hashes.read_bytes()[16:])  # c.txt's first hash now zeros: no more a duplicate of a.txt
    messages = []
    run_pipeline(cfg, workers=1, log=messages.append)
    assert ("exact_dedup: _work/stages/exact_dedup/hashes-00002.bin changed since it was written; redoing the pass"
            in "\n".join(messages))
    assert _outputs(out) == want and _summary(out) == summary


def test_a_damaged_marker_or_stats_json_is_a_one_line_error(prose_dir, tmp_path):
    out = tmp_path / "out"
    cfg = _config(prose_dir, out)
    run_pipeline(cfg, workers=1, quiet=True)
    (out / "stats.json").write_text("{")
    with pytest.raises(RunError, match=f"{out / 'stats.json'} is damaged"):
        load_stats(out)
    (out / "_work" / "done" / "seg0-unit00001").write_text("x")
    with pytest.raises(RunError, match=f"{out / '_work' / 'done' / 'seg0-unit00001'} is damaged; use --force"):
        run_pipeline(cfg, workers=1, quiet=True)
    run_pipeline(cfg, workers=1, quiet=True, force=True)
    assert load_stats(out)["documents_out"] == 2
