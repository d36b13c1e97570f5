"""The runner: outputs, rejected records, counters, determinism and resume after a crash."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import RunError, run_pipeline


def _config(input_dir, out, stages, **extra):
    return parse_pipeline({"input": str(input_dir), "output": str(out), "stages": stages, **extra})


def _ids(out: Path) -> list[str]:
    ids = []
    for part in sorted(out.glob("part-*.parquet")):
        ids += pq.read_table(part)["id"].to_pylist()
    return ids


def _rejected(out: Path) -> list[dict]:
    rows = []
    for part in sorted((out / "rejected").glob("*.parquet")):
        rows += pq.read_table(part).to_pylist()
    return rows


STAGES = [{"normalize": {}}, {"length_filter": {"min_words": 3}}, {"exact_dedup": {}}]


def test_run_writes_parts_rejected_and_stats(prose_dir, tmp_path):
    (prose_dir / "d.txt").write_text("tiny\n")
    out = tmp_path / "out"
    stats = run_pipeline(_config(prose_dir, out, STAGES), workers=1, quiet=True)
    assert sorted(p.name for p in out.glob("part-*")) == [f"part-0000{i}.parquet" for i in range(4)]
    assert _ids(out) == ["a.txt#0", "b.txt#0"]
    rejected = {r["id"]: r for r in _rejected(out)}
    assert rejected["c.txt#0"]["reason"] == "exact_duplicate"
    assert rejected["c.txt#0"]["duplicate_of"] == "a.txt#0"
    assert rejected["c.txt#0"]["stage"] == "exact_dedup"
    assert rejected["d.txt#0"]["reason"] == "too_short"
    assert rejected["d.txt#0"]["text"] == "tiny"
    summary = json.loads((out / "stats.json").read_text())
    assert summary["documents_in"] == 4 and summary["documents_out"] == 2
    assert list(summary["stages"]) == ["read", "normalize", "length_filter", "exact_dedup"]
    assert summary["stages"]["length_filter"]["dropped_too_short"] == 1
    assert summary["stages"]["exact_dedup"]["dropped_exact_duplicate"] == 1
    assert stats["exact_dedup"].docs_out == 2
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["stages"][1] == {"type": "length_filter", "name": "length_filter",
                                            "params": {"min_words": 3}}


def test_every_document_is_accounted_for(repo, tmp_path):
    out = tmp_path / "out"
    cfg = _config(repo / "corpus", out, STAGES, reader={"glob": "pg1*.txt.gz"})
    run_pipeline(cfg, workers=2, quiet=True)
    summary = json.loads((out / "stats.json").read_text())
    assert summary["documents_in"] == len(_ids(out)) + len(_rejected(out))


def test_outputs_are_byte_identical_for_1_and_2_workers_and_reruns(prose_dir, tmp_path):
    (prose_dir / "bad.jsonl").write_text('{"text": "ok line here now"}\n{broken\n')
    runs = []
    for workers, name in [(1, "w1"), (2, "w2"), (2, "w2-again")]:
        out = tmp_path / name
        run_pipeline(_config(prose_dir, out, STAGES), workers=workers, quiet=True, force=True)
        files = sorted(p for p in out.rglob("*") if p.is_file() and "_work" not in p.parts
                       and "logs" not in p.parts and p.name not in ("stats.json", "config.json"))  # logs: times
        runs.append({p.relative_to(out).as_posix(): p.read_bytes() for p in files})
    assert runs[0] == runs[1] == runs[2]
    assert "rejected/seg0-part-00002.parquet" in runs[0]  # the malformed JSON line


def test_jsonl_output_format(prose_dir, tmp_path):
    out = tmp_path / "out"
    run_pipeline(_config(prose_dir, out, STAGES, format="jsonl"), workers=1, quiet=True)
    rows = [json.loads(line) for line in (out / "part-00000.jsonl").read_text().splitlines()]
    assert rows[0]["id"] == "a.txt#0" and set(rows[0]) == {"id", "text", "source", "metadata"}
    rejected = [json.loads(line) for line in (out / "rejected" / "seg1-part-00002.jsonl").read_text().splitlines()]
    assert rejected[0]["reason"] == "exact_duplicate"


@pytest.mark.parametrize("hard", [False, True], ids=["exception", "killed-worker"])
def test_crash_leaves_no_final_file_and_rerun_completes(repo, tmp_path, monkeypatch, hard):
    stages = [{"normalize": {}},
              {"helpers.faults:CrashAfter": {"source": "pg11-", "after": 20, "hard": hard}},
              {"exact_dedup": {}}]
    glob = "pg1[12]-*.txt.gz"  # Alice (crashes) and Looking-Glass
    reference = tmp_path / "reference"
    run_pipeline(_config(repo / "corpus", reference, stages, reader={"glob": glob}), workers=2, quiet=True)

    out = tmp_path / "out"
    cfg = _config(repo / "corpus", out, stages, reader={"glob": glob})
    monkeypatch.setenv("CORPUSKIT_TEST_CRASH", "1")
    with pytest.raises(Exception):
        run_pipeline(cfg, workers=2 if hard else 1, quiet=True)
    # The crashed unit (Alice, unit 0) has no intermediate or final file under a final name.
    assert not (out / "_work" / "seg0" / "part-00000.parquet").exists()
    assert not (out / "_work" / "done" / "seg0-unit00000").exists()
    assert not list(out.glob("part-*"))
    monkeypatch.delenv("CORPUSKIT_TEST_CRASH")
    run_pipeline(cfg, workers=2, quiet=True)
    ids = _ids(out)
    assert len(ids) == len(set(ids))
    assert ids == _ids(reference)
    assert not list(out.rglob(".*.tmp-*"))
    ref_stages = json.loads((reference / "stats.json").read_text())["stages"]
    got_stages = json.loads((out / "stats.json").read_text())["stages"]
    for name in ref_stages:  # counters (not timings) are exactly those of an uninterrupted run
        assert {k: v for k, v in got_stages[name].items() if k != "time_s"} == \
               {k: v for k, v in ref_stages[name].items() if k != "time_s"}


def test_rerun_skips_completed_units(prose_dir, tmp_path, capsys):
    out = tmp_path / "out"
    cfg = _config(prose_dir, out, STAGES)
    run_pipeline(cfg, workers=1, quiet=True)
    before = {p: p.stat().st_mtime_ns for p in out.glob("part-*")}
    messages = []
    run_pipeline(cfg, workers=1, log=messages.append)
    assert {p: p.stat().st_mtime_ns for p in out.glob("part-*")} == before
    assert any("already complete, skipped" in m for m in messages)


def _documents(out: Path) -> dict[str, bytes]:
    """What a run decided: its kept and rejected documents and its reports, byte for byte."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.relative_to(out).parts[0] in ("rejected", "reports") or p.name.startswith("part-")}


