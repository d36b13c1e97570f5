"""Parquet files, read one record batch at a time; a large file as several units of whole row groups.

Parquet does not check that strings are UTF-8: a row holding bytes that are not is rejected
as `invalid_utf8` (its text with the bad bytes as U+FFFD), and the other rows are read.
"""

from __future__ import annotations

import json
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit.document import Document
from corpuskit.io import is_url, open_raw
from corpuskit.readers.base import ReaderConfig, Record, RejectFn, Source, bad_record, records_to_docs


def _records(src: Source) -> Iterator[Record]:
    pos = src.pos  # a unit inside a large file reads row groups [start, end) and counts on from the rows before
    try:
        pf = parquet_file(src.path)
        groups = None if src.chunk is None else range(src.start, src.end)
        batches = pf.iter_batches(batch_size=1024, row_groups=groups)
        for batch in batches:
            for rec, bad in _rows(batch):
                where = f"{src.rel}:{pos}"
                yield (pos, where, rec, None) if bad is None else bad_record(
                    pos, where, "invalid_utf8", json.dumps(rec, ensure_ascii=False, default=str),
                    f"column {bad!r} is not UTF-8")
                pos += 1
    except (OSError, pa.ArrowException) as err:
        # pyarrow raises OSError both for the system's refusals (they carry an errno) and for corrupt data.
        reason = "unreadable" if isinstance(err, OSError) and err.errno is not None else "truncated_archive"
        yield bad_record(pos, src.rel, reason, "", str(err))


def _rows(batch: pa.RecordBatch) -> Iterator[tuple[dict, str | None]]:
    """(row, None) for each row of `batch`, or (row with bad bytes replaced, the column) for a row that is not UTF-8."""
    try:
        rows = batch.to_pylist()
    except UnicodeDecodeError:  # rare: find the rows, one at a time
        rows = None
    if rows is not None:
        yield from ((row, None) for row in rows)
        return
    for i in range(batch.num_rows):
        row, bad = {}, None
        for name, column in zip(batch.schema.names, batch.columns):
            try:
                row[name] = column[i].as_py()
            except UnicodeDecodeError:
                bad = bad or name
                value = column[i].cast(pa.binary()).as_py() if pa.types.is_string(column.type) else None
                row[name] = value.decode("utf-8", errors="replace") if value is not None else None
        yield row, bad


def parquet_file(path: str) -> pq.ParquetFile:
    """A local Parquet file by path (memory-mapped by Arrow), a remote one through fsspec."""
    return pq.ParquetFile(open_raw(path) if is_url(path) else path)


def read_parquet(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src), cfg, src, reject)


def iter_documents(path: str) -> Iterator[Document]:
    """Documents of a file written by corpuskit's own writer, exactly as they were written."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        cols = batch.to_pydict()
        for doc_id, text, source, meta in zip(cols["id"], cols["text"], cols["source"], cols["metadata"]):
            yield Document(text=text, id=doc_id, source=source, metadata=json.loads(meta) if meta and meta != "{}" else {})
