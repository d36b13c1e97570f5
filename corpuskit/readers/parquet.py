"""Parquet files, read one record batch at a time."""

from __future__ import annotations

import json
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit.document import Document
from corpuskit.readers.base import ReaderConfig, Record, RejectFn, Source, bad_record, records_to_docs


def _records(src: Source) -> Iterator[Record]:
    pos = 0
    try:
        pf = pq.ParquetFile(src.path)
        batches = pf.iter_batches(batch_size=1024)
        for batch in batches:
            for rec in batch.to_pylist():
                yield pos, f"{src.rel}:{pos}", rec, None
                pos += 1
    except (OSError, pa.ArrowException) as err:
        # pyarrow raises OSError both for the system's refusals (they carry an errno) and for corrupt data.
        reason = "unreadable" if isinstance(err, OSError) and err.errno is not None else "truncated_archive"
        yield bad_record(pos, src.rel, reason, "", str(err))


def read_parquet(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src), cfg, src, reject)


def iter_documents(path: str) -> Iterator[Document]:
    """Documents of a file written by corpuskit's own writer, exactly as they were written."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        cols = batch.to_pydict()
        for doc_id, text, source, meta in zip(cols["id"], cols["text"], cols["source"], cols["metadata"]):
            yield Document(text=text, id=doc_id, source=source, metadata=json.loads(meta) if meta else {})
