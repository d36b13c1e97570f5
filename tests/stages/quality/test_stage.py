"""The `quality` stage in a pipeline: scores in metadata, threshold or top share kept, reasons, report."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.pipeline import PipelineError, parse_pipeline
from corpuskit.runner import run_pipeline
from helpers.quality import labelled, write_jsonl


def _run(inp, out, params, workers=1, executor="local"):
    cfg = parse_pipeline({"input": str(inp), "output": str(out), "stages": [{"quality": params}]})
    run_pipeline(cfg, workers=workers, executor=executor, quiet=True)


def _rows(folder):
    return [r for p in sorted(folder.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


@pytest.fixture
def corpus(tmp_path):
    """Three input files (three units) of generated pages, half good."""
    for i in range(3):
        write_jsonl(tmp_path / "in" / f"f{i}.jsonl", labelled(30, 20 + i))
    return tmp_path / "in"


def test_threshold_keeps_the_good_pages_with_their_score_and_rejects_the_rest_with_reason(small_model, corpus,
                                                                                         tmp_path):
    folder, card = small_model
    _run(corpus, tmp_path / "out", {"model": str(folder), "threshold": 0.5})
    kept, rejected = _rows(tmp_path / "out"), _rows(tmp_path / "out" / "rejected")
    assert len(kept) + len(rejected) == 90 and kept and rejected
    for r in kept:
        meta = json.loads(r["metadata"])
        assert meta["label"] == 1 and meta["quality_score"] >= 0.5
    for r in rejected:
        meta = json.loads(r["metadata"])
        assert r["reason"] == "low_quality" and r["stage"] == "quality" and meta["label"] == 0
        assert meta["quality_score"] < 0.5
        assert r["detail"] == f"quality_score {meta['quality_score']:.4f} below the threshold 0.5"


def test_annotate_scores_every_page_and_drops_none(small_model, corpus, tmp_path):
    _run(corpus, tmp_path / "out", {"model": str(small_model[0]), "annotate": True})
    kept = _rows(tmp_path / "out")
    assert len(kept) == 90 and not (tmp_path / "out" / "rejected").exists()
    scores = {json.loads(r["metadata"])["label"]: 0 for r in kept}
    assert set(scores) == {0, 1}
    assert all(0.0 <= json.loads(r["metadata"])["quality_score"] <= 1.0 for r in kept)


def _kept_ids(out):
    return sorted(r["id"] for r in _rows(out))


def test_keep_fraction_keeps_the_same_top_pages_for_one_and_two_workers_and_ray(small_model, corpus, tmp_path):
    pytest.importorskip("ray")
    params = {"model": str(small_model[0]), "keep_fraction": 0.3}
    runs = {}
    for name, workers, executor in (("one", 1, "local"), ("two", 2, "local"), ("ray", 2, "ray")):
        _run(corpus, tmp_path / name, params, workers, executor)
        runs[name] = _kept_ids(tmp_path / name)
    assert runs["one"] == runs["two"] == runs["ray"] and len(runs["one"]) == 27  # 30% of 90
    scores = [json.loads(r["metadata"])["quality_score"] for r in _rows(tmp_path / "one")]
    dropped = [json.loads(r["metadata"])["quality_score"] for r in _rows(tmp_path / "one" / "rejected")]
    assert min(scores) >= max(dropped)  # the top of the whole corpus, not of each file
    assert {r["detail"].split(" ", 2)[2] for r in _rows(tmp_path / "one" / "rejected")} == {
        "not in the top 0.3 of the corpus"}


def test_report_has_a_histogram_and_example_pages_per_band(small_model, corpus, tmp_path):
    _run(corpus, tmp_path / "out", {"model": str(small_model[0]), "threshold": 0.5})
    report = json.loads((tmp_path / "out" / "reports" / "quality.json").read_text())
    assert sum(report["histogram"]["counts"]) == 90 == report["documents"]
    assert report["kept"] + report["dropped"] == 90 and report["rule"] == "drop quality_score < 0.5"
    bands = report["examples"]
    assert bands and all(len(pages) <= 3 for pages in bands.values())
    for band, pages in bands.items():
        low, high = map(float, band.split("-"))
        assert all(low <= p["score"] <= high and p["text"] for p in pages)


def test_threshold_and_keep_fraction_together_are_refused_at_load(small_model, tmp_path):
    with pytest.raises(PipelineError, match="threshold or keep_fraction"):
        parse_pipeline({"input": str(tmp_path), "output": str(tmp_path / "o"),
                        "stages": [{"quality": {"model": str(small_model[0]), "threshold": 0.5,
                                                "keep_fraction": 0.1}}]})


def _copy_model(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_a_model_from_another_version_or_with_damaged_weights_is_a_clear_error(small_model, tmp_path):
    other = _copy_model(small_model[0], tmp_path / "other")
    card = json.loads((other / "card.json").read_text())
    (other / "card.json").write_text(json.dumps({**card, "format": "corpuskit-quality/0"}))
    damaged = _copy_model(small_model[0], tmp_path / "damaged")
    raw = bytearray((damaged / "weights.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (damaged / "weights.npz").write_bytes(bytes(raw))
    for folder, message in ((other, "a model of format 'corpuskit-quality/0'; this version of corpuskit reads "
                                    "'corpuskit-quality/1'"),
                            (damaged, "weights.npz: does not match the sha256 in card.json"),
                            (tmp_path / "missing", "not a model folder")):
        result = CliRunner().invoke(cli, ["quality", "score", str(tmp_path), str(tmp_path / f"o-{folder.name}"),
                                          "--model", str(folder)])
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output


def test_quality_score_command_annotates_a_run_folder(small_model, corpus, tmp_path):
    result = CliRunner().invoke(cli, ["quality", "score", str(corpus), str(tmp_path / "scored"), "--model",
                                      str(small_model[0]), "--quiet"])
    assert result.exit_code == 0, result.output
    kept = _rows(tmp_path / "scored")
    assert len(kept) == 90 and all("quality_score" in json.loads(r["metadata"]) for r in kept)
    good = [json.loads(r["metadata"])["quality_score"] for r in kept if json.loads(r["metadata"])["label"] == 1]
    bad = [json.loads(r["metadata"])["quality_score"] for r in kept if json.loads(r["metadata"])["label"] == 0]
    assert np.mean(good) > np.mean(bad)
