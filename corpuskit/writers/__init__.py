"""Writers: documents to Parquet or JSONL files, written under a temporary name and renamed."""

from corpuskit.writers.documents import FORMATS, REJECTED_EXTRA, DocumentWriter

__all__ = ["DocumentWriter", "FORMATS", "REJECTED_EXTRA"]
