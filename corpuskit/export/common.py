"""What every exporter shares: reading the shard directory, atomic output files, dtype checks."""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path
from typing import BinaryIO, Iterator

from corpuskit.errors import CorpuskitError
from corpuskit.io import atomic_write_bytes, tmp_path
from corpuskit.tokenize.manifest import TOKENIZER_FILE, load_manifest

FORMATS = {
    "nanogpt": "corpuskit.export.nanogpt",
    "llmc": "corpuskit.export.llmc",
    "megatron": "corpuskit.export.megatron",
    "datatrove": "corpuskit.export.datatrove",
}


class ExportError(CorpuskitError, ValueError):
    """The shard directory cannot be exported in the asked format."""


def export_shards(shards_dir: str | Path, out_dir: str | Path, fmt: str, **options) -> list[Path]:
    """Write the shard directory in format `fmt` under `out_dir`; returns the files written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    shards_dir, out_dir = Path(shards_dir), Path(out_dir)
    manifest = load_manifest(shards_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = importlib.import_module(FORMATS[fmt]).export(shards_dir, manifest, out_dir, **options)
    # The tokenizer travels with the tokens: ids mean nothing without it.
    atomic_write_bytes(out_dir / TOKENIZER_FILE, (shards_dir / manifest["tokenizer"]["file"]).read_bytes())
    return files + [out_dir / TOKENIZER_FILE]


def require_uint16(manifest: dict, fmt: str) -> None:
    vocab = manifest["tokenizer"]["vocab_size"]
    if manifest["dtype"] != "uint16" or vocab > 2**16:
        raise ExportError(f"{fmt} stores tokens as uint16, but this tokenizer has {vocab:,} tokens "
                          f"(ids up to {vocab - 1:,} > 65,535); use --format megatron or datatrove, "
                          "or a vocabulary of at most 65,536 tokens")


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """A binary file written under a temporary name and renamed into place only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    fh = open(tmp, "wb")
    try:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, path)
    except BaseException:
        fh.close()
        tmp.unlink(missing_ok=True)
        raise
