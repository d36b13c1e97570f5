"""The toxicity stage: unit scores aggregated per document, then drop / redact / annotate."""

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from corpuskit.document import Document
from corpuskit.stages import build_stage, StageConfigError
from corpuskit.stages.toxicity.aggregate import split_units
from corpuskit.stages.toxicity.stage import ToxicityFilter
from helpers import FIXTURES

FIXTURE = FIXTURES / "davidson_heldout_sample.csv"

NOVEL = (
    "The captain looked at the grey sea for a long while before he spoke.\n"
    "\"Shut up, you stupid bastard,\" he muttered, and then he laughed.\n"
    "We sailed on through the night, and by morning the island was in sight.\n"
    "The crew were tired but glad, and the cook made porridge for all of us.\n"
    "Nobody spoke of the map again until we had dropped anchor in the bay."
)
ABUSE = "\n".join([
    "shut up you stupid bitch",
    "go kill yourself you worthless faggot",
    "fuck you and your whore mother",
    "nice weather today",
])


def _docs(*texts):
    return [Document(text=t, id=f"d{i}") for i, t in enumerate(texts)]


def test_abuse_dropped_with_reason_and_novel_kept_with_scores():
    stage = ToxicityFilter()
    rejected = []
    stage.reject = lambda doc, reason, name, **detail: rejected.append((doc.id, reason, name, detail))
    kept = list(stage(_docs(NOVEL, ABUSE)))
    assert [d.id for d in kept] == ["d0"]
    assert rejected[0][:3] == ("d1", "toxic", "toxicity")
    assert "char_fraction" in rejected[0][3]["detail"]
    assert stage.stats.counters == {"dropped_toxic": 1}
    meta = kept[0].metadata["toxicity"]
    assert meta["score"] < 0.3 and meta["units"] == 5
    assert set(meta) == {"score", "max", "fraction", "char_fraction", "units", "toxic_units"}


def test_redact_removes_only_toxic_units():
    stage = ToxicityFilter(action="redact", unit="line")
    (doc,) = stage(_docs(ABUSE))
    assert doc.text.strip() == "nice weather today"
    assert stage.stats.counters["redacted_units"] == 3
    assert stage.stats.counters["modified"] == 1


def test_redact_drops_a_document_left_empty():
    stage = ToxicityFilter(action="redact")
    assert list(stage(_docs("fuck you bitch"))) == []
    assert stage.stats.counters == {"dropped_toxic": 1}


def test_annotate_keeps_everything():
    stage = ToxicityFilter(action="annotate")
    kept = list(stage(_docs(NOVEL, ABUSE)))
    assert len(kept) == 2
    assert kept[1].metadata["toxicity"]["score"] > 0.5
    assert kept[1].text == ABUSE


@pytest.mark.parametrize("aggregate", ["max", "fraction", "char_fraction"])
def test_aggregates_order_abuse_above_novel(aggregate):
    stage = ToxicityFilter(aggregate=aggregate, action="annotate")
    novel, abuse = stage(_docs(NOVEL, ABUSE))
    assert abuse.metadata["toxicity"]["score"] > novel.metadata["toxicity"]["score"]


def test_max_aggregate_is_the_naive_rule_that_drops_the_novel():
    # why the default is a fraction: one curse in dialogue is enough for `max`
    assert list(ToxicityFilter(aggregate="max", doc_threshold=0.5)(_docs(NOVEL))) == []


def test_mostly_abusive_documents_are_dropped():
    """Documents of Davidson tweets, with fewer clean tweets mixed in, are dropped >= 60%.

    The unit threshold (0.8) is set so that single book paragraphs lose at most 0.3%; the
    price is recall on short abusive documents (docs/TOXICITY.md).
    """
    rows = list(csv.DictReader(FIXTURE.open(encoding="utf-8")))
    toxic = [r["tweet"].replace("\n", " ") for r in rows if r["class"] in ("0", "1")]
    clean = [r["tweet"].replace("\n", " ") for r in rows if r["class"] == "2"]
    rng = random.Random(0)
    docs = []
    for i in range(200):
        k = rng.randint(3, 10)
        lines = rng.sample(toxic, k) + rng.sample(clean, rng.randint(0, k - 1))
        rng.shuffle(lines)
        docs.append(Document(text="\n".join(lines), id=str(i)))
    stage = ToxicityFilter()
    kept = list(stage(docs))
    assert stage.stats.counters["dropped_toxic"] >= 0.6 * len(docs)  # 132 of 200 with the TF-IDF classifier
    assert len(kept) + stage.stats.counters["dropped_toxic"] == len(docs)


