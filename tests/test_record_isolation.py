"""One bad record never stops a run (#33 item 1): text that is not Unicode becomes U+FFFD
where it is read, counted; a stage that raises on one document drops that document with
the reason `stage_error`, and the run goes on."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from helpers.collect import read_all

from corpuskit import Document, Filter, Mapper
from corpuskit.cli import cli
from corpuskit.errors import CorpuskitError
from corpuskit.pipeline import parse_pipeline
from corpuskit.runner import run_pipeline


def _lines(*records: dict) -> str:
    # ensure_ascii: the file holds the JSON escape `\ud800`, as a JSON writer in another language would write it
    return "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records)


def _rows(path) -> list[dict]:
    """Every row of a Parquet file; reading it fails if a string is not UTF-8."""
    return pq.read_table(path).to_pylist()


def test_dedup_reads_lone_surrogates_as_replacement_characters(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "d.jsonl").write_text(_lines(
        {"text": "a \ud800 b and some more words"},
        {"id": "\udc80", "text": "the id holds a lone low surrogate here"},
        {"text": "a field and a key", "note": "x\udfff", "\ud83d": 1, "pair": "\ud83d\ude00"},
    ))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["dedup", str(inp), str(out), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    rows = _rows(out / "part-00000.parquet")
    assert [r["text"] for r in rows] == ["a \ufffd b and some more words", "the id holds a lone low surrogate here",
                                         "a field and a key"]
    assert rows[1]["id"] == "\ufffd"
    meta = [json.loads(r["metadata"]) for r in rows]
    assert meta[0] == {"replaced_chars": 1} and meta[1] == {"replaced_chars": 1}
    # a key and a value, and a well-formed pair (an emoji) left as it is
    assert meta[2] == {"note": "x\ufffd", "\ufffd": 1, "pair": "\U0001F600", "replaced_chars": 2}
    read = json.loads((out / "stats.json").read_text())["stages"]["read"]
    assert read["replaced_chars"] == 4 and read["docs_out"] == 3


def test_an_escaped_backslash_before_u_is_not_a_surrogate(tmp_path):
    # the JSON text "\\ud800" is a backslash and the letters ud800, not an escape
    (tmp_path / "d.jsonl").write_text('{"text": "path C:\\\\ud800 and \\\\\\ud800"}\n')
    docs, rejected = read_all(tmp_path)
    assert rejected == []
    assert docs[0].text == "path C:\\ud800 and \\\ufffd" and docs[0].metadata == {"replaced_chars": 1}


def test_a_surrogate_in_a_record_that_is_rejected_reaches_rejected_as_valid_text(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "d.jsonl").write_text(_lines({"body": "no text field \ud800"}, {"text": "kept document text"}))
    out = tmp_path / "out"
    run_pipeline(parse_pipeline({"input": str(inp), "output": str(out), "stages": []}), workers=1, quiet=True)
    [bad] = _rows(out / "rejected" / "seg0-part-00000.parquet")
    assert bad["reason"] == "missing_field" and json.loads(bad["text"]) == {"body": "no text field \ufffd"}


def test_deeply_nested_json_is_a_malformed_line(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "fine"}\n{"text": "x", "a": ' + "[" * 100_000 + "\n")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["fine"]
    assert [(r[1], r[2]) for r in rejected] == [("malformed_json", "d.jsonl:2: nested too deeply to read")]


def test_parquet_strings_that_are_not_utf8_reject_their_row(tmp_path):
    import pyarrow as pa

    from helpers.samples import unchecked_strings

    # Parquet stores string bytes without a check; another tool may have written these.
    texts = unchecked_strings([b"first row text", "bad \ud800 row".encode("utf-8", "surrogatepass"), b"third row text"])
    pq.write_table(pa.Table.from_arrays([texts], names=["text"]), tmp_path / "a.parquet")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["first row text", "third row text"]
    [(doc, reason, detail)] = rejected
    assert (reason, detail, doc.source) == ("invalid_utf8", "a.parquet:1: column 'text' is not UTF-8", "a.parquet:1")
    assert json.loads(doc.text) == {"text": "bad \ufffd\ufffd\ufffd row"}


class RaisesOnBoom(Filter):
    """A filter with a bug that only one document triggers."""


    def filter(self, doc):
        if "boom" in doc.text:
            raise ZeroDivisionError("division by zero in a filter")
        return True


class NeedsAModel(Mapper):
    name = "needs_a_model"

    def map(self, text):
        raise CorpuskitError("the model file is missing")


def test_a_stage_that_raises_on_one_document_drops_only_that_one(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "d.jsonl").write_text(_lines({"text": "one good"}, {"text": "boom here"}, {"text": "three good"}))
    out = tmp_path / "out"
    cfg = parse_pipeline({"input": str(inp), "output": str(out),
                          "stages": [{"test_record_isolation:RaisesOnBoom": {}}]})
    run_pipeline(cfg, workers=1, quiet=True)
    assert [r["text"] for r in _rows(out / "part-00000.parquet")] == ["one good", "three good"]
    [bad] = _rows(out / "rejected" / "seg0-part-00000.parquet")
    assert (bad["text"], bad["reason"], bad["stage"]) == ("boom here", "stage_error", "RaisesOnBoom")
    assert bad["detail"] == "d.jsonl:2: ZeroDivisionError: division by zero in a filter"
    stats = json.loads((out / "stats.json").read_text())["stages"]["RaisesOnBoom"]
    assert (stats["docs_in"], stats["docs_out"], stats["dropped_stage_error"]) == (3, 2, 1)


def test_a_setup_error_in_a_stage_still_stops_the_run():
    with pytest.raises(CorpuskitError, match="the model file is missing"):
        list(NeedsAModel()([Document("text", "1")]))
