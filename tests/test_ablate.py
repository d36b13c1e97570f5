"""`corpuskit ablate`: variants prepared, trained alike, scored on the same held-out text, compared."""

import gzip
import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpuskit.ablation.report import compare
from corpuskit.ablation.run import HELDOUT, AblationError, parse_variants
from corpuskit.cli import cli
from corpuskit.tokenize.inputs import InputDocuments

REPO = Path(__file__).resolve().parent.parent
TINY = ("model.n_layer=1", "model.n_embd=32", "model.n_head=2", "batch_size=8", "model.block_size=32")


def _docs(folder: Path, junk: float) -> Path:
    """Paragraphs of an embedded book as documents; `junk` of them with their words shuffled."""
    text = gzip.decompress((REPO / "corpus" / "pg11-alice-in-wonderland.txt.gz").read_bytes()).decode()
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) > 200][:60]
    rng = random.Random(0)
    rows = []
    for i, p in enumerate(paras):
        if rng.random() < junk:
            words = p.split()
            rng.shuffle(words)
            p = " ".join(words)
        rows.append(json.dumps({"id": str(i), "text": p}) + "\n")
    folder.mkdir()
    (folder / "docs.jsonl").write_text("".join(rows))
    return folder


def test_variants_are_named_checked_and_refused_clearly(tmp_path):
    (tmp_path / "books").mkdir()
    (tmp_path / "filter.yaml").write_text("stages:\n  - length_filter: {min_chars: 10}\n")
    got = parse_variants([str(tmp_path / "books"), f"short={tmp_path / 'filter.yaml'}"])
    assert [(v.name, v.pipeline) for v in got] == [("books", False), ("short", True)]
    with pytest.raises(AblationError, match="does not exist"):
        parse_variants([str(tmp_path / "missing")])
    with pytest.raises(AblationError, match="two variants are named books"):
        parse_variants([str(tmp_path / "books"), f"books={tmp_path / 'filter.yaml'}"])
    with pytest.raises(AblationError, match="the name '../x'"):
        parse_variants([f"../x={tmp_path / 'books'}"])


def _variant(name: str, mean: list[float]) -> dict:
    return {"name": name, "heldout": {"mean": sum(mean) / len(mean)},
            "seeds": [{"seed": i + 1, "heldout": {"mean": m}} for i, m in enumerate(mean)]}


def test_a_difference_counts_only_beyond_the_seed_noise():
    base = _variant("clean", [2.00, 2.02])
    rows = compare([base, _variant("junk", [2.10, 2.11]), _variant("same", [2.01, 2.03]),
                    _variant("better", [1.90, 1.91])])
    verdicts = {r["variant"]: r["heldout"]["mean"] for r in rows}
    assert verdicts["junk"] == {"difference": 0.095, "noise": 0.02, "verdict": "worse"}
    assert verdicts["same"]["verdict"] == "within seed noise"
    assert verdicts["better"]["verdict"] == "better"
    one = compare([_variant("a", [2.0]), _variant("b", [2.5])])
    assert one[0]["heldout"]["mean"]["verdict"] == "one seed: no noise estimate"


