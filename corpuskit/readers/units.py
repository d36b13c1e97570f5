"""Units of work inside large inputs: a source bigger than `unit_bytes` becomes several units.

Each unit reads a part of its file that parses on its own, and carries the counts of the
lines and records before it, so the documents it gives (derived ids `rel#pos`, line
numbers in messages) are exactly those a whole-file read gives:

- JSON Lines (uncompressed): byte ranges cut just after a newline, found by one scan of
  the file in the driver (newlines and blank lines counted at C speed, ~1 s per GB on disk);
- Parquet: runs of whole row groups, from the file's footer;
- a `save_to_disk` dataset: contiguous row ranges over its splits in order.

The rest stay one unit per file, on purpose:

- text files: paragraphs are grouped greedily over the whole book, and the Gutenberg
  markers and the encoding are decided per file, so a cut would change the documents;
  books are a few MB;
- CSV: a quoted field may hold newlines, and a bad row's recovery (read on from the line
  after its first line) is sequential, so no byte offset is known to start a row without
  parsing all that comes before it. A large table belongs in JSON Lines or Parquet;
- compressed files (.gz, .zst): a stream cannot be entered in the middle. Compress each
  part separately, or leave large inputs uncompressed.

The plan depends only on the inputs and `unit_bytes`, never on the number of workers, and
a unit's name is its file index and chunk index (`Source.name`), so output names and bytes
are the same for any number of workers and on any executor.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import replace
from pathlib import Path

from corpuskit.io import is_compressed, is_url, open_raw, url_info
from corpuskit.readers.base import Source, wide_codec

_SCAN = 16 << 20  # bytes counted at a time when planning a JSON Lines file
# A blank line after a newline: the reader skips lines whose bytes are only ASCII whitespace.
_BLANK_AFTER_NEWLINE = re.compile(rb"\n[ \t\r\x0b\x0c]*(?=\n)")


def plan_units(sources: list[Source], unit_bytes: int) -> list[Source]:
    """The run's units: each source with its file index, a large one cut into chunks."""
    units: list[Source] = []
    for i, src in enumerate(sources):
        src = replace(src, file=i)
        chunks = _cut(src, unit_bytes)
        units += chunks if len(chunks) > 1 else [src]
    return units


def _cut(src: Source, unit_bytes: int) -> list[Source]:
    if src.kind == "jsonl" and not is_compressed(src.path):
        return _jsonl_chunks(src, unit_bytes)
    if src.kind == "parquet":
        return _parquet_chunks(src, unit_bytes)
    if src.kind == "hf_disk":
        return _dataset_chunks(src, unit_bytes)
    return [src]


def unit_size(src: Source) -> int:
    """About how many bytes a unit reads: to start the largest first."""
    if src.kind == "jsonl" and src.chunk is not None:
        return (src.end or 0) - src.start
    try:
        return os.path.getsize(src.path)
    except OSError:  # a hub dataset, or a saved-dataset folder
        return 0


def _jsonl_chunks(src: Source, unit_bytes: int) -> list[Source]:
    try:
        size = url_info(src.path)["size"] if is_url(src.path) else os.path.getsize(src.path)
        if size <= unit_bytes:
            return [src]
        fh = open_raw(src.path)
    except OSError:  # the reader reports it where the unit runs
        return [src]
    with fh:
        if wide_codec(fh.read(4)):  # UTF-16 lines cannot be cut at b"\n": one reject for the file
            return [src]
        fh.seek(0)
        cuts, counts = _scan(fh, size, unit_bytes)
    chunks, line, pos = [], 0, 0
    for c, ((a, b), (lines, blank)) in enumerate(zip(zip(cuts, cuts[1:]), counts)):
        chunks.append(replace(src, chunk=c, start=a, end=b, line=line, pos=pos))
        line, pos = line + lines, pos + lines - blank
    return chunks


def _scan(fh, size: int, unit_bytes: int) -> tuple[list[int], list[tuple[int, int]]]:
    """One pass over a JSON Lines file: the cuts (just after the first newline at or past each
    k * size / n) and the (lines, blank lines) of each chunk between them."""
    n = -(-size // unit_bytes)
    targets = [k * size // n for k in range(1, n)]
    cuts, counts = [0], []
    lines = blank = 0  # of the chunk being scanned
    offset, tail = 0, b""  # file offset of the block's first byte; the unfinished line before it
    while block := fh.read(_SCAN):
        data = tail + block
        end = data.rfind(b"\n") + 1
        data, tail = data[:end], data[end:]
        done = 0  # bytes of `data` counted
        while targets and end:
            target = max(targets[0], cuts[-1] + 1)
            if target - 1 >= offset + end:
                break
            cut = data.index(b"\n", max(target - 1 - offset, done)) + 1
            targets.pop(0)
            if offset + cut >= size:
                targets.clear()
                break
            n_lines, n_blank = _count_lines(data[done:cut], offset + done == 0)
            counts.append((lines + n_lines, blank + n_blank))
            cuts.append(offset + cut)
            lines = blank = 0
            done = cut
        n_lines, n_blank = _count_lines(data[done:end], offset + done == 0)
        lines, blank = lines + n_lines, blank + n_blank
        offset += end
    counts.append((lines, blank))
    cuts.append(size)
    return cuts, counts


def _count_lines(data: bytes, at_start: bool) -> tuple[int, int]:
    """(lines, blank lines) in `data`, which starts a line and ends just after a newline."""
    if not data:
        return 0, 0
    first = data[: data.find(b"\n") + 1]
    if at_start:
        first = first.removeprefix(codecs.BOM_UTF8)
    return data.count(b"\n"), int(not first.strip()) + sum(1 for _ in _BLANK_AFTER_NEWLINE.finditer(data))


def _parquet_chunks(src: Source, unit_bytes: int) -> list[Source]:
    import pyarrow as pa

    from corpuskit.readers.parquet import parquet_file

    try:
        meta = parquet_file(src.path).metadata
    except (OSError, pa.ArrowException):  # the reader reports it where the unit runs
        return [src]
    groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
    chunks: list[Source] = []
    start = rows = size = pos = 0
    for g, group in enumerate(groups):
        rows += group.num_rows
        size += group.total_byte_size  # uncompressed: what the unit decodes and processes
        if size >= unit_bytes or g == len(groups) - 1:
            chunks.append(replace(src, chunk=len(chunks), start=start, end=g + 1, pos=pos))
            start, pos, size = g + 1, rows, 0
    return chunks


def _dataset_chunks(src: Source, unit_bytes: int) -> list[Source]:
    size = sum(p.stat().st_size for p in Path(src.path).rglob("*.arrow") if p.is_file())
    if size <= unit_bytes:
        return [src]
    from corpuskit.readers.hf import saved_splits

    rows = sum(len(ds) for _, ds in saved_splits(src.path))
    n = min(-(-size // unit_bytes), max(rows, 1))
    cuts = [k * rows // n for k in range(n + 1)]
    return [replace(src, chunk=c, start=a, end=b, pos=a) for c, (a, b) in enumerate(zip(cuts, cuts[1:]))]