AFTER_DEDUP = STAGES + [{"length_filter": {"name": "long_only", "min_words": 12}}]


@pytest.mark.parametrize("before, after, kept_passes", [
    (STAGES, AFTER_DEDUP, 1),  # a stage added after the dedup: its index pass is kept
    (AFTER_DEDUP, STAGES, 1),  # and removed again
    (STAGES, [{"normalize": {"form": "NFKC"}}] + STAGES[1:], 0),  # the first stage changed: all redone
    (STAGES, STAGES[:2], 0),  # the global stage removed: one pass now, redone; its pass-2 files forgotten
])
def test_a_stage_change_keeps_the_passes_before_it_and_equals_a_fresh_run(prose_dir, tmp_path, before, after,
                                                                          kept_passes):
    """A rerun whose stages changed redoes the passes from the first changed stage, not all (#39)."""
    (prose_dir / "d.txt").write_text("tiny\n")
    (prose_dir / "e.txt").write_text((prose_dir / "a.txt").read_text())  # an exact duplicate
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    run_pipeline(_config(prose_dir, out, before), workers=1, quiet=True)
    kept = {p: p.read_bytes() for p in sorted((out / "_work" / "done").glob("seg0-*"))}
    stamps = {p: p.stat().st_mtime_ns for p in kept}
    messages = []
    run_pipeline(_config(prose_dir, out, after), workers=1, log=messages.append)
    run_pipeline(_config(prose_dir, fresh, after), workers=1, quiet=True)
    assert _documents(out) == _documents(fresh)
    assert ({p: p.exists() and p.stat().st_mtime_ns for p in kept} == stamps) == bool(kept_passes)
    first = next(i for i, (a, b) in enumerate(zip(before + [None], after + [None])) if a != b) + 1
    assert messages[0] == (f"config: stages changed from stage {first} on; passes 1-1 kept, the rest redone"
                           if kept_passes else f"config: stages changed from stage {first} on; every pass redone")


