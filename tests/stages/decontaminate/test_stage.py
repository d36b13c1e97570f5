"""The decontaminate stage through the runner and the command: reasons, cut text, report, workers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.pipeline import PipelineError, parse_pipeline
from corpuskit.presets import command_pipeline
from corpuskit.runner import run_pipeline

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "decontaminate"
PAGE = ("The village fair opened on a grey Saturday. Stalls sold honey, wool and old records, and a brass "
        "band played on the green until the rain came in from the hills.")
QUESTION = ("Question: Which tool would a student use to measure the mass of a small river stone during a "
            "science lesson?")
STORY = ("Marguerite folded the last of the maps, tied the bundle with red string, and handed it to the courier "
         "who was waiting by the gate.")


def corpus(folder: Path) -> Path:
    """Two input files: clean pages, a page holding an MMLU-style question, one holding a story item."""
    folder.mkdir()
    docs = [
        [{"id": "clean-1", "text": PAGE}, {"id": "quiz", "text": f"{PAGE}\n\n{QUESTION} a balance\n\n{PAGE}"}],
        [{"id": "story", "text": f"{PAGE} {PAGE}\n\n{STORY}"}, {"id": "clean-2", "text": PAGE + " " + PAGE}],
    ]
    for i, rows in enumerate(docs):
        (folder / f"part{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def run(tmp_path, name, params, workers=1, executor="local"):
    out = tmp_path / name
    cfg = command_pipeline(str(tmp_path / "in"), str(out), [{"decontaminate": {"eval": [str(FIXTURES)], **params}}],
                           "jsonl")
    run_pipeline(cfg, workers=workers, executor=executor, quiet=True)
    return out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(path.glob("*.jsonl")) for line in p.read_text().splitlines()]


def outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.jsonl"))
            if "_work" not in p.parts} | {"report": (out / "reports" / "decontaminate.json").read_bytes()}


def test_drop_rejects_with_reason_benchmark_item_and_span(tmp_path):
    corpus(tmp_path / "in")
    out = run(tmp_path, "out", {"action": "drop"})
    assert [r["id"] for r in rows(out)] == ["clean-1", "clean-2"]
    rejected = {r["id"]: r for r in rows(out / "rejected")}
    assert sorted(rejected) == ["quiz", "story"]
    assert {r["reason"] for r in rejected.values()} == {"contaminated"}
    assert rejected["quiz"]["detail"].startswith(f"mc item 1, characters {len(PAGE) + 2}-")
    assert "'Question: Which tool would a student" in rejected["quiz"]["detail"]
    assert rejected["story"]["detail"].startswith("lm item 1, ")

    report = json.loads((out / "reports" / "decontaminate.json").read_text())
    assert report["documents_contaminated"] == 2
    assert report["benchmarks"]["mc"]["items"] == 3
    assert report["benchmarks"]["mc"]["items_found"] == 1 and report["benchmarks"]["mc"]["documents"] == 1
    assert report["benchmarks"]["mc"]["found"]["1"]["where"][0]["id"] == "quiz"
    assert report["benchmarks"]["lm"]["found"]["1"]["documents"] == 1
    assert report["benchmarks"]["qa"]["items_found"] == 0
    assert report["benchmarks"]["mc"]["files"][0]["sha256"] == __import__("hashlib").sha256(
        (FIXTURES / "mc.jsonl").read_bytes()).hexdigest()
    stats = json.loads((out / "stats.json").read_text())["stages"]["decontaminate"]
    assert stats["dropped_contaminated"] == 2


def test_cut_leaves_the_exact_expected_text(tmp_path):
    corpus(tmp_path / "in")
    out = run(tmp_path, "out", {"action": "cut", "margin": 0, "min_chars": 100})
    kept = {r["id"]: r["text"] for r in rows(out)}
    # the question and its answer go (the match runs to the end of the answer), the pages stay
    assert kept["quiz"] == f"{PAGE}\n\n{PAGE}"
    # the story was left with two pages of its document; min_chars keeps it
    assert kept["story"] == f"{PAGE} {PAGE}"
    assert kept["clean-1"] == PAGE
    assert rows(out / "rejected") == []


def test_cut_drops_a_document_left_too_short(tmp_path):
    corpus(tmp_path / "in")
    out = run(tmp_path, "out", {"action": "cut", "margin": 0, "min_chars": 400})
    rejected = {r["id"]: r for r in rows(out / "rejected")}
    assert sorted(rejected) == ["quiz", "story"]
    assert rejected["story"]["reason"] == "contaminated"
    assert rejected["story"]["detail"].endswith(f"; {2 * len(PAGE) + 1} characters left after the cut")


def test_report_only_changes_nothing(tmp_path):
    corpus(tmp_path / "in")
    out = run(tmp_path, "out", {"report_only": True})
    assert [r["text"] for r in rows(out)] == [r["text"] for r in rows(tmp_path / "in")]
    report = json.loads((out / "reports" / "decontaminate.json").read_text())
    assert report["action"] == "report_only" and report["documents_contaminated"] == 2


def test_one_and_two_workers_write_the_same_bytes(tmp_path):
    corpus(tmp_path / "in")
    one = run(tmp_path, "one", {"action": "cut", "min_chars": 10}, workers=1)
    two = run(tmp_path, "two", {"action": "cut", "min_chars": 10}, workers=2)
    assert outputs(one) == outputs(two)


def test_ray_writes_the_same_bytes_as_local_workers(tmp_path):
    pytest.importorskip("ray")
    corpus(tmp_path / "in")
    local = run(tmp_path, "local", {"action": "drop"}, workers=2)
    ray = run(tmp_path, "ray", {"action": "drop"}, workers=2, executor="ray")
    assert outputs(local) == outputs(ray)


def test_a_missing_eval_file_stops_the_pipeline_at_load(tmp_path):
    with pytest.raises(PipelineError, match="eval set .*nope.jsonl: no such file or folder"):
        parse_pipeline({"input": str(FIXTURES), "output": str(tmp_path / "o"),
                        "stages": [{"decontaminate": {"eval": [str(tmp_path / "nope.jsonl")]}}]})
    with pytest.raises(PipelineError, match="probe .6. must be at most ngram .5."):
        parse_pipeline({"input": str(FIXTURES), "output": str(tmp_path / "o"),
                        "stages": [{"decontaminate": {"eval": [str(FIXTURES)], "ngram": 5, "probe": 6}}]})


def test_command_runs_and_refuses_a_missing_eval_file_before_any_work(tmp_path):
    corpus(tmp_path / "in")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["decontaminate", str(tmp_path / "in"), str(out), "--eval",
                                      str(tmp_path / "gone.jsonl"), "-q"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: eval set {tmp_path / 'gone.jsonl'}: no such file or folder"]
    assert not out.exists()

    result = CliRunner().invoke(cli, ["decontaminate", str(tmp_path / "in"), str(out), "--eval",
                                      f"arc={FIXTURES / 'mc.jsonl'}", "--action", "cut", "-q", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "reports" / "decontaminate.json").read_text())
    assert list(report["benchmarks"]) == ["arc"] and report["benchmarks"]["arc"]["items_found"] == 1


def test_the_shard_manifest_names_the_eval_sets_checked_against(tmp_path):
    corpus(tmp_path / "in")
    base = {"input": str(tmp_path / "in"), "tokenizer": {"vocab_size": 280}, "shards": {"shard_tokens": 2000}}
    out = tmp_path / "out"
    run_pipeline(parse_pipeline({**base, "output": str(out), "stages": [
        {"decontaminate": {"eval": [str(FIXTURES / "mc.jsonl"), f"story={FIXTURES / 'lm.jsonl'}"]}}]}),
        workers=1, quiet=True)
    manifest = json.loads((out / "shards" / "manifest.json").read_text())
    assert manifest["decontaminated"] == {"action": "drop", "eval_sets": [
        {"name": "mc", "files": [{"file": "mc.jsonl", "sha256": __import__("hashlib").sha256(
            (FIXTURES / "mc.jsonl").read_bytes()).hexdigest()}]},
        {"name": "story", "files": [{"file": "lm.jsonl", "sha256": __import__("hashlib").sha256(
            (FIXTURES / "lm.jsonl").read_bytes()).hexdigest()}]}]}
    plain = tmp_path / "plain"  # without the stage the manifest is as before
    run_pipeline(parse_pipeline({**base, "output": str(plain), "stages": []}), workers=1, quiet=True)
    assert "decontaminated" not in json.loads((plain / "shards" / "manifest.json").read_text())


def test_the_html_report_has_a_decontamination_section(tmp_path):
    from corpuskit.report.build import render_report

    corpus(tmp_path / "in")
    out = run(tmp_path, "out", {"action": "drop"})
    html = render_report(out)
    assert "Decontamination: evaluation items found" in html
    assert "quiz [" in html and "story [" in html


def test_one_pass_with_no_intermediate_copy_and_the_findings_in_each_units_marker(tmp_path):
    """Each document's decision needs only the document and the index: one pass, as a streaming stage."""
    corpus(tmp_path / "in")
    out = run(tmp_path, "out", {"action": "drop"}, workers=2)
    assert sorted(p.name for p in (out / "_work" / "done").iterdir()) == ["seg0-unit00000", "seg0-unit00001"]
    assert not (out / "_work" / "seg0").exists()  # no copy of the documents for a second pass
    marker = json.loads((out / "_work" / "done" / "seg0-unit00001").read_text())
    assert "_work/stages/decontaminate/found-00001.jsonl" in marker["outputs"]
    found = (out / "_work" / "stages" / "decontaminate" / "found-00001.jsonl").read_text()
    assert [json.loads(line)["id"] for line in found.splitlines()] == ["story"]


