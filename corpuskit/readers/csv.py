"""CSV files with a header row; quoted fields may hold newlines."""

from __future__ import annotations

import csv
import io
import sys
import zlib
from typing import Iterator

from corpuskit.document import Document
from corpuskit.io import open_binary
from corpuskit.readers.base import ReaderConfig, RejectFn, Source, records_to_docs

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # documents can be long


def _records(src: Source, cfg: ReaderConfig) -> Iterator[tuple[int, str, dict | None, str | None]]:
    pos = 0
    try:
        with open_binary(src.path) as raw:
            fh = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.DictReader(fh, delimiter=cfg.csv_delimiter)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError:
                    yield pos, f"{src.rel}:{reader.line_num + 1}", {"_raw": ""}, "invalid_utf8"
                    return  # the decoder cannot resynchronize inside a CSV stream
                except csv.Error as err:
                    yield pos, f"{src.rel}:{reader.line_num}", {"_raw": str(err)}, "malformed_csv"
                    pos += 1
                    continue
                yield pos, f"{src.rel}:{reader.line_num}", {k: v for k, v in row.items() if k is not None}, None
                pos += 1
    except (EOFError, OSError, zlib.error) as err:
        yield pos, f"{src.rel}: {err}", {"_raw": ""}, "truncated_archive"


def read_csv(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src, cfg), cfg, src, reject)