def test_a_change_beyond_the_stages_is_refused_unless_forced(prose_dir, tmp_path):
    out = tmp_path / "out"
    run_pipeline(_config(prose_dir, out, STAGES), workers=1, quiet=True)
    changed = _config(prose_dir, out, STAGES, reader={"text_mode": "paragraphs"})
    with pytest.raises(RunError, match="different configuration"):
        run_pipeline(changed, workers=1, quiet=True)
    run_pipeline(changed, workers=1, quiet=True, force=True)
    assert _ids(out) == ["a.txt#0", "b.txt#0"]


def test_forgetting_passes_deletes_only_corpuskits_names(prose_dir, tmp_path):
    out = tmp_path / "out"
    run_pipeline(_config(prose_dir, out, STAGES), workers=1, quiet=True)
    mine = [out / "rejected" / "seg1-notes.txt", out / "reports" / "mine.json"]
    for p in mine:
        p.parent.mkdir(exist_ok=True)
        p.write_text("the user's")
    run_pipeline(_config(prose_dir, out, STAGES[:2]), workers=1, quiet=True)
    assert all(p.read_text() == "the user's" for p in mine)
    assert not (out / "reports" / "exact_dedup.json").exists() and not (out / "_work" / "seg1").exists()


def test_every_row_of_the_stats_adds_up_including_read(prose_dir, tmp_path):
    """Records the reader rejects count as read in and dropped: in = out + dropped, for every stage."""
    (prose_dir / "bad.jsonl").write_text('{"text": "a fine line of text"}\n{broken\n{"no_text": 1}\n')
    (prose_dir / "notes.xyz").write_text("unknown format")
    out = tmp_path / "out"
    run_pipeline(_config(prose_dir, out, STAGES), workers=1, quiet=True)
    summary = json.loads((out / "stats.json").read_text())
    for name, row in summary["stages"].items():
        assert row["docs_in"] == row["docs_out"] + row["dropped"], name
    read = summary["stages"]["read"]
    assert read["dropped_malformed_json"] == 1 and read["dropped_missing_field"] == 1
    assert read["dropped_unsupported_format"] == 1
    assert summary["documents_in"] == len(_ids(out)) + len(_rejected(out))


# -- #39: reruns that keep what did not change, and a log in the run folder ---------------------


def _tokenized(prose_dir, out, vocab_size=300, shard_tokens=2000):
    return _config(prose_dir, out, STAGES, tokenizer={"vocab_size": vocab_size},
                   shards={"shard_tokens": shard_tokens, "validation": 0.0})