def test_units():
    text = "Hello there. Who's that?!\nA line\n\n  last"
    assert [text[a:b] for a, b in split_units(text)] == ["Hello there.", "Who's that?!", "A line", "last"]
    assert [text[a:b] for a, b in split_units(text, "line")] == ["Hello there. Who's that?!", "A line", "last"]


def test_registry_and_bad_parameters():
    assert isinstance(build_stage("toxicity", {"doc_threshold": 0.5}), ToxicityFilter)
    with pytest.raises(StageConfigError, match="action"):
        build_stage("toxicity", {"action": "burn"})
    with pytest.raises(StageConfigError, match="threshold"):
        build_stage("toxicity", {"threshold": 1.5})
    with pytest.raises(StageConfigError, match="model"):
        build_stage("toxicity", {"scorer": "hf"})
    with pytest.raises(StageConfigError, match="model 'no-such-head.npz': no such file or folder"):
        build_stage("toxicity", {"scorer": "embedding", "model": "no-such-head.npz"})
    with pytest.raises(StageConfigError, match="wordlist 'no-such-list.txt': no such file"):
        build_stage("toxicity", {"wordlist": "no-such-list.txt"})


def test_a_model_file_the_scorer_cannot_use_is_a_config_error_naming_it(tmp_path):
    from corpuskit.errors import ConfigError
    from corpuskit.stages.toxicity.scorers import load_scorer

    weights = tmp_path / "weights.npz"
    np.savez(weights, weights=np.zeros(3))  # no bias, no idf: not a classifier's weights
    stage = build_stage("toxicity", {"scorer": "classifier", "model": str(weights)})
    load_scorer.cache_clear()
    with pytest.raises(ConfigError, match="stage 'toxicity': .*weights.npz"):
        stage([Document(text="a plain sentence.", id="a")]).__next__()


def test_chunked_scoring_keeps_order_and_matches_one_document_at_a_time():
    from corpuskit.stages.toxicity import stage as stage_mod

    texts = [NOVEL if i % 3 else ABUSE for i in range(2 * stage_mod.CHUNK_DOCS + 7)]
    stage = ToxicityFilter(action="annotate")
    out = list(stage(_docs(*texts)))
    assert [d.id for d in out] == [f"d{i}" for i in range(len(texts))]
    single = ToxicityFilter(action="annotate")
    for doc, text in zip(out, texts):
        result = single.score(text)
        assert doc.metadata["toxicity"] == {"score": round(result.char_fraction, 4), **result.summary()}


def test_ensemble_is_the_higher_of_the_classifier_and_the_scaled_word_list():
    """One listed word alone no longer flags a unit; the word list still lifts a unit it agrees on."""
    from corpuskit.stages.toxicity.classifier import HashedClassifier
    from corpuskit.stages.toxicity.lexicon import LexiconScorer
    from corpuskit.stages.toxicity.scorers import ENSEMBLE_LEXICON_SCALE

    text = "The old man shouted at the nigger in the road. You nigger, you faggot! It rained all day."
    spans = split_units(text)
    clf = HashedClassifier().score_spans(text.lower(), spans)
    lex = LexiconScorer().score_spans(text.lower(), spans)
    got = ToxicityFilter(scorer="ensemble").score(text)
    assert got.scores == pytest.approx(list(map(max, clf, ENSEMBLE_LEXICON_SCALE * np.array(lex))))
    assert lex[0] == pytest.approx(0.9) and got.scores[0] < 0.8  # one slur, weight 0.9: under the unit threshold
    assert lex[1] == pytest.approx(0.99) and got.scores[1] >= 0.8  # two: toxic
    assert got.toxic == [False, True, False]


def test_the_default_scorer_is_the_ensemble_and_batching_does_not_change_scores():
    """The stage, `corpuskit toxicity score` and the default pipeline all use `ensemble`; the
    classifier's joined batches give every text the scores it gets alone."""
    from corpuskit.stages.toxicity.score import scoring_stage

    assert ToxicityFilter().scorer_name == scoring_stage().scorer_name == "ensemble"
    texts = ["You nigger, you faggot! It rained all day.", "", "* * *", "A quiet sentence. Then you stupid b1tch!",
             "Go kill yourself. " * 50, "Quiet words here. " * 1000, "you stupid bitch"]  # > BATCH_CHARS: 3 batches
    stage = ToxicityFilter()
    together = stage.score_many(texts)
    for text, got in zip(texts, together):
        assert got.scores == stage.score(text).scores
    assert [sum(r.toxic) for r in together] == [1, 0, 0, 1, 50, 0, 1]
