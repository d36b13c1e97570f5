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
