"""Stage bases: counting, drop reasons and the rejected sink."""

import pytest

from corpuskit import Document, Filter, Mapper
from corpuskit.stages.filters.length import LengthFilter
from corpuskit.stages.formatters.repair import Normalize


class EvenOnly(Filter):
    name = "even_only"

    def filter(self, doc):
        return True if int(doc.id) % 2 == 0 else (False, "odd")


def test_filter_counts_and_rejects_with_reason():
    stage = EvenOnly()
    rejected = []
    stage.reject = lambda doc, reason, name, **d: rejected.append((doc.id, reason, name))
    kept = list(stage(Document(text="x" * i, id=str(i)) for i in range(5)))
    assert [d.id for d in kept] == ["0", "2", "4"]
    assert rejected == [("1", "odd", "even_only"), ("3", "odd", "even_only")]
    s = stage.stats.to_dict()
    assert (s["docs_in"], s["docs_out"], s["dropped"], s["dropped_odd"]) == (5, 3, 2, 2)
    assert (s["bytes_in"], s["bytes_out"]) == (10, 6)


def test_mapper_counts_modified_and_drops_empty():
    class Strip(Mapper):
        name = "strip"

        def map(self, text):
            return text.replace("junk", "")

    stage = Strip()
    kept = list(stage([Document("junk", "1"), Document("good junk", "2"), Document("good", "3")]))
    assert [d.text for d in kept] == ["good ", "good"]
    assert stage.stats.counters == {"dropped_empty": 1, "modified": 1}


def test_normalize_and_length_filter():
    [doc] = Normalize()([Document("Cafe\u0301 \r\n\r\n\r\n\r\nline  \n", "1")])
    assert doc.text == "Caf\u00e9\n\nline"
    f = LengthFilter(min_words=3, max_chars=20)
    kept = list(f([Document("one two", "a"), Document("one two three", "b"), Document("word " * 10, "c")]))
    assert [d.id for d in kept] == ["b"]
    assert f.stats.counters == {"dropped_too_short": 1, "dropped_too_long": 1}


def test_a_document_a_stage_raises_on_is_dropped_as_stage_error_and_the_rest_go_on():
    class Inverse(Mapper):
        name = "inverse"

        def map(self, text):
            return str(1 / len(text.strip()))

    stage = Inverse()
    rejected = []
    stage.reject = lambda doc, reason, name, **d: rejected.append((doc.id, reason, name, d["detail"]))
    kept = list(stage([Document("ab", "1", source="a.jsonl:1"), Document("  ", "2", source="a.jsonl:2"),
                       Document("abcd", "3")]))
    assert [(d.id, d.text) for d in kept] == [("1", "0.5"), ("3", "0.25")]
    assert rejected == [("2", "stage_error", "inverse", "a.jsonl:2: ZeroDivisionError: division by zero")]
    assert stage.stats.counters == {"dropped_stage_error": 1, "modified": 2}


def test_an_error_every_document_would_meet_stops_the_stage():
    class NeedsAnExtra(Filter):
        name = "needs_an_extra"

        def filter(self, doc):
            import corpuskit_extra_that_is_not_installed  # noqa: F401

    with pytest.raises(ImportError):
        list(NeedsAnExtra()([Document("text", "1")]))
