"""Document files: the bytes do not depend on how a writer builds its Arrow columns."""

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit.document import Document
from corpuskit.writers.documents import DocumentWriter, _schema, string_array


def test_columns_built_from_buffers_give_the_bytes_pyarrow_gives(tmp_path):
    docs = [Document(text=t, id=f"d{i}", source=s, metadata=m)
            for i, (t, s, m) in enumerate([("plain", "a.txt", {}), ("caf\u00e9 \U0001F600", None, {"k": [1, 2]}),
                                           ("", "b", {"z": None, "a": "\u00e9"}), ("x" * 5000, "c", {})] * 300)]
    writer = DocumentWriter(tmp_path / "ours.parquet", rejected=True)
    rows = []
    for doc in docs:
        detail = None if doc.source else "no source"
        writer.write(doc, reason="too_short", detail=detail)
        rows.append({"id": doc.id, "text": doc.text, "source": doc.source,
                     "metadata": json.dumps(doc.metadata, ensure_ascii=False, sort_keys=True, default=str),
                     "reason": "too_short", "stage": None, "detail": detail, "duplicate_of": None})
    writer.commit()
    reference = tmp_path / "reference.parquet"
    with pq.ParquetWriter(reference, _schema(True), compression="zstd") as w:
        for i in range(0, len(rows), 1000):
            w.write_table(pa.Table.from_pylist(rows[i:i + 1000], schema=_schema(True)))
    assert (tmp_path / "ours.parquet").read_bytes() == reference.read_bytes()


def test_string_array_does_not_import_pandas():
    import subprocess

    code = ("import sys; from corpuskit.writers.documents import string_array; "
            "a = string_array(['x', None, 'caf\\u00e9']); assert a.to_pylist() == ['x', None, 'caf\\u00e9']; "
            "assert 'pandas' not in sys.modules, 'pandas imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert string_array([]).to_pylist() == []


def test_a_lone_surrogate_never_reaches_a_file_as_invalid_utf8(tmp_path):
    # Readers replace lone surrogates; this is the writer's own guard against a stage that makes one.
    doc = Document(text="a \ud800 b \ud83d\ude00", id="x\udc80", source="s", metadata={"k": "\udfff"})
    for name in ("out.parquet", "out.jsonl"):
        writer = DocumentWriter(tmp_path / name, rejected=True)
        writer.write(doc, reason="too_short", detail="d\ud800")
        writer.commit()
    row = pq.read_table(tmp_path / "out.parquet").to_pylist()[0]
    assert row["text"] == "a \ufffd b \U0001F600"
    assert row["id"] == "x\ufffd" and row["detail"] == "d\ufffd"
    assert json.loads(row["metadata"]) == {"k": "\ufffd"}
    line = json.loads((tmp_path / "out.jsonl").read_bytes().decode("utf-8"))
    assert line["text"] == "a \ufffd b \U0001F600" and line["id"] == "x\ufffd" and line["metadata"] == {"k": "\ufffd"}
