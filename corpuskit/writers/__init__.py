"""Writers: documents to Parquet or JSONL files, written under a temporary name and renamed."""

from corpuskit.writers.documents import REJECTED_EXTRA, DocumentWriter, output_name

__all__ = ["DocumentWriter", "output_name", "REJECTED_EXTRA"]
