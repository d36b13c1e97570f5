"""JSON Lines: one JSON object per line; bad lines are rejected with their line number.

A string escape of a lone surrogate (`"\\ud800"`, valid JSON but not Unicode) is read as
U+FFFD and counted (`replaced_chars`, readers/base.py), in every field and key.

A large uncompressed file is read as several units, each a byte range of whole lines
(`readers.units`).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Iterator

from corpuskit.document import Document
from corpuskit.io import iter_lines
from corpuskit.readers.base import (
    READ_ERRORS, REPLACED, ReaderConfig, Record, RejectFn, Source, bad_record, failure_record, records_to_docs,
    utf16_record, wide_codec,
)

# A JSON string escape of a surrogate, paired or lone. An escaped backslash is matched first,
# so that the `\\ud800` of `"\\\\ud800"` (a backslash, then the letters) is left alone.
_SURROGATE_ESCAPE = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


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
        rec, replaced = parse_json(line)
    except ValueError as err:
        return bad_record(pos, where, "malformed_json", line, str(err))
    if not isinstance(rec, dict):
        return bad_record(pos, where, "malformed_json", line, f"a JSON {type(rec).__name__}, not an object")
    if replaced:
        rec["_" + REPLACED] = replaced  # records_to_docs moves it to the document's metadata
    return pos, where, rec, None


def parse_json(line: str) -> tuple[object, int]:
    """The value of one line of JSON and how many lone surrogates in it became U+FFFD.

    ValueError for anything that is not a value to read: bad JSON (JSONDecodeError), an
    integer past Python's 4,300 digits, nesting deeper than the interpreter's recursion.
    """
    replaced = 0
    if "\\u" in line:
        line, replaced = _replace_lone_surrogates(line)
    try:
        return json.loads(line), replaced
    except RecursionError:  # json's C scanner recurses once per level of [ or {
        raise ValueError("nested too deeply to read") from None


def _replace_lone_surrogates(line: str) -> tuple[str, int]:
    """The JSON text with each escape of a lone surrogate made `\\ufffd`, and how many.

    Done on the text, before parsing: no walk through nested values, and keys are covered too.
    """
    count = 0

    def fix(m: re.Match) -> str:
        nonlocal count
        if len(m.group()) != 6:  # an escaped backslash, or a high and low surrogate pair: one character
            return m.group()
        count += 1
        return "\\ufffd"

    return _SURROGATE_ESCAPE.sub(fix, line), count


def read_jsonl(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src), cfg, src, reject)
