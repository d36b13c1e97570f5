"""JSONL, CSV, Parquet and Hugging Face datasets: fields, ids, and bad records."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from helpers.collect import read_all


def _jsonl(rows):
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_jsonl_fields_ids_and_metadata(tmp_path):
    (tmp_path / "d.jsonl").write_text(_jsonl([
        {"id": "x1", "text": "hello world", "url": "http://a"},
        {"text": "no id here"},
    ]))
    docs, rejected = read_all(tmp_path)
    assert rejected == []
    assert [(d.id, d.text, d.metadata) for d in docs] == [
        ("x1", "hello world", {"url": "http://a"}),
        ("d.jsonl#1", "no id here", {}),
    ]
    assert docs[1].source == "d.jsonl:2"


def test_jsonl_custom_fields(tmp_path):
    (tmp_path / "d.jsonl").write_text(_jsonl([{"doc": 7, "content": "body"}]))
    docs, _ = read_all(tmp_path, text_field="content", id_field="doc")
    assert [(d.id, d.text) for d in docs] == [("7", "body")]


def test_jsonl_bad_lines_are_rejected_with_line_numbers(tmp_path):
    lines = [
        json.dumps({"text": "good one"}).encode(),
        b'{"text": "unterminated',
        json.dumps({"body": "no text field"}).encode(),
        json.dumps({"text": 42}).encode(),
        b'{"text": "bad \xff byte"}',
        b"[1, 2, 3]",
        json.dumps({"text": "good two"}).encode(),
    ]
    (tmp_path / "d.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["good one", "good two"]
    assert [(r[0].source, r[1]) for r in rejected] == [
        ("d.jsonl:2", "malformed_json"),
        ("d.jsonl:3", "missing_field"),
        ("d.jsonl:4", "bad_field_type"),
        ("d.jsonl:5", "invalid_utf8"),
        ("d.jsonl:6", "malformed_json"),
    ]
    assert "no text field" in rejected[1][0].text  # the record itself is kept
    # Positions count every record, so ids do not shift when a bad line is fixed.
    assert docs[1].id == "d.jsonl#6"


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_jsonl(tmp_path, suffix):
    raw = _jsonl([{"text": f"doc {i}"} for i in range(3)]).encode()
    packed = gzip.compress(raw) if suffix == ".gz" else zstandard.ZstdCompressor().compress(raw)
    (tmp_path / f"d.jsonl{suffix}").write_bytes(packed)
    docs, rejected = read_all(tmp_path)
    assert rejected == [] and [d.text for d in docs] == ["doc 0", "doc 1", "doc 2"]


def test_truncated_jsonl_gz_keeps_what_was_read_and_reports_the_rest(tmp_path):
    raw = _jsonl([{"text": f"document number {i} " * 20} for i in range(2000)]).encode()
    packed = gzip.compress(raw)
    (tmp_path / "d.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    docs, rejected = read_all(tmp_path)
    assert 0 < len(docs) < 2000
    assert [r[1] for r in rejected][-1] == "truncated_archive"
    assert "d.jsonl.gz" in rejected[-1][0].source


def test_csv_with_quoted_newlines(tmp_path):
    (tmp_path / "d.csv").write_text('id,text,label\n1,"line one\nline two",a\n2,plain,b\n')
    docs, rejected = read_all(tmp_path)
    assert rejected == []
    assert [(d.id, d.text, d.metadata) for d in docs] == [
        ("1", "line one\nline two", {"label": "a"}), ("2", "plain", {"label": "b"}),
    ]


def test_csv_missing_text_column_rejects_every_row(tmp_path):
    (tmp_path / "d.csv").write_text("id,body\n1,x\n2,y\n")
    docs, rejected = read_all(tmp_path)
    assert docs == [] and [r[1] for r in rejected] == ["missing_field", "missing_field"]


def test_csv_gz(tmp_path):
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b"text\nhello\n"))
    docs, _ = read_all(tmp_path)
    assert [d.text for d in docs] == ["hello"]


def test_parquet_fields_and_nulls(tmp_path):
    pq.write_table(pa.table({"id": ["a", "b", None], "text": ["x", None, "z"], "n": [1, 2, 3]}), tmp_path / "d.parquet")
    docs, rejected = read_all(tmp_path)
    assert [(d.id, d.text, d.metadata) for d in docs] == [("a", "x", {"n": 1}), ("d.parquet#2", "z", {"n": 3})]
    assert [r[1] for r in rejected] == ["missing_field"]


def test_corrupt_parquet_is_reported(tmp_path):
    (tmp_path / "d.parquet").write_bytes(b"PAR1 this is not parquet")
    docs, rejected = read_all(tmp_path)
    assert docs == [] and [r[1] for r in rejected] == ["truncated_archive"]


def test_mixed_folder_reads_each_file_by_extension(tmp_path):
    (tmp_path / "a.txt").write_text("from text\n")
    (tmp_path / "b.jsonl").write_text(_jsonl([{"text": "from jsonl"}]))
    (tmp_path / "c.csv").write_text("text\nfrom csv\n")
    pq.write_table(pa.table({"text": ["from parquet"]}), tmp_path / "d.parquet")
    docs, rejected = read_all(tmp_path)
    assert rejected == []
    assert [d.text for d in docs] == ["from text", "from jsonl", "from csv", "from parquet"]


def test_saved_hugging_face_dataset(tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict({"text": ["alpha", "beta"], "lang": ["en", "fr"]})
    ds.save_to_disk(str(tmp_path / "saved"))
    docs, rejected = read_all(tmp_path / "saved")
    assert rejected == []
    assert [(d.id, d.text, d.metadata) for d in docs] == [
        ("saved#0", "alpha", {"lang": "en"}), ("saved#1", "beta", {"lang": "fr"}),
    ]


def test_saved_dataset_dict_reads_every_split_in_order(tmp_path):
    import datasets

    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"text": ["t1"]}),
        "test": datasets.Dataset.from_dict({"text": ["s1"]}),
    })
    dd.save_to_disk(str(tmp_path / "dd"))
    (tmp_path / "other.txt").write_text("plain\n")
    docs, _ = read_all(tmp_path)
    assert [(d.text, d.source) for d in docs] == [("s1", "dd[test]:0"), ("t1", "dd[train]:0"), ("plain", "other.txt")]


def test_jsonl_with_a_bom(tmp_path):
    (tmp_path / "d.jsonl").write_bytes(b"\xef\xbb\xbf" + _jsonl([{"text": "one"}, {"text": "two"}]).encode())
    docs, rejected = read_all(tmp_path)
    assert rejected == [] and [d.text for d in docs] == ["one", "two"]


def test_jsonl_in_utf16_is_rejected_as_utf16(tmp_path):
    (tmp_path / "d.jsonl").write_bytes(_jsonl([{"text": "one"}]).encode("utf-16"))
    docs, rejected = read_all(tmp_path)
    assert docs == [] and [(r[0].source, r[1]) for r in rejected] == [("d.jsonl", "utf16")]


def test_jsonl_null_text_is_a_missing_field_saying_null(tmp_path):
    (tmp_path / "d.jsonl").write_text(_jsonl([{"text": None}]))
    _, rejected = read_all(tmp_path)
    assert [(r[0].source, r[1]) for r in rejected] == [("d.jsonl:1", "missing_field")]
    assert "null" in rejected[0][2]


def test_an_integer_too_long_for_python_is_a_malformed_line(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "ok"}\n{"text": "x", "n": ' + "1" * 5000 + "}\n")
    docs, rejected = read_all(tmp_path)
    assert [d.text for d in docs] == ["ok"]
    [(doc, reason, detail)] = rejected
    assert (reason, doc.source) == ("malformed_json", "d.jsonl:2") and "4300 digits" in detail


def test_json_lines_on_stdin_read_a_lone_surrogate_as_a_replacement_character(monkeypatch, capsys):
    import io

    from corpuskit.readers.stdin import iter_input

    lines = ['{"text": "a \\ud800 b"}', '{"text": "x", "n": ' + "1" * 5000 + "}", '{"text": "fine"}']
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert [d.text for d in iter_input("-")] == ["a \ufffd b", "fine"]
    assert "skipped stdin:2: malformed_json Exceeds the limit (4300 digits)" in capsys.readouterr().err
