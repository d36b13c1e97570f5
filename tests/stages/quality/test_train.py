"""`corpuskit quality train`: labels from a field, from separate inputs or from a score; dev figures; the card."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.stages.quality.model import QualityModel

from helpers.quality import labelled, write_jsonl


def test_trained_model_separates_dev_pages_and_its_card_says_how(small_model):
    folder, card = small_model
    assert card["dev"]["roc_auc"] == 1.0 and card["dev"]["n"] == 40
    assert card["training"]["rows"] == 120 and card["threshold"] == card["dev"]["threshold"]
    assert card["data"]["inputs"][0]["file"] == "train.jsonl" and len(card["data"]["inputs"][0]["sha256"]) == 64
    on_disk = json.loads((folder / "card.json").read_text())
    assert on_disk["features"]["n_buckets"] == 4096 and on_disk["format"] == "corpuskit-quality/1"
    model = QualityModel(folder)
    good, bad = model.score_texts([labelled(2, 9)[0]["text"], labelled(2, 9)[1]["text"]])
    assert good > model.threshold > bad


def test_cli_trains_from_positive_and_negative_inputs_and_prints_dev_figures(tmp_path):
    rows = labelled(100, 3)
    write_jsonl(tmp_path / "good.jsonl", [{"id": r["id"], "text": r["text"]} for r in rows if r["label"]])
    write_jsonl(tmp_path / "bad.jsonl", [{"id": r["id"], "text": r["text"]} for r in rows if not r["label"]])
    result = CliRunner().invoke(cli, ["quality", "train", "--positive", str(tmp_path / "good.jsonl"), "--negative",
                                      str(tmp_path / "bad.jsonl"), "-o", str(tmp_path / "m"), "--dev-fraction", "0.3",
                                      "--steps", "30", "--buckets", "4096", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "ROC-AUC    1.0000" in result.output and "precision" in result.output and "recall" in result.output
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert [d.get("label") for d in card["data"]["inputs"][:2]] == [1, 0]
    assert 0 < card["dev"]["n"] < 100  # the seeded split held some out


def test_training_twice_writes_the_same_bytes(tmp_path):
    write_jsonl(tmp_path / "t.jsonl", labelled(60, 4))
    args = ["quality", "train", str(tmp_path / "t.jsonl"), "--steps", "20", "--buckets", "1024", "--no-progress"]
    for name in ("a", "b"):
        assert CliRunner().invoke(cli, args + ["-o", str(tmp_path / name)]).exit_code == 0
    for f in ("weights.npz", "card.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_a_score_field_and_threshold_label_the_documents(tmp_path):
    rows = [{"id": r["id"], "text": r["text"], "edu": 4 if r["label"] else 1} for r in labelled(60, 5)]
    write_jsonl(tmp_path / "scored.jsonl", rows)
    result = CliRunner().invoke(cli, ["quality", "train", str(tmp_path / "scored.jsonl"), "--score-field", "edu",
                                      "--min-score", "3", "-o", str(tmp_path / "m"), "--steps", "20",
                                      "--buckets", "1024", "--dev-fraction", "0.3", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "card.json").read_text())["data"]["inputs"][0]["label"] == "edu >= 3.0"


@pytest.mark.parametrize("record, message", [
    ({"id": "x", "text": "a page"}, "t.jsonl: document x: no field 'label'"),
    ({"id": "x", "text": "a page", "label": 0.5}, "t.jsonl: document x: field 'label' is 0.5; a label is 0 or 1"),
    ({"id": "x", "text": "a page", "label": "good"}, "field 'label' is 'good'"),
])
def test_a_bad_label_is_an_error_naming_the_file_and_document(tmp_path, record, message):
    write_jsonl(tmp_path / "t.jsonl", labelled(10, 6) + [record])
    result = CliRunner().invoke(cli, ["quality", "train", str(tmp_path / "t.jsonl"), "-o", str(tmp_path / "m")])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "m").exists()


def test_an_unreadable_record_stops_training_with_its_line(tmp_path):
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labelled(10, 7)) + "{not json\n")
    result = CliRunner().invoke(cli, ["quality", "train", str(tmp_path / "t.jsonl"), "-o", str(tmp_path / "m")])
    assert result.exit_code != 0 and "t.jsonl:11" in result.output and "malformed_json" in result.output


def test_a_folder_that_is_not_a_model_is_not_written_into(tmp_path):
    write_jsonl(tmp_path / "t.jsonl", labelled(20, 8))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["quality", "train", str(tmp_path / "t.jsonl"), "-o", str(tmp_path / "m")])
    assert result.exit_code != 0 and "holds no model" in result.output
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["notes.txt"]
