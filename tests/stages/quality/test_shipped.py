"""The shipped quality model: rebuilt byte for byte by its script, loaded offline, sane on clear cases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from corpuskit.stages.quality.model import DEFAULT_MODEL, QualityModel
from helpers import load_script

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("CORPUSKIT_SHARED") or REPO.parent / "shared") / "corpora"

PROSE = ("The committee examined how the river's floods shaped the towns along its banks. Farmers depended on "
         "the water for their fields, but the same water destroyed homes when the spring rains were heavy. "
         "Over several decades, engineers built levees and reservoirs, and the damage from floods declined, "
         "although the changes also altered the habitats of fish and birds that lived in the wetlands.")
SPAM = "BUY NOW | CHEAP | FREE SHIPPING\nclick here >>> $$$ best deals 2024\nLogin | Cart | Checkout\n#sale #win"


@pytest.mark.skipif(not (SHARED / "quality").is_dir(), reason="needs ../shared/corpora/quality (the named data)")
def test_the_script_rebuilds_the_shipped_model_byte_for_byte(tmp_path):
    build = load_script("build_quality_model")
    assert build.main(["--out", str(tmp_path / "model")]) == 0
    for name in ("weights.npz", "card.json"):
        assert (tmp_path / "model" / name).read_bytes() == (DEFAULT_MODEL / name).read_bytes(), name


def test_the_shipped_model_loads_offline_and_ranks_prose_above_spam(offline):
    from corpuskit.stages.quality.stage import load_quality_model

    load_quality_model.cache_clear()
    model = load_quality_model("")
    prose, spam = model.score_texts([PROSE, SPAM])
    assert prose > model.threshold > spam
    card = json.loads((DEFAULT_MODEL / "card.json").read_text())
    assert card["dev"]["roc_auc"] >= 0.7 and card["data"]["inputs"][-1]["use"].startswith("threshold")


def test_the_script_refuses_data_that_is_not_the_named_copy(tmp_path, capsys):
    (tmp_path / "positives_openstax.jsonl.gz").write_bytes(b"not the file")
    assert load_script("build_quality_model").main([str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "not the file MANIFEST.md names" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_scores_do_not_depend_on_the_batch(offline):
    model = QualityModel()
    texts = [PROSE, SPAM, PROSE[:300], "", "x" * 5000]
    together = model.score_texts(texts)
    alone = [model.score_texts([t])[0] for t in texts]
    assert together.tolist() == alone
