"""The classifier toolkit: one copy of the features, training and weights format, shared by toxicity and quality."""

from __future__ import annotations

import numpy as np

from corpuskit.classify import hashed, train
from corpuskit.classify.metrics import roc_auc
from helpers import load_script

GOOD = ["The committee reviewed the evidence carefully and published a detailed report on the causes.",
        "Photosynthesis converts light energy into chemical energy stored in glucose molecules.",
        "The treaty ended the war and redrew the borders of several countries in the region."]
BAD = ["click here buy now best price cheap cheap cheap free shipping",
       "lol omg u gotta see this!!! subscribe like share",
       "home about contact login sign up cart checkout"]


def test_toxicity_uses_the_toolkit_not_a_copy():
    from corpuskit.stages.toxicity import classifier, embedding, evaluate

    tox_train = load_script("train_toxicity")
    assert issubclass(classifier.HashedClassifier, hashed.HashedClassifier)
    assert classifier.unit_counts is hashed.unit_counts and classifier.tfidf_values is hashed.tfidf_values
    assert tox_train.fit is train.fit and tox_train.save_npz is train.save_npz and tox_train.tfidf is train.tfidf
    assert embedding.Encoder.__module__ == "corpuskit.classify.embedding"
    assert evaluate.roc_auc is roc_auc


def test_trained_weights_score_documents_and_save_byte_identically(tmp_path):
    texts, y = GOOD + BAD, [1, 1, 1, 0, 0, 0]
    counts = train.featurize(texts, 1 << 12, max_chars=10_000)
    idf = train.fitted_idf(counts)
    files = []
    for run in ("a", "b"):
        w, b = train.fit(train.tfidf(counts, idf.astype(np.float32)), y, np.ones(6), steps=60)
        path = tmp_path / f"{run}.npz"
        train.save_npz(path, weights=w.astype(np.float16), bias=np.float64(b), idf=idf,
                       n_buckets=np.int64(1 << 12), features=np.str_(hashed.FEATURES))
        files.append(path.read_bytes())
    assert files[0] == files[1]  # fixed zip timestamps, no random numbers
    clf = hashed.HashedClassifier(tmp_path / "a.npz")
    scores = clf.score_texts(texts)
    assert roc_auc(scores, y) == 1.0
    # batched and one at a time give the same numbers
    assert np.allclose(scores, [clf.score(t) for t in texts], atol=1e-6)


def test_fit_reports_progress_every_step():
    seen = []
    train.fit(np.eye(3, dtype=np.float32), [1, 0, 1], np.ones(3), steps=5, progress=seen.append)
    assert seen == [1, 2, 3, 4, 5]
