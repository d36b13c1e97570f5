"""JSON Lines: one JSON object per line; bad lines are rejected with their line number.

A large uncompressed file is read as several units, each a byte range of whole lines
(`readers.units`).
"""

from __future__ import annotations

import codecs
import json
from typing import Iterator

from corpuskit.document import Document
from corpuskit.io import iter_lines
from corpuskit.readers.base import (
    READ_ERRORS, ReaderConfig, Record, RejectFn, Source, bad_record, failure_record, records_to_docs, utf16_record,
    wide_codec,
)


def _records(src: Source) -> Iterator[Record]:
    # A unit inside a large file reads its byte range; line numbers and positions go on from
    # the lines and records before it, so ids and messages are those of a whole-file read.
    pos, lineno = src.pos, src.line
    try:
        for lineno, raw in enumerate(iter_lines(src.path, src.start, src.end), start=src.line + 1):
            if lineno == 1:
                codec = wide_codec(raw)
                if codec:
                    yield utf16_record(src, codec)
                    return
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            yield _record(pos, f"{src.rel}:{lineno}", raw)
            pos += 1
    except READ_ERRORS as err:
        yield failure_record(err, src, pos, lineno + 1)


def _record(pos: int, where: str, raw: bytes) -> Record:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return bad_record(pos, where, "invalid_utf8", raw.decode("utf-8", errors="replace"),
                          f"invalid UTF-8 at byte {err.start} of the line")
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as err:
        return bad_record(pos, where, "malformed_json", line, str(err))
    if not isinstance(rec, dict):
        return bad_record(pos, where, "malformed_json", line, f"a JSON {type(rec).__name__}, not an object")
    return pos, where, rec, None


def read_jsonl(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src), cfg, src, reject)
