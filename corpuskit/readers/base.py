"""What every reader shares: options, the unit of input, and record-to-document rules.

A reader turns one input source into documents. Bad input is never dropped silently:
a record that cannot be read becomes a rejected document with a reason
(`invalid_utf8`, `malformed_json`, `missing_field`, `bad_field_type`, `binary_file`,
`truncated_archive`, `unsupported_format`) and the reader goes on with the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterator

from corpuskit.document import Document

RejectFn = Callable[..., None]
READ_STAGE = "read"


@dataclass
class ReaderConfig:
    text_field: str = "text"  # column or JSON key holding the text
    id_field: str = "id"  # column or key holding the id; missing ids are derived from path and position
    text_mode: str = "paragraphs"  # text files: "file" = one document per file; "paragraphs" = blank-line groups
    target_chars: int = 2000  # "paragraphs" mode: group paragraphs up to about this many characters
    gutenberg: str = "auto"  # strip Project Gutenberg header/footer: "auto" (when markers are found), "on", "off"
    glob: str = "**/*"  # which files of a folder to read
    csv_delimiter: str = ","
    encoding_errors: str = "quarantine"  # invalid UTF-8 in a text file: "quarantine" the file, or "replace" bytes
    hf_split: str = "train"  # split to read from a hub dataset ("hf:NAME")
    hf_streaming: bool = True  # stream hub datasets instead of downloading them whole

    def __post_init__(self) -> None:
        _choice("text_mode", self.text_mode, ("file", "paragraphs"))
        _choice("gutenberg", self.gutenberg, ("auto", "on", "off"))
        _choice("encoding_errors", self.encoding_errors, ("quarantine", "replace"))
        if self.target_chars < 1:
            raise ValueError("target_chars must be positive")


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


@dataclass(frozen=True)
class Source:
    """One unit of input: a file (or a saved/hub dataset) and its name relative to the input root."""

    path: str
    rel: str
    kind: str  # text | jsonl | parquet | csv | hf_disk | hf_hub | unsupported


def records_to_docs(
    records: Iterator[tuple[int, str, dict | None, str | None]],
    cfg: ReaderConfig,
    src: Source,
    reject: RejectFn,
) -> Iterator[Document]:
    """Turn (position, where, record, error) tuples from a tabular reader into documents.

    `where` names the record for humans (`file.jsonl:17`). A tuple with an error carries
    the raw text in `record["_raw"]` and is rejected with that reason.
    """
    for pos, where, rec, error in records:
        doc_id = f"{src.rel}#{pos}"
        if error is not None:
            raw = (rec or {}).get("_raw", "")
            reject(Document(text=raw, id=doc_id, source=where), error, READ_STAGE)
            continue
        assert rec is not None
        text = rec.get(cfg.text_field)
        if text is None:
            raw = json.dumps(rec, ensure_ascii=False, default=str)
            reject(Document(text=raw, id=doc_id, source=where), "missing_field", READ_STAGE,
                   detail=f"{where}: no field {cfg.text_field!r}")
            continue
        if not isinstance(text, str):
            raw = json.dumps(rec, ensure_ascii=False, default=str)
            reject(Document(text=raw, id=doc_id, source=where), "bad_field_type", READ_STAGE,
                   detail=f"{where}: field {cfg.text_field!r} is {type(text).__name__}, not a string")
            continue
        given_id = rec.get(cfg.id_field)
        metadata = {k: v for k, v in rec.items() if k not in (cfg.text_field, cfg.id_field, "source", "metadata")}
        # corpuskit's own outputs carry `source` and a `metadata` object (a JSON string in Parquet).
        inner = rec.get("metadata")
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except json.JSONDecodeError:
                pass
        if isinstance(inner, dict):
            metadata = {**inner, **metadata}
        elif inner is not None:
            metadata["metadata"] = inner
        source = rec.get("source")
        yield Document(
            text=text,
            id=str(given_id) if given_id not in (None, "") else doc_id,
            source=source if isinstance(source, str) and source else where,
            metadata=metadata,
        )
