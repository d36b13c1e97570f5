"""Gopher quality and repetition: each rule trips with its own reason and keeps a document just inside."""

from __future__ import annotations

import pytest

from helpers.clean import prose, verdict
from corpuskit.stages.analysis import TextAnalysis
from corpuskit.stages.filters.gopher import GopherQuality, GopherRepetition


def test_prose_passes_everything():
    assert verdict(GopherQuality(), prose(300)) == "kept"
    assert verdict(GopherRepetition(), prose(300)) == "kept"


def _lines(n, tag=""):
    return [tag + prose(10, seed=i) for i in range(n)]


def _plain(n):
    """n words of prose without its full stops: every token is a word."""
    return prose(n).replace(".", "")


QUALITY_CASES = [
    # (reason, params, text tripping the rule, text just inside the threshold)
    ("gopher_too_few_words", {}, prose(49), prose(50)),
    ("gopher_too_many_words", {"max_words": 100}, prose(101), prose(100)),
    # mean word length: "to" (2) and "with" (4) in equal numbers average exactly 3.0
    ("gopher_short_words", {}, "to " * 31 + "with " * 30, "to " * 30 + "with " * 30),
    # "with" (4) and a 16-letter word in equal numbers average exactly 10.0
    ("gopher_long_words", {}, "with that " * 15 + "abcdefghijklmnop " * 31, "with that " * 15 + "abcdefghijklmnop " * 30),
    # '#' per token ("#tag" is two: "#" and "tag"): 11 in 100 trips, 10 in 100 is exactly 0.1
    ("gopher_hash_ratio", {}, _plain(78) + " #tag" * 11, _plain(80) + " #tag" * 10),
    ("gopher_ellipsis_ratio", {}, "wait... " * 11 + _plain(78), "wait... " * 10 + _plain(80)),
    # bullet lines: 10 of 10 trips, 9 of 10 is exactly 0.9
    ("gopher_bullet_lines", {}, "\n".join("- " + t for t in _lines(10)),
     "\n".join(["- " + t for t in _lines(9)] + [prose(10, seed=99)])),
    # lines ending in an ellipsis: 4 of 10 trips, 3 of 10 is exactly 0.3
    ("gopher_ellipsis_lines", {}, "\n".join([t + " and then\u2026" for t in _lines(4)] + _lines(6)),
     "\n".join([t + " and then\u2026" for t in _lines(3)] + _lines(7))),
    # tokens with a letter: 79 of 100 trips, 80 of 100 is exactly 0.8 (punctuation marks are tokens)
    ("gopher_alpha_words", {}, _plain(79) + " 1234" * 21, _plain(80) + " 1234" * 20),
    ("gopher_alpha_words", {}, _plain(79) + " ," * 21, _plain(80) + " ," * 20),
    # distinct stop words, whole lowercase tokens as datatrove counts them: one trips, two is enough
    ("gopher_stop_words", {}, "river garden " * 30 + "the The WITH", "river garden " * 30 + "the with"),
]


@pytest.mark.parametrize("reason,params,trip,inside", QUALITY_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(QUALITY_CASES)])
def test_gopher_quality_rule(reason, params, trip, inside):
    assert verdict(GopherQuality(**params), trip) == reason
    assert verdict(GopherQuality(**params), inside) == "kept"


def test_stop_words_and_thresholds_are_configurable():
    text = "river garden " * 30 + "the with"
    assert verdict(GopherQuality(min_stop_words=3), text) == "gopher_stop_words"
    assert verdict(GopherQuality(stop_words=["river"], min_stop_words=1), "river garden " * 30) == "kept"


def _paras(n, seed=0, words=60):
    return [prose(words, seed=seed + i, per_line=100) for i in range(n)]


def test_dup_para_frac():
    short = "See you soon."
    trip = "\n\n".join(_paras(5) + [short] * 5)  # 4 repeated paragraphs of 10
    inside = "\n\n".join(_paras(6) + [short] * 4)  # 3 of 10: exactly 0.3
    assert verdict(GopherRepetition(), trip) == "gopher_dup_para_frac"
    assert verdict(GopherRepetition(), inside) == "kept"


def _boundary(reason, text, param, value_of):
    """At threshold == measured value the document is kept; a hair below, it trips `reason`."""
    value = value_of(TextAnalysis(text), text)
    assert verdict(GopherRepetition(**{param: value}), text) == "kept"
    assert verdict(GopherRepetition(**{param: value - 1e-9}), text) == reason


