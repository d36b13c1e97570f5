"""Document files: `part-00000.parquet` (columns id, text, source, metadata) or JSONL.

A writer writes under a hidden temporary name and `commit()` renames it to its final
name, so a crash never leaves a half-written file where a reader would take it for
a finished one. Rejected documents carry the extra columns in `REJECTED_EXTRA`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit.document import Document
from corpuskit.io import tmp_path

REJECTED_EXTRA = ("reason", "stage", "detail", "duplicate_of")
FORMATS = ("parquet", "jsonl")
_BATCH = 1000


_FLUSH_BYTES = 64 << 20  # also flush a batch at this much text: int32 offsets, bounded memory


def utf8(text: str) -> bytes:
    """`text` as UTF-8; a lone surrogate (which only a buggy stage can still produce: readers
    turn them into U+FFFD) becomes U+FFFD too, so no invalid UTF-8 ever reaches a file."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16, valid surrogate pairs join into one character; lone ones are replaced.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").encode("utf-8")


def string_array(values: list[str | None]) -> pa.Array:
    """A pyarrow string array built from its buffers.

    `pa.array(list_of_str)` imports pandas to check for pandas objects, which costs about a
    second in every worker process; the buffers give the same array (and the same file bytes).
    """
    encoded = [utf8(v) if v is not None else b"" for v in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise ValueError("a batch of more than 2 GiB of text; write smaller batches")
    offsets = offsets.astype(np.int32)
    buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded))]
    if any(v is None for v in values):
        valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
        buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.Array.from_buffers(pa.string(), len(values), buffers)


def _schema(rejected: bool) -> pa.Schema:
    cols = [("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("metadata", pa.string())]
    if rejected:
        cols += [(c, pa.string()) for c in REJECTED_EXTRA]
    return pa.schema(cols)


class DocumentWriter:
    """Write documents to `path` (format from its suffix); call `commit()` when complete.

    With `rejected=True`, `write()` takes the extra fields `reason`, `stage`, `detail`
    and `duplicate_of`. A Parquet row stores metadata as a JSON string with sorted keys;
    a JSONL line has the keys in the order id, text, source, (reason, stage, detail,
    duplicate_of), metadata, with metadata an object in the document's own key order.
    Either way the same documents always give the same bytes.
    """

    def __init__(self, path: Path, rejected: bool = False):
        self.path = Path(path)
        self.fmt = self.path.suffix.lstrip(".")
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown output format {self.fmt!r}; expected one of {FORMATS}")
        self.rejected = rejected
        self._tmp = tmp_path(self.path)
        self._rows: list[dict] = []
        self._bytes = 0
        self._pq: pq.ParquetWriter | None = None
        self._fh = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "parquet":
            self._pq = pq.ParquetWriter(self._tmp, _schema(rejected), compression="zstd")
        else:
            self._fh = open(self._tmp, "wb")

    def write(self, doc: Document, **extra: str | None) -> None:
        row = {"id": doc.id, "text": doc.text, "source": doc.source}
        if self.rejected:
            row.update({c: extra.get(c) for c in REJECTED_EXTRA})
        if self._fh is not None:
            row["metadata"] = doc.metadata
            self._fh.write(utf8(json.dumps(row, ensure_ascii=False, sort_keys=False, default=str) + "\n"))
            return
        meta = doc.metadata
        row["metadata"] = json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str) if meta else "{}"
        self._rows.append(row)
        self._bytes += len(doc.text)
        if len(self._rows) >= _BATCH or self._bytes >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._rows and self._pq is not None:
            schema = self._pq.schema
            columns = [string_array([r[name] for r in self._rows]) for name in schema.names]
            self._pq.write_table(pa.Table.from_arrays(columns, schema=schema))
            self._rows, self._bytes = [], 0

    def commit(self) -> None:
        """Finish the file and move it to its final name."""
        if self._pq is not None:
            self._flush()
            self._pq.close()
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file: used when the unit of work fails."""
        try:
            if self._pq is not None:
                self._pq.close()
            if self._fh is not None:
                self._fh.close()
        finally:
            self._tmp.unlink(missing_ok=True)
