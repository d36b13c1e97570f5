"""Readers: turn input files and datasets into documents, one unit of work per source."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.io import base_suffix
from corpuskit.layout import OUTPUT_GLOB, RunPaths
from corpuskit.readers.base import READ_STAGE, ReaderConfig, RejectFn, Source
from corpuskit.readers.csv import read_csv
from corpuskit.readers.hf import is_saved_dataset, read_hf
from corpuskit.readers.jsonl import read_jsonl
from corpuskit.readers.parquet import read_parquet
from corpuskit.readers.text import paragraph_groups, read_text, strip_gutenberg

__all__ = [
    "ReaderConfig", "Source", "list_sources", "read_source", "strip_gutenberg", "paragraph_groups", "READ_STAGE",
]

KINDS_BY_SUFFIX = {
    ".txt": "text", ".text": "text", ".md": "text",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".csv": "csv",
}
_READERS = {
    "text": read_text, "jsonl": read_jsonl, "parquet": read_parquet, "csv": read_csv,
    "hf_disk": read_hf, "hf_hub": read_hf,
}


class InputError(CorpuskitError, ValueError):
    """The input path does not exist or holds nothing to read."""


def list_sources(path: str | Path, glob: str = "**/*") -> list[Source]:
    """Every readable source under `path`, sorted by relative name so units are stable.

    Files with an unknown format are listed too (kind `unsupported`) so that the run
    records them as rejected instead of skipping them silently. Hidden files and
    folders (like the runner's own `.tmp` files) are ignored.
    """
    if isinstance(path, str) and path.startswith("hf:"):
        return [Source(path=path[3:], rel=path, kind="hf_hub")]
    root = Path(path)
    if not root.exists():
        raise InputError(f"input not found: {root}")
    if root.is_file():
        return [Source(path=str(root), rel=root.name, kind=_kind(root))]
    if is_saved_dataset(root):
        return [Source(path=str(root), rel=root.name, kind="hf_disk")]
    if RunPaths.is_finished_run(root):
        glob = OUTPUT_GLOB  # a corpuskit run folder: read its documents, not its stats or rejects
    sources: list[Source] = []
    saved: list[Path] = []
    for p in sorted(root.glob(glob)):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if any(s == p or s in p.parents for s in saved):
            continue
        if p.is_dir():
            if is_saved_dataset(p):
                saved.append(p)
                sources.append(Source(path=str(p), rel=rel.as_posix(), kind="hf_disk"))
            continue
        sources.append(Source(path=str(p), rel=rel.as_posix(), kind=_kind(p)))
    if not sources:
        raise InputError(f"no input files under {root} (glob {glob!r})")
    return sources


def _kind(path: Path) -> str:
    return KINDS_BY_SUFFIX.get(base_suffix(path), "unsupported")


def read_source(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    """Documents of one source; unreadable records go to `reject` with a reason."""
    if src.kind == "unsupported":
        reject(Document(text="", id=f"{src.rel}#0", source=src.rel), "unsupported_format", READ_STAGE,
               detail=f"{src.rel}: unknown file type (expected .txt, .jsonl, .parquet, .csv, optionally .gz/.zst)")
        return iter(())
    return _READERS[src.kind](src, cfg, reject)
