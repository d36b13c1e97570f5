"""Parquet files, read one record batch at a time."""

from __future__ import annotations

import json
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit.document import Document
from corpuskit.readers.base import ReaderConfig, RejectFn, Source, records_to_docs


def _records(src: Source) -> Iterator[tuple[int, str, dict | None, str | None]]:
    pos = 0
    try:
        pf = pq.ParquetFile(src.path)
        batches = pf.iter_batches(batch_size=1024)
        for batch in batches:
            for rec in batch.to_pylist():
                yield pos, f"{src.rel}:{pos}", rec, None
                pos += 1
    except (OSError, pa.ArrowException) as err:  # a corrupt or truncated file
        yield pos, f"{src.rel}: {err}", {"_raw": ""}, "truncated_archive"


def read_parquet(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src), cfg, src, reject)


def iter_documents(path: str) -> Iterator[Document]:
    """Documents of a file written by corpuskit's own writer, exactly as they were written."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        cols = batch.to_pydict()
        for doc_id, text, source, meta in zip(cols["id"], cols["text"], cols["source"], cols["metadata"]):
            yield Document(text=text, id=doc_id, source=source, metadata=json.loads(meta) if meta else {})
