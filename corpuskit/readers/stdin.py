"""Documents for `corpuskit toxicity score`: standard input as JSON Lines, or anything the readers accept."""

from __future__ import annotations

import sys
from typing import Iterator

from corpuskit.document import Document


def _warn(doc: Document, reason: str, stage: str, **detail) -> None:
    """Unreadable records are not scored, but never skipped silently."""
    print(f"skipped {doc.id}: {reason} {detail.get('detail') or ''}".rstrip(), file=sys.stderr)


def iter_input(path: str, text_field: str = "text") -> Iterator[Document]:
    """Documents from `path` (a file or folder), or JSON Lines on stdin when `path` is `-`."""
    from corpuskit.readers import ReaderConfig, list_sources, read_source
    from corpuskit.readers.jsonl import parse_json

    if path != "-":
        cfg = ReaderConfig(text_field=text_field)
        for src in list_sources(path):
            yield from read_source(src, cfg, _warn)
        return
    for lineno, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        doc_id = f"stdin:{lineno}"
        try:
            rec, _ = parse_json(line)  # lone surrogates as U+FFFD: the scores are written as UTF-8
        except ValueError as err:
            _warn(Document(text=line, id=doc_id), "malformed_json", "read", detail=str(err))
            continue
        text = rec.get(text_field) if isinstance(rec, dict) else None
        if not isinstance(text, str):
            _warn(Document(text=line, id=doc_id), "missing_field", "read", detail=f"no string {text_field!r}")
            continue
        given = rec.get("id")
        yield Document(text=text, id=str(given) if given not in (None, "") else doc_id)
