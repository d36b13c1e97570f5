"""Small file helpers: transparent decompression and atomic writes."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import BinaryIO

COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file for reading bytes, decompressing .gz and .zst transparently."""
    path = str(path)
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith((".zst", ".zstd")):
        import zstandard

        fh = open(path, "rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, closefd=True))
    return open(path, "rb")


def base_suffix(path: str | Path) -> str:
    """The format suffix under any compression suffix: `a.jsonl.gz` -> `.jsonl`."""
    name = Path(path).name.lower()
    for comp in COMPRESSED_SUFFIXES:
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    return Path(name).suffix


def tmp_path(path: Path) -> Path:
    """The temporary name a file is written under before its atomic rename."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
