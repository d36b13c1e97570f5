"""Finding eval items in text: normalisation, edits, question only, templates, and the cut."""

from pathlib import Path

import pytest

from corpuskit.stages.decontaminate.stage import Decontaminate, cut_spans
from corpuskit.stages.decontaminate.text import WORD, normalize, word_bounds, word_spans, words

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "decontaminate"
PAGE = ("The village fair opened on a grey Saturday. Stalls sold honey, wool and old records, and a brass "
        "band played on the green until the rain came in from the hills.\n\n")
QUESTION = ("Question: A gardener waters a bean plant every morning and keeps a second plant dry. "
            "What is the gardener most likely testing?")


@pytest.fixture()
def finder(tmp_path):
    stage = Decontaminate(eval=[str(FIXTURES)])
    idx = stage.eval_index(tmp_path)
    return lambda text: [(f["benchmark"], f["item"]) for f in stage.find(text, idx)]


def test_words_match_the_regex_definition():
    for text in ["Answer:  THE cat's_tail—“quoted” ﬁne Ünïcode ①", "plain ascii, words; only"]:
        assert words(text) == [w.encode() for w in WORD.findall(normalize(text))]
    assert words("Answer:  THE cat's") == [b"answer", b"the", b"cat", b"s"]


def test_word_spans_point_into_the_original_text():
    text = "Ｆｕｌｌ width and cafe\u0301 here"
    spans = word_spans(text)
    assert [text[a:b] for a, b in spans] == ["Ｆｕｌｌ", "width", "and", "cafe\u0301", "here"]


def test_word_bounds_are_word_spans_as_arrays():
    for text in ["Answer:  THE cat's_tail -- (b) 12.5%\x00end\n", "  lead and trail  ", "", "...",
                 "Ｆｕｌｌ width and cafe\u0301 here", "Straße ǅemal ①",
                 # NFKC changes these, one character at a time: no-break space, ellipsis, ligature,
                 # a fraction (letters and a break), a half-width sound mark (joins its letter)
                 "wait\u2026 no\u00a0break \ufb01ne \u00bd cup \uff76\uff9e"]:
        starts, ends = word_bounds(text)
        assert list(zip(starts.tolist(), ends.tolist())) == word_spans(text), text


def test_full_item_with_changed_case_spacing_and_punctuation_is_found(finder):
    edited = QUESTION.upper().replace(" ", "\n  ").replace("?", " ;")
    text = PAGE + edited + " how water affects plant growth\n\n" + PAGE
    assert finder(text) == [("mc", 0)]


def test_item_with_a_few_words_changed_is_found(finder):
    edited = QUESTION.replace("bean", "tomato").replace("morning", "evening") + " how water affects plant growth"
    assert finder(PAGE + edited + "\n\n" + PAGE) == [("mc", 0)]


def test_question_without_its_answer_is_found(finder):
    assert finder(PAGE + QUESTION + "\n\n" + PAGE) == [("mc", 0)]
    gsm = ("Tomas buys four crates of apples with twelve apples in each crate and gives away nine apples to his "
           "neighbours. How many apples does Tomas have left?")
    assert finder(PAGE + gsm) == [("qa", 0)]


def test_ordinary_text_and_a_shared_phrase_are_not_contamination(finder):
    assert finder(PAGE * 3) == []
    # a phrase of one item, in a document about something else
    assert finder(PAGE + "Everyone agreed that heat moves through the metal quickly.\n\n" + PAGE) == []
    # a benchmark-like question that is in no eval file
    other = ("Question: A baker leaves one loaf in a warm room and one in the fridge. "
             "What is the baker most likely testing?")
    assert finder(PAGE + other + "\n\n" + PAGE) == []


def test_an_ngram_in_more_than_max_items_items_is_no_evidence(tmp_path):
    template = "Read the passage carefully and then answer the question that follows it below"
    rows = [f'{{"text": "{template} item number {w}"}}\n' for w in ("alpha", "beta", "gamma")]
    (tmp_path / "tpl.jsonl").write_text("".join(rows))
    stage = Decontaminate(eval=[str(tmp_path / "tpl.jsonl")], max_items=2)
    idx = stage.eval_index(tmp_path / "work")
    assert stage.find(PAGE + template + " and more.\n\n" + PAGE, idx) == []
    assert [f["item"] for f in stage.find(PAGE + template + " item number beta", idx)] == [1]


def test_a_short_item_matches_only_whole(tmp_path):
    (tmp_path / "facts.jsonl").write_text('{"context": "The sport played by Quentin Marlowe is", '
                                          '"continuation": "cricket"}\n')
    stage = Decontaminate(eval=[str(tmp_path / "facts.jsonl")])
    idx = stage.eval_index(tmp_path / "work")
    assert [f["item"] for f in stage.find("Fans know the sport played by Quentin Marlowe is cricket.", idx)] == [0]
    assert stage.find("The sport played by his brother is tennis.", idx) == []


def test_a_short_question_is_found_without_its_longer_answer(tmp_path):
    # the context (6 words) is all a document holds; the whole item (11 words) has more words than
    # `min_words`, which once made the search skip items with fewer probe hits than that needs
    (tmp_path / "facts.jsonl").write_text('{"context": "The sport played by Quentin Marlowe is", '
                                          '"continuation": "cricket with his brothers every summer"}\n')
    stage = Decontaminate(eval=[str(tmp_path / "facts.jsonl")])
    idx = stage.eval_index(tmp_path / "work")
    assert [f["item"] for f in stage.find(PAGE + "The sport played by Quentin Marlowe is\n\n" + PAGE, idx)] == [0]


