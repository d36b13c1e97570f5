"""The word-list scorer: whole words only, obfuscations undone, phrases found, weights combined."""

import pytest

from corpuskit.stages.toxicity.lexicon import LexiconScorer, load_wordlist
from corpuskit.stages.toxicity.normalize import normalize_token, tokens


@pytest.fixture(scope="module")
def lex():
    return LexiconScorer()


@pytest.mark.parametrize("text, word", [
    ("you stupid b1tch", "bitch"),
    ("what an @$$hole", "asshole"),
    ("fuuuuuck this", "fuck"),
    ("you sh!thead", "shithead"),
    ("f*ck off", "fuck"),
    ("you f*cking moron", "fuck"),
    ("biiiiitch", "bitch"),
])
def test_obfuscations_are_undone(lex, text, word):
    assert word in lex.hits(text)
    assert lex.score(text) >= 0.5


@pytest.mark.parametrize("text", [
    "The class assembled in Scunthorpe to assess the cocktail menu.",
    "He was an assistant to the bass player in Essex.",
    "In 1999 there were 3.14 reasons and 10 cats.",
    "Hello!!! *Very* nice to meet you.",
])
def test_word_boundaries_keep_innocent_text_clean(lex, text):
    assert lex.hits(text) == []
    assert lex.score(text) == 0.0


def test_mild_words_alone_stay_below_half_but_add_up(lex):
    assert 0 < lex.score("damn it") < 0.5
    assert lex.score("the garden hoe") < 0.5
    assert lex.score("you idiot, you stupid moron") > lex.score("you idiot")


@pytest.mark.parametrize("text", ["go kill yourself", "Kill   yourself now", "k1ll y0urself", "I hope you die"])
def test_phrases(lex, text):
    assert lex.score(text) >= 0.9


def test_phrase_needs_whole_words(lex):
    assert lex.score("the skill yourself can learn") == 0.0


def test_wordlist_rejects_bad_lines(tmp_path):
    bad = tmp_path / "words.txt"
    bad.write_text("# comment\nfoo\t0.5\nbar\t2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="words.txt:3"):
        load_wordlist(bad)


def test_custom_wordlist(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("gronk\t0.8\nzib zab\t0.6\n", encoding="utf-8")
    lex = LexiconScorer(path)
    assert lex.score("you gr0nk") == pytest.approx(0.8)
    assert lex.score("zib  zab") == pytest.approx(0.6)
    assert lex.score("fuck") == 0.0


def test_normalize_token_keeps_numbers_and_drops_mentions():
    assert [normalize_token(t) for t in tokens("@someone 1999 l33t")] == ["", "1999", "leet"]


@pytest.mark.parametrize("text", [
    "A quiet sentence. Then you stupid b1tch! And shit!fuck, all in one token.",
    "Clean line one.\nwhat an @$$hole\nGo kill yourself. Another clean one?",
    "Nothing to see here. Nothing at all!",
])
def test_units_of_a_text_score_as_each_unit_alone(text):
    """The whole-text shortcut (one tokenization, one set test) gives each unit its own score."""
    from corpuskit.stages.toxicity.aggregate import split_units

    spans = split_units(text)
    for warm in (False, True):  # a fresh scorer, then one whose token memo knows every token
        lex = LexiconScorer()
        if warm:
            lex.score(text)
        got = lex.score_spans(text.lower(), spans)
        assert got == [LexiconScorer().score(text[a:b]) for a, b in spans]
    assert sum(s > 0 for s in got) == (0 if text.startswith("Nothing") else 2 if text.startswith("Clean") else 3)


def test_memoized_chunks_still_find_phrases_and_words():
    """Chunks first seen in clean texts ("kill", "yourself,") still make up a phrase later."""
    lex = LexiconScorer()
    assert lex.score("Time to kill. Be yourself, always.") == 0.0
    assert lex.score("They say: kill yourself, now") == pytest.approx(0.95)
    assert lex.score("Be yourself, always.") == 0.0
    assert lex.score("The young ladies died; hope is yours.") == 0.0  # no whole phrase word but "hope"
    for text in ("I hope you die!!!", "(go die)", "k1ll y0urself.", "\u201cKill yourself\u201d"):
        assert lex.score(text) >= 0.85, text
    text = "that's it!fuck it."  # a `!` inside a chunk ends a unit
    from corpuskit.stages.toxicity.aggregate import split_units

    assert lex.score_spans(text, split_units(text)) == [0.0, lex.score("fuck it.")] != [0.0, 0.0]


def test_a_wordlist_changed_in_place_redoes_the_toxicity_stage_on_rerun(tmp_path):
    from corpuskit.presets import command_pipeline
    from corpuskit.runner import run_pipeline

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.jsonl").write_text('{"id": "a", "text": "what a gronk you are, said the neighbour"}\n')
    words = tmp_path / "words.txt"
    words.write_text("zib zab\t0.9\n", encoding="utf-8")
    stage = {"toxicity": {"scorer": "lexicon", "wordlist": str(words), "threshold": 0.5}}
    cfg = command_pipeline(str(tmp_path / "in"), str(tmp_path / "out"), [stage], "jsonl")
    run_pipeline(cfg, workers=1, quiet=True)
    assert (tmp_path / "out" / "part-00000.jsonl").read_text().count('"id": "a"') == 1
    words.write_text("gronk\t0.9\n", encoding="utf-8")  # same path, new words
    run_pipeline(cfg, workers=1, quiet=True)
    rejected = list((tmp_path / "out" / "rejected").glob("*.jsonl"))
    assert rejected and '"reason": "toxic"' in rejected[0].read_text()