def test_a_tokenizer_or_shards_change_keeps_the_documents_and_redoes_those_steps(prose_dir, tmp_path):
    """A tokenizer-only change forced a --force rerun of every stage."""
    out = tmp_path / "out"
    run_pipeline(_tokenized(prose_dir, out), workers=1, quiet=True)
    kept = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in [*out.glob("part-*"), *out.glob("_work/done/*")]}
    tokenizer = (out / "tokenizer.json").read_bytes()
    messages = []
    run_pipeline(_tokenized(prose_dir, out, vocab_size=280), workers=1, log=messages.append)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept} == kept  # no unit redone
    assert (out / "tokenizer.json").read_bytes() != tokenizer
    assert json.loads((out / "shards" / "manifest.json").read_text())["tokenizer"]["vocab_size"] == 280
    assert messages[0] == ("config: only tokenizer changed since the last run: its documents are kept; "
                           "those steps are redone where their settings changed")
    assert any(m.startswith("tokenizer: trained") for m in messages)
    assert json.loads((out / "config.json").read_text())["config"]["tokenizer"] == {"vocab_size": 280}
    messages.clear()
    run_pipeline(_tokenized(prose_dir, out, vocab_size=280, shard_tokens=1000), workers=1, log=messages.append)
    assert any(m.startswith("config: only shards changed") for m in messages)
    assert any(m.endswith("is up to date, skipped") and m.startswith("tokenizer:") for m in messages)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept} == kept
    # a stage change changes the documents: those passes are redone, and the tokenizer with them
    trained_on = json.loads((out / "_work" / "tokenizer" / "training.json").read_text())["inputs_sha256"]
    messages.clear()
    run_pipeline(_config(prose_dir, out, STAGES[:2], tokenizer={"vocab_size": 280}), workers=1, log=messages.append)
    assert json.loads((out / "_work" / "tokenizer" / "training.json").read_text())["inputs_sha256"] != trained_on
    assert any(m.startswith("tokenizer: trained") for m in messages)


def test_each_run_appends_to_logs_run_log_and_force_starts_it_again(prose_dir, tmp_path):
    out = tmp_path / "out"
    run_pipeline(_config(prose_dir, out, STAGES), workers=1, quiet=True)
    run_pipeline(_config(prose_dir, out, STAGES), workers=1, quiet=True)
    log = (out / "logs" / "run.log").read_text().splitlines()
    headers = [line for line in log if line.startswith("== ")]
    assert len(headers) == 2 and all("corpuskit run (pid " in h and f"input {prose_dir}" in h for h in headers)
    assert any(line.endswith("[1/2] normalize > length_filter > exact_dedup (index): 3 of 3 units done, "
                             "3 documents read, in " + line.rsplit(" in ", 1)[-1]) for line in log)
    assert any(line.endswith("units already complete, skipped") for line in log)
    assert log[-1].endswith("done: 2 of 3 documents kept")
    (out / "logs" / "mine.txt").write_text("a user's note")
    run_pipeline(_config(prose_dir, out, STAGES), workers=1, quiet=True, force=True)
    assert sum(line.startswith("== ") for line in (out / "logs" / "run.log").read_text().splitlines()) == 1
    assert (out / "logs" / "mine.txt").read_text() == "a user's note"  # not a name corpuskit gives


def test_relative_paths_in_a_pipeline_file_are_relative_to_its_folder(prose_dir, tmp_path, monkeypatch):
    from corpuskit.pipeline import load_pipeline

    project = tmp_path / "project"
    (project / "pipes").mkdir(parents=True)
    (project / "tok").mkdir()
    run_pipeline(_tokenized(prose_dir, tmp_path / "first"), workers=1, quiet=True)
    (project / "tok" / "tokenizer.json").write_bytes((tmp_path / "first" / "tokenizer.json").read_bytes())
    pipe = project / "pipes" / "p.yaml"
    pipe.write_text(f"input: {prose_dir}\noutput: ../out/\nstages:\n  - exact_dedup: {{}}\n"
                    "  - minhash_dedup: {index_dir: ../index}\ntokenizer: {file: ../tok/tokenizer.json}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_pipeline(Path("..") / "project" / "pipes" / "p.yaml")
    assert cfg.output == "../project/out/" and cfg.tokenizer.file == "../project/tok/tokenizer.json"
    assert cfg.stages[1].params["index_dir"] == "../project/index"
    run_pipeline(cfg, workers=1, quiet=True)
    assert (project / "out" / "stats.json").is_file() and not (elsewhere / "out").exists()
    # the command line's paths stay relative to the working directory
    given = load_pipeline(pipe, {"output": "here/"})
    assert given.output == "here/" and given.input == str(prose_dir)