def test_a_shared_question_stem_without_the_rest_is_not_a_match(tmp_path):
    # seven words of a ten-word question ("which event is an example of"), its subject different:
    # another question of the same benchmark, not this one
    (tmp_path / "arc.jsonl").write_text('{"query": "Question: Which event is an example of a chemical change?", '
                                        '"choices": ["wood burning in a fireplace", "ice melting"], "gold": 0}\n')
    stage = Decontaminate(eval=[str(tmp_path / "arc.jsonl")])
    idx = stage.eval_index(tmp_path / "work")
    assert stage.find(PAGE + "Question: Which event is an example of conduction?\n\n" + PAGE, idx) == []
    assert [f["item"] for f in stage.find(PAGE + "Question: Which event is an example of a chemical change?", idx)] == [0]


def test_the_batch_lookup_passes_every_document_the_search_finds_something_in(tmp_path):
    stage = Decontaminate(eval=[str(FIXTURES)])
    idx = stage.eval_index(tmp_path)
    edited = QUESTION.upper().replace("bean", "tomato")
    texts = [PAGE, PAGE + QUESTION, "", "Question", PAGE + edited + " how water affects plant growth", PAGE * 5,
             "Everyone agreed that heat moves through the metal quickly.", QUESTION[:40]]
    found = [bool(stage.find(t, idx)) for t in texts]
    assert found == [False, True, False, False, True, False, False, False]
    maybe = idx.maybe_found(texts)
    assert all(m for m, f in zip(maybe, found) if f)
    assert maybe[0] is False and maybe[5] is False  # and it rules out ordinary text


def test_the_batch_search_finds_what_the_search_of_each_document_finds(tmp_path):
    from corpuskit.stages.decontaminate.text import word_hashes

    stage = Decontaminate(eval=[str(FIXTURES)])
    idx = stage.eval_index(tmp_path)
    edited = QUESTION.upper().replace("bean", "tomato")
    # two items in one document, an edited one, non-ASCII text, texts shorter than an n-gram
    texts = [PAGE, PAGE + QUESTION + PAGE + QUESTION, "", "Question", PAGE + edited + " how water affects plant growth",
             "Caf\u00e9 \uff21\uff22 na\u00efve \u2014 " + QUESTION, QUESTION[:40], "\0" + QUESTION]
    hits, n_words = idx.search_many(texts)
    assert hits == [idx.search(word_hashes(t)) for t in texts]
    assert n_words == [len(word_hashes(t)) for t in texts]
    assert [len(h) for h in hits] == [0, 2, 0, 0, 1, 1, 0, 1]


def test_a_bad_document_in_a_batch_is_dropped_alone(tmp_path):
    from corpuskit.document import Document

    stage = Decontaminate(eval=[str(FIXTURES)])
    stage._idx, stage._found = stage.eval_index(tmp_path), []
    dropped = []
    stage.reject = lambda doc, reason, name, **detail: dropped.append((doc.id, reason))
    # a text the search raises on (not a string: no reader makes one, a stage before this could)
    docs = [Document(id="clean", text=PAGE), Document(id="bad", text=None),
            Document(id="quiz", text=PAGE + QUESTION)]
    assert [d.id for d in stage.run(iter(docs))] == ["clean"]
    assert dropped == [("bad", "stage_error"), ("quiz", "contaminated")]


def test_cut_removes_the_span_widened_to_whole_words():
    text = "alpha beta gamma delta epsilon zeta eta theta"
    # 'amma' widened by 3 characters is 'a gamma d', then to whole words: 'beta gamma delta'
    assert cut_spans(text, [(12, 16)], margin=3) == "alpha\n\nepsilon zeta eta theta"
    assert cut_spans(text, [(0, 5), (40, 45)], margin=0) == "beta gamma delta epsilon zeta eta"
    assert cut_spans(text, [(0, len(text))], margin=0) == ""


def test_a_second_copy_of_an_item_is_found_too(tmp_path):
    stage = Decontaminate(eval=[str(FIXTURES / "mc.jsonl")])
    idx = stage.eval_index(tmp_path)
    text = PAGE + QUESTION + "\n\n" + PAGE * 2 + QUESTION + "\n\n" + PAGE
    found = stage.find(text, idx)
    assert [(f["item"], text[f["start"]:f["end"]]) for f in found] == [(0, QUESTION[:-1])] * 2


def test_a_marker_left_by_a_dead_builder_is_taken_over(tmp_path):
    import json
    import socket
    import subprocess
    import sys

    stage = Decontaminate(eval=[str(FIXTURES / "mc.jsonl")])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    marker = tmp_path / f"index-{stage.index_key()[:16]}.building"
    marker.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    idx = stage.eval_index(tmp_path)
    assert [f["item"] for f in stage.find(PAGE + QUESTION, idx)] == [0]
    assert not marker.exists()


def test_the_command_line_does_not_import_numpy_for_this_stage():
    import subprocess
    import sys

    from corpuskit.stages.decontaminate import stage, text

    assert stage.MAX_NGRAM == text.MAX_NGRAM
    code = "import sys, corpuskit.commands.decontaminate; print('corpuskit.stages.decontaminate.text' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