def test_the_held_out_text_is_rebuilt_byte_for_byte_by_its_script(tmp_path):
    import importlib.util

    shared = REPO.parent / "shared" / "corpora"
    if not (shared / "quality").is_dir():
        pytest.skip("needs ../shared/corpora")
    spec = importlib.util.spec_from_file_location("build_heldout", REPO / "scripts" / "build_heldout.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.OUT = tmp_path
    mod.main.__globals__["OUT"] = tmp_path
    import sys

    argv, sys.argv = sys.argv, ["build_heldout.py", "--shared", str(shared)]
    try:
        mod.main()
    finally:
        sys.argv = argv
    for name in ("books", "web", "textbook"):
        assert (tmp_path / f"{name}.txt.gz").read_bytes() == (HELDOUT / f"{name}.txt.gz").read_bytes(), name


def test_ablate_trains_every_variant_alike_and_writes_the_comparison(tmp_path):
    clean = _docs(tmp_path / "clean", 0.0)
    pipeline = tmp_path / "long.yaml"
    pipeline.write_text("stages:\n  - length_filter: {min_chars: 400, name: short_docs}\n")
    out = tmp_path / "ablation"
    args = ["ablate", f"clean={clean}", f"long={pipeline}", "--input", str(clean), "--output", str(out),
            "--seeds", "1", "--tokens", "3000", "--vocab-size", "300", "--tasks", "copa,piqa", "--task-limit", "8",
            "-w", "1"]
    for key in TINY:
        args += ["--train-arg", key]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "long vs clean: mean held-out bits per byte" in result.output
    report = json.loads((out / "ablation.json").read_text())
    assert [v["name"] for v in report["variants"]] == ["clean", "long"]
    assert report["steps"] == 12 and report["tokens_per_step"] == 256  # ceil(3000 / (8 x 32))
    for v in report["variants"]:
        assert set(v["heldout"]) == {"books", "web", "textbook", "mean"}
        assert [s["seed"] for s in v["seeds"]] == [1]
        assert 1.0 < v["heldout"]["mean"] < 12.0
        mean = sum(v["heldout"][d] for d in ("books", "web", "textbook")) / 3
        assert abs(v["heldout"]["mean"] - mean) < 1e-4
    # the pipeline variant ran on --input, and only long documents reached its shards
    kept = [d.text for d in InputDocuments(out / "variants" / "long" / "data")]
    assert 0 < len(kept) < 60 and all(len(t) >= 400 for t in kept)
    # one tokenizer for both: the same file in both shard folders
    tok = [(out / "variants" / n / "shards" / "tokenizer.json").read_bytes() for n in ("clean", "long")]
    assert tok[0] == tok[1]
    # the task suite, scored on each checkpoint: 8 items of each task, and the CORE-style mean
    for v in report["variants"]:
        assert sorted(v["tasks"]["tasks"]) == ["copa", "piqa"]
        assert all(0 <= t["accuracy"] <= 1 for t in v["tasks"]["tasks"].values())
        seed = v["seeds"][0]["tasks"]
        assert {t["n"] for t in seed["tasks"].values()} == {8}
        assert v["tasks"]["core"] == round(sum(t["centered"] for t in seed["tasks"].values()) / 2, 5)
    row = report["comparison"][0]
    assert row["variant"] == "long" and row["baseline"] == "clean"
    assert row["heldout"]["mean"]["verdict"] == "one seed: no noise estimate"
    html = (out / "report.html").read_text()
    assert "<th>clean</th>" in html and "<th>long</th>" in html and row["heldout"]["mean"]["verdict"] in html
    assert "<th>copa</th>" in html
    # a rerun trains nothing again and gives the same figures
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()} == stamps
    assert json.loads((out / "ablation.json").read_text()) == report


def test_a_folder_of_someone_elses_files_is_refused(tmp_path):
    clean = _docs(tmp_path / "clean", 0.0)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["ablate", str(clean), "--output", str(mine), "--tasks", "none"])
    assert result.exit_code == 1 and "not created by corpuskit" in result.output
    assert (mine / "notes.txt").read_text() == "keep me"


def test_pipeline_variants_on_ray_and_training_on_two_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    clean = _docs(tmp_path / "clean", 0.0)
    pipeline = tmp_path / "long.yaml"
    pipeline.write_text("stages:\n  - length_filter: {min_chars: 400, name: short_docs}\n")
    out = tmp_path / "ablation"
    args = ["ablate", f"long={pipeline}", "--input", str(clean), "--output", str(out), "--seeds", "1",
            "--tokens", "3000", "--vocab-size", "300", "--tasks", "none", "-w", "1", "--executor", "ray",
            "--nproc", "2", "--train-arg", "dtype=float32"]
    for key in TINY:
        args += ["--train-arg", key]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "ablation.json").read_text())
    assert report["nproc"] == 2 and report["tokens_per_step"] == 512 and report["steps"] == 6
    assert "executor ray" in (out / "variants" / "long" / "data" / "logs" / "run.log").read_text()
    metrics = [json.loads(line) for line in open(out / "variants" / "long" / "seed-1" / "metrics.jsonl")]
    assert max(m.get("step", 0) for m in metrics) == 6


def test_a_failed_step_names_its_cause_above_the_launchers_summary():
    """torchrun's summary of a crashed rank names a signal, not a cause: the line that does is kept."""
    import sys

    from corpuskit.ablation.run import _run

    script = ("import sys; print('step 1', file=sys.stderr); "
              "print(\"terminate called after throwing an instance of 'gloo::IoException'\", file=sys.stderr); "
              "[print(f'summary {i}', file=sys.stderr) for i in range(6)]; sys.exit(3)")
    with pytest.raises(AblationError) as err:
        _run([sys.executable, "-c", script], "train x", lambda _: None)
    assert str(err.value).splitlines() == [
        "train x failed (exit 3):", "terminate called after throwing an instance of 'gloo::IoException'", "...",
        "summary 1", "summary 2", "summary 3", "summary 4", "summary 5"]