def test_dup_para_char_frac():
    paras = _paras(4)
    text = "\n\n".join(paras + [paras[0]])  # one long paragraph repeated: ~20% of characters
    loose = {"max_dup_para_frac": 1.0, "max_dup_line_frac": 1.0, "max_dup_line_char_frac": 1.0,
             "dup_n_grams": [], "top_n_grams": []}
    assert verdict(GopherRepetition(max_dup_para_char_frac=0.1, **loose), text) == "gopher_dup_para_char_frac"
    frac = len(paras[0]) / len(text)
    assert verdict(GopherRepetition(max_dup_para_char_frac=frac, **loose), text) == "kept"


def test_dup_line_rules():
    lines = _lines(10)
    trip = "\n".join(lines[:6] + ["Short line."] * 5)  # 4 repeats of 11 lines: 0.36
    inside = "\n".join(lines[:7] + ["Short line."] * 4)  # 3 repeats of 11 lines: 0.27
    no_para = {"max_dup_para_frac": 1.0, "max_dup_para_char_frac": 1.0}
    assert verdict(GopherRepetition(**no_para), trip) == "gopher_dup_line_frac"
    assert verdict(GopherRepetition(**no_para), inside) == "kept"
    text = "\n".join(lines[:4] + [lines[0]])
    frac = len(lines[0]) / len(text)
    loose = {**no_para, "dup_n_grams": [], "top_n_grams": []}
    assert verdict(GopherRepetition(max_dup_line_char_frac=frac * 0.9, **loose), text) == "gopher_dup_line_char_frac"
    assert verdict(GopherRepetition(max_dup_line_char_frac=frac, **loose), text) == "kept"


def test_speaker_labels_can_be_left_out_of_line_duplicates():
    play = "\n".join(f"ROMEO:\n{prose(12, seed=i)}\nJULIET:\n{prose(12, seed=50 + i)}" for i in range(4))
    assert verdict(GopherRepetition(), play) == "gopher_dup_line_frac"
    assert verdict(GopherRepetition(skip_label_lines=True), play) == "kept"


@pytest.mark.parametrize("n", [2, 3, 4])
def test_top_n_gram(n):
    phrase = " ".join(["alpha", "beta", "gamma", "delta"][:n])
    text = prose(200) + "\n" + " ".join([phrase] * 40)
    assert verdict(GopherRepetition(max_dup_line_frac=1.0), text).startswith("gopher_top_")
    frac = {2: 0.2, 3: 0.18, 4: 0.16}[n]
    others = [[m, 1.0] for m in (2, 3, 4) if m != n]
    value = TextAnalysis(text).top_ngram_char_count(n) / len(text)
    assert value > frac
    rule = GopherRepetition(top_n_grams=others + [[n, frac]], dup_n_grams=[])
    assert verdict(rule, text) == f"gopher_top_{n}_gram"
    rule = GopherRepetition(top_n_grams=others + [[n, value]], dup_n_grams=[])
    assert verdict(rule, text) == "kept"


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 10])
def test_duplicated_n_grams(n):
    block = prose(30, seed=7, per_line=100)
    text = prose(80, seed=1) + "\n" + block + "\n" + block  # a 30-word passage written twice
    value = TextAnalysis(text).duplicate_ngram_chars(n) / len(text)
    assert value > 0.15
    loose = [[m, 1.0] for m in range(5, 11) if m != n]
    base = {"top_n_grams": [], "max_dup_line_frac": 1.0, "max_dup_line_char_frac": 1.0}
    assert verdict(GopherRepetition(dup_n_grams=loose + [[n, value - 1e-9]], **base), text) == f"gopher_dup_{n}_gram"
    assert verdict(GopherRepetition(dup_n_grams=loose + [[n, value]], **base), text) == "kept"
    # with the published thresholds the smallest n trips first
    assert verdict(GopherRepetition(**base), text) == "gopher_dup_5_gram"


def test_duplicate_ngram_chars_counts_overlaps_once():
    a = TextAnalysis("a b c d e f g a b c d e f g x y")
    assert a.duplicate_ngram_chars(5) == 7  # the second "a..g": 7 one-letter words
    assert a.duplicate_ngram_chars(8) == 0
    assert a.top_ngram_char_count(2) == 2 * len("a b")
