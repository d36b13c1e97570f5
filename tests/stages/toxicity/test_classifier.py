"""The shipped hashed classifier: safe to load, separates toxic text, retrains byte-identically."""

import csv
import gzip

import numpy as np
import pytest

from corpuskit.stages.toxicity.classifier import FEATURES, WEIGHTS, HashedClassifier, unit_features
from corpuskit.stages.toxicity.evaluate import binary_metrics, roc_auc
from corpuskit.stages.toxicity.sources import dev_fold
from helpers import FIXTURES, load_script

train = load_script("train_toxicity")

FIXTURE = FIXTURES / "davidson_heldout_sample.csv"


def _sample():
    rows = list(csv.DictReader(FIXTURE.open(encoding="utf-8")))
    return [r["tweet"] for r in rows], np.array([1 if r["class"] in ("0", "1") else 0 for r in rows])


def test_weights_are_small_and_plain_arrays():
    assert WEIGHTS.stat().st_size < 5_000_000
    with np.load(WEIGHTS, allow_pickle=False) as data:  # raises if the file held pickled objects
        assert set(data.files) == {"weights", "bias", "idf", "n_buckets", "features"}
        assert data["weights"].dtype == data["idf"].dtype == np.float16
        assert str(data["features"]) == FEATURES


def test_dev_fold_tweets_are_separated():
    # the dev fold is left out of training (thresholds are tuned there), so these were never seen
    texts, y = _sample()
    keep = [i for i, t in enumerate(texts) if dev_fold(t)]
    assert len(keep) > 50
    clf = HashedClassifier()
    m = binary_metrics([clf.score(texts[i]) for i in keep], y[keep], 0.5)
    assert m["roc_auc"] > 0.9


def test_features_ignore_position_and_survive_obfuscation():
    a = unit_features("xx you stupid bitch", [(3, 19)], 1 << 20)[1]
    b = unit_features("you stupid bitch", [(0, 16)], 1 << 20)[1]
    assert sorted(a) == sorted(b)
    plain = set(unit_features("bitch", [(0, 5)], 1 << 20)[1])
    leet = set(unit_features("b1tch!!", [(0, 7)], 1 << 20)[1])
    assert plain & leet  # shared character n-grams (` b`, `tch `)


def test_units_are_scored_independently_of_batching():
    clf = HashedClassifier()
    text = "you stupid bitch\n!!!\na lovely garden"
    spans = [(0, 16), (17, 20), (21, 36)]
    together = clf.score_spans(text, spans)
    alone = [clf.score_spans(text, [s])[0] for s in spans]
    assert np.allclose(together, alone)
    assert together[1] == 0.0  # punctuation only: nothing to judge
    assert together[0] > 0.5 > together[2]


def test_unit_vectors_are_sublinear_tfidf_of_unit_length():
    from corpuskit.stages.toxicity.classifier import tfidf_values

    unit, slot, count = np.array([0, 0, 1]), np.array([3, 5, 3]), np.array([1, 4, 2])
    idf = np.array([1, 1, 1, 2.0, 1, 0.5], dtype=np.float32)
    value = tfidf_values(unit, count, idf[slot], 2)
    raw = np.array([2.0, 0.5 * (1 + np.log(4))])
    assert np.allclose(value[:2], raw / np.linalg.norm(raw))
    assert np.allclose(value[2], 1.0)  # a unit with one slot: length 1 whatever its count


def test_scoring_matches_the_training_matrix(tmp_path):
    # the stage and the training script must compute the same vector for a text
    texts, y = _sample()
    clf = HashedClassifier()
    counts = train.featurize(texts[:50])
    x = train.tfidf(counts, clf.idf)
    p = 1.0 / (1.0 + np.exp(-(x @ clf.weights + clf.bias)))
    assert np.allclose(p, [clf.score(t) for t in texts[:50]], atol=1e-5)


def _write_sources(folder, texts, y):
    folder.mkdir()
    for name, part in (("a", slice(0, None, 2)), ("b", slice(1, None, 2))):
        with gzip.open(folder / f"{name}.csv.gz", "wt", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "label", "source", "split", "category"])
            w.writerows([[t, int(lab), name, "train", ""] for t, lab in zip(texts[part], y[part])])


def test_training_is_deterministic(tmp_path):
    texts, y = _sample()
    data = tmp_path / "tox"
    _write_sources(data, np.array(texts, dtype=object), y)
    outs = []
    for run in ("a", "b"):
        w = tmp_path / f"{run}.npz"
        assert train.main([str(data), "--davidson", "", "--books", "", "--out", str(w), "--steps", "40",
                           "--no-embedding", "--buckets", "65536"]) == 0
        outs.append(w.read_bytes())
    assert outs[0] == outs[1]
    trained = HashedClassifier(tmp_path / "a.npz")
    assert trained.score("you stupid bitch") > trained.score("what a lovely morning")


def test_old_weights_are_refused(tmp_path):
    old = tmp_path / "old.npz"
    np.savez(old, weights=np.zeros(8, dtype=np.float16), bias=0.0, n_buckets=8)
    with pytest.raises(ValueError, match="features"):
        HashedClassifier(old)


def test_roc_auc_handles_ties_and_missing_class():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert np.isnan(roc_auc([0.1, 0.2], [1, 1]))