def test_a_changed_findings_file_redoes_its_unit_and_gives_the_same_report(tmp_path):
    corpus(tmp_path / "in")
    out = run(tmp_path, "out", {"action": "drop"})
    before = outputs(out)
    (out / "_work" / "stages" / "decontaminate" / "found-00000.jsonl").write_text("")
    messages = []
    cfg = command_pipeline(str(tmp_path / "in"), str(out), [{"decontaminate": {"eval": [str(FIXTURES)],
                                                                               "action": "drop"}}], "jsonl")
    run_pipeline(cfg, workers=1, log=messages.append)
    assert any("found-00000.jsonl changed since it was written; redoing it" in m for m in messages), messages
    assert outputs(out) == before


def _big_corpus(folder: Path) -> None:
    """Enough documents that a run lasts a while: six files, a contaminated page in every tenth."""
    folder.mkdir()
    for f in range(6):
        lines = []
        for k in range(1500):
            text = f"{PAGE} {k}" if k % 10 else f"{PAGE}\n\n{QUESTION} a balance\n\n{STORY}"
            lines.append(json.dumps({"id": f"{f}-{k}", "text": text}) + "\n")
        (folder / f"part{f}.jsonl").write_text("".join(lines))


def test_killed_at_any_moment_the_rerun_gives_the_same_bytes(tmp_path):
    _big_corpus(tmp_path / "in")

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "corpuskit", "decontaminate", str(tmp_path / "in"), str(out), "--eval",
                str(FIXTURES), "--action", "cut", "--format", "jsonl", "--workers", "2", "--quiet"]

    t0 = time.monotonic()
    subprocess.run(command(tmp_path / "ref"), check=True, capture_output=True)
    duration = time.monotonic() - t0
    expected = outputs(tmp_path / "ref")
    out, kills = tmp_path / "out", 0
    for k in range(6):
        proc = subprocess.Popen(command(out), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(duration * (k + 0.5) / 6)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate()
    done = subprocess.run(command(out), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert outputs(out) == expected
    assert kills >= 3


def test_an_eval_file_changed_in_place_redoes_the_stage_on_rerun(tmp_path):
    # the same pipeline, the same path: the file's new content decides, not a unit done before it
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.jsonl").write_text(json.dumps({"id": "page", "text": f"{PAGE}\n\n{STORY}"}) + "\n")
    evalfile = tmp_path / "ev.jsonl"
    evalfile.write_text(json.dumps({"text": "an unrelated item about the chemistry of weathering rocks"}) + "\n")
    cfg = command_pipeline(str(tmp_path / "in"), str(tmp_path / "out"), [{"decontaminate": {"eval": [str(evalfile)]}}],
                           "jsonl")
    run_pipeline(cfg, workers=1, quiet=True)
    assert [r["id"] for r in rows(tmp_path / "out")] == ["page"]
    evalfile.write_text(json.dumps({"text": STORY}) + "\n")
    run_pipeline(cfg, workers=1, quiet=True)
    assert rows(tmp_path / "out") == []
    assert [r["reason"] for r in rows(tmp_path / "out" / "rejected")] == ["contaminated"]
