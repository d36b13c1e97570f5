"""The shipped hashed classifier: safe to load, separates held-out tweets, retrains byte-identically."""

import csv
from pathlib import Path

import numpy as np
import pytest

from corpuskit.stages.toxicity.classifier import WEIGHTS, HashedClassifier
from corpuskit.stages.toxicity.evaluate import binary_metrics, roc_auc
from helpers import FIXTURES, load_script

train = load_script("train_toxicity")

FIXTURE = FIXTURES / "davidson_heldout_sample.csv"


def _sample():
    rows = list(csv.DictReader(FIXTURE.open(encoding="utf-8")))
    return [r["tweet"] for r in rows], np.array([1 if r["class"] in ("0", "1") else 0 for r in rows])


def test_weights_are_small_and_plain_arrays():
    assert WEIGHTS.stat().st_size < 3_000_000
    with np.load(WEIGHTS, allow_pickle=False) as data:  # raises if the file held pickled objects
        assert set(data.files) == {"weights", "bias", "n_buckets"}
        assert data["weights"].dtype == np.float16


def test_fixture_is_held_out_from_training():
    texts, _ = _sample()
    assert all(train.is_heldout(t) for t in texts)


def test_held_out_tweets_are_separated():
    texts, y = _sample()
    clf = HashedClassifier()
    scores = [clf.score(t) for t in texts]
    m = binary_metrics(scores, y, 0.5)
    assert m["roc_auc"] > 0.93
    assert m["precision"] > 0.9 and m["recall"] > 0.8


def test_units_are_scored_independently_of_batching():
    clf = HashedClassifier()
    units = [["you", "stupid", "bitch"], [], ["a", "lovely", "garden"], ["@someone", "rt"]]
    together = clf.score_units(units)
    alone = [clf.score_units([u])[0] for u in units]
    assert np.allclose(together, alone)
    assert together[1] == 0.0 and together[3] == 0.0  # nothing to judge
    assert together[0] > 0.5 > together[2]


def test_training_is_deterministic(tmp_path):
    data = tmp_path / "labelled.csv"
    texts, y = _sample()
    with data.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["class", "tweet"])
        w.writerows([["1" if label else "2", t] for t, label in zip(texts, y)])
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for out in (a, b):
        # everything here is held out, so train on the whole file by patching the split off
        assert train.main([str(data), "--out", str(out), "--steps", "50", "--all"]) == 0
    assert a.read_bytes() == b.read_bytes()
    trained = HashedClassifier(a)
    assert trained.score("you stupid bitch") > trained.score("what a lovely morning")


def test_roc_auc_handles_ties_and_missing_class():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert np.isnan(roc_auc([0.1, 0.2], [1, 1]))
