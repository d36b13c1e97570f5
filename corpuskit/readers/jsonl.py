"""JSON Lines: one JSON object per line; bad lines are rejected with their line number."""

from __future__ import annotations

import json
import zlib
from typing import Iterator

from corpuskit.document import Document
from corpuskit.io import open_binary
from corpuskit.readers.base import ReaderConfig, RejectFn, Source, records_to_docs


def _records(src: Source) -> Iterator[tuple[int, str, dict | None, str | None]]:
    pos = 0
    try:
        with open_binary(src.path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                where = f"{src.rel}:{lineno}"
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield pos, where, {"_raw": raw.decode("utf-8", errors="replace")}, "invalid_utf8"
                else:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        yield pos, where, {"_raw": line}, "malformed_json"
                    else:
                        if isinstance(rec, dict):
                            yield pos, where, rec, None
                        else:
                            yield pos, where, {"_raw": line}, "malformed_json"
                pos += 1
    except (EOFError, OSError, zlib.error) as err:
        yield pos, f"{src.rel}: {err}", {"_raw": ""}, "truncated_archive"


def read_jsonl(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src), cfg, src, reject)
