"""CSV files with a header row; quoted fields may hold newlines.

A bad row costs that row alone, named by the line it starts on:

- a row with invalid UTF-8 is rejected as `invalid_utf8` (its text kept, bad bytes replaced);
- a quoted field that is never closed (still open at the end of the file, or after
  `csv_max_record_lines` lines), or a closing quote followed by anything but a delimiter
  or a line end, makes the row `malformed_csv`; reading resumes on the line after the
  row's first line, so the rows that the open quote would have swallowed are read;
- a row with more fields than the header is `malformed_csv` (nothing is dropped to fit).

The header row is needed for every row: if it cannot be read, or names a column twice
(`id,text,text`: which one is the text?), the file is one `malformed_csv` reject.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import sys
from collections import deque
from typing import Iterator

from corpuskit.document import Document
from corpuskit.io import ArchiveError, iter_lines
from corpuskit.readers.base import (
    READ_ERRORS, ReaderConfig, Record, RejectFn, Source, bad_record, failure_record, records_to_docs, utf16_record,
    wide_codec,
)

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # documents can be long


class _Unclosed(Exception):
    """The record being parsed is still inside a quoted field at the end of the file, or past the line limit."""


class _Lines:
    """The file's lines for csv.reader, decoded one by one, remembering those of the record being parsed.

    csv.reader pulls a line only while a record is unfinished, so a pull past the end of
    the file, or past `max_lines` lines of one record, means a quote was never closed.
    `again` re-reads a bad record's lines from its second line on.
    """

    def __init__(self, lines: Iterator[bytes], max_lines: int):
        self._lines = enumerate(lines, start=1)
        self._again: deque[tuple[int, bytes]] = deque()
        self._max = max_lines
        self.record: list[tuple[int, bytes]] = []  # (line number, bytes) of the record being parsed
        self.bad_utf8: int | None = None  # the first line of the record that is not UTF-8
        self.lineno = 0  # the last line read from the file

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if len(self.record) >= self._max:
            raise _Unclosed(f"a quoted field is still open after {self._max} lines")
        item = self._again.popleft() if self._again else next(self._lines, None)
        if item is not None:
            self.lineno = max(self.lineno, item[0])
        if item is None:
            if self.record:
                raise _Unclosed("a quoted field is never closed")
            raise StopIteration
        self.record.append(item)
        lineno, raw = item
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_utf8 = self.bad_utf8 or lineno
            return raw.decode("utf-8", errors="replace")

    def start_record(self) -> None:
        self.record, self.bad_utf8 = [], None

    def again(self) -> None:
        self._again.extendleft(reversed(self.record[1:]))

    @property
    def first_line(self) -> int:
        """The line the record starts on; the next line of the file when none of it was read yet."""
        return self.record[0][0] if self.record else self.lineno + 1

    @property
    def raw(self) -> bytes:
        return b"".join(raw for _, raw in self.record)

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")


def _records(src: Source, cfg: ReaderConfig) -> Iterator[Record]:
    lines = iter_lines(src.path)
    try:
        first = next(lines, None)
    except READ_ERRORS as err:
        yield failure_record(err, src, 0, 1)
        return
    if first is None:
        return
    codec = wide_codec(first)
    if codec:
        yield utf16_record(src, codec)
        return
    feed = _Lines(itertools.chain([first.removeprefix(codecs.BOM_UTF8)], lines), cfg.csv_max_record_lines)
    # strict: a closing quote must be followed by a delimiter or a line end, which also
    # catches most stray quotes that a later stray quote happens to close.
    reader = csv.reader(feed, delimiter=cfg.csv_delimiter, strict=True)
    header: list[str] | None = None
    pos = 0
    while True:
        feed.start_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except (_Unclosed, csv.Error) as err:
            if header is None:
                yield bad_record(0, f"{src.rel}:{feed.first_line}", "malformed_csv", feed.text, f"header row: {err}")
                return
            # Only the first line is the bad row's own: the lines after it are read again.
            first = feed.record[0][1].decode("utf-8", errors="replace")
            yield bad_record(pos, f"{src.rel}:{feed.first_line}", "malformed_csv", first, str(err))
            pos += 1
            feed.again()
            reader = csv.reader(feed, delimiter=cfg.csv_delimiter, strict=True)  # the old one stopped mid-record
            continue
        except READ_ERRORS as err:
            if isinstance(err, ArchiveError):  # the cut record: the lines read of it, and the unfinished one
                err.partial = feed.raw + err.partial
            yield failure_record(err, src, pos, feed.first_line)
            return
        if not row:  # a blank line
            continue
        if header is None:
            if feed.bad_utf8:
                yield bad_record(0, f"{src.rel}:{feed.first_line}", "invalid_utf8", feed.text, "header is not UTF-8")
                return
            twice = _repeated(row)
            if twice:
                yield bad_record(0, f"{src.rel}:{feed.first_line}", "malformed_csv", feed.text,
                                 f"header names the column {twice!r} more than once; rename one and read the file again")
                return
            header = row
            continue
        yield _record(pos, f"{src.rel}:{feed.first_line}", row, header, feed)
        pos += 1


def _repeated(header: list[str]) -> str | None:
    """The first column name that the header gives twice, if any.

    A row maps names to values, so a second column of a name would hide the first. Unnamed
    columns (`a,b,,` from a spreadsheet) are allowed: a row with values in two of them is
    rejected instead (`_record`).
    """
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            return name
        seen.add(name)
    return None


def _record(pos: int, where: str, row: list[str], header: list[str], feed: _Lines) -> Record:
    if feed.bad_utf8:
        return bad_record(pos, where, "invalid_utf8", feed.text, f"invalid UTF-8 on line {feed.bad_utf8}")
    if len(row) > len(header):
        return bad_record(pos, where, "malformed_csv", feed.text, f"{len(row)} fields, the header has {len(header)}")
    unnamed = [value for name, value in zip(header, row) if not name and value] if "" in header else []
    if len(unnamed) > 1:
        return bad_record(pos, where, "malformed_csv", feed.text, "values in two columns the header does not name")
    rec = dict(zip(header, row + [None] * (len(header) - len(row))))
    if unnamed:  # the one value under an unnamed column, whichever of them it is in
        rec[""] = unnamed[0]
    return pos, where, rec, None


def read_csv(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    return records_to_docs(_records(src, cfg), cfg, src, reject)
