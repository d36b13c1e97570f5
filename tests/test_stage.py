"""Stage bases: counting, drop reasons and the rejected sink; a streaming stage's working folder."""

import json

import pytest

from corpuskit import Document, Filter, Mapper, Stage
from corpuskit.io import atomic_write_text
from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline
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


class CountsPerUnit(Stage):
    """A streaming stage with a working folder: what each unit saw, and a report over all of them."""

    name = "CountsPerUnit"
    uses_workdir = True

    def prepare(self, ctx):
        with open(ctx.workdir / "prepared.log", "a") as fh:  # one line per call
            fh.write("prepared\n")

    def setup(self, ctx):
        self.seen = []
        assert (ctx.workdir / "prepared.log").is_file()  # prepare ran before any unit

    def run(self, docs):
        for doc in docs:
            self.seen.append(doc.id)
            yield doc

    def finish(self, ctx):
        path = ctx.workdir / f"seen-{ctx.unit:05d}.json"
        atomic_write_text(path, json.dumps(self.seen))
        return [path]

    def report(self, ctx):
        return {"seen": [json.loads((ctx.workdir / f"seen-{u:05d}.json").read_text()) for u in range(ctx.n_units)]}


def test_a_streaming_stage_with_a_working_folder_runs_in_one_pass_and_reports(tmp_path):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for u in range(2):
        (inp / f"d{u}.jsonl").write_text("".join(json.dumps({"id": f"{u}-{k}", "text": "words"}) + "\n"
                                                 for k in range(3)))
    cfg = parse_pipeline({"input": str(inp), "output": str(out), "stages": [{"test_stage:CountsPerUnit": {}}]})
    messages = []
    run_pipeline(cfg, workers=1, log=messages.append)
    work = out / "_work" / "stages" / "CountsPerUnit"
    report = json.loads((out / "reports" / "CountsPerUnit.json").read_text())
    assert report == {"seen": [["0-0", "0-1", "0-2"], ["1-0", "1-1", "1-2"]]}
    assert (work / "prepared.log").read_text() == "prepared\n"
    assert not (out / "_work" / "seg0").exists()  # one pass: no intermediate copy of the documents
    marker = json.loads((out / "_work" / "done" / "seg0-unit00001").read_text())
    assert "_work/stages/CountsPerUnit/seen-00001.json" in marker["outputs"]

    messages.clear()
    run_pipeline(cfg, workers=1, log=messages.append)  # all done: prepared (once a run), no unit redone
    assert any("2 units already complete, skipped" in m for m in messages), messages
    assert (work / "prepared.log").read_text() == "prepared\n" * 2
    (work / "seen-00001.json").write_text("[]")  # a unit's file changed: that unit is redone
    messages.clear()
    run_pipeline(cfg, workers=1, log=messages.append)
    assert any("seen-00001.json changed since it was written; redoing it" in m for m in messages), messages
    assert json.loads((out / "reports" / "CountsPerUnit.json").read_text()) == report
    assert (work / "prepared.log").read_text() == "prepared\n" * 3
