"""`manifest.json` of a shard directory: writing it, and reading a shard directory back.

The layout and every field are documented in docs/SHARDS.md; this module is the one
place that writes them. The readers here use pyarrow and numpy only, exactly as a
trainer without corpuskit would (the exporters use them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from corpuskit.errors import CorpuskitError
from corpuskit.io import atomic_write_text

FORMAT = "corpuskit-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TOKENIZER_FILE = "tokenizer.json"


class ShardsError(CorpuskitError, ValueError):
    """A shard directory is missing, incomplete, or of another format."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dtype_for_vocab(vocab_size: int) -> str:
    """uint16 holds ids 0..65535, so it serves any vocabulary of at most 65536 tokens."""
    return "uint16" if vocab_size <= 2**16 else "uint32"


def split_summary(shards: list[dict], n_bytes: int) -> dict:
    n_docs = sum(s["n_documents"] for s in shards)
    n_tokens = sum(s["n_tokens"] for s in shards)
    return {
        "n_documents": n_docs,
        "n_tokens": n_tokens,
        "n_bytes": n_bytes,
        "bytes_per_token": n_bytes / n_tokens if n_tokens else None,
        "shards": shards,
    }


def build_manifest(*, tokenizer: dict, dtype: str, splits: dict[str, dict], pipeline_config_sha256: str | None,
                   extra: dict | None = None) -> dict:
    """The manifest in the field order of docs/SHARDS.md; `extra` fields follow the contract's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        made_by = f"corpuskit {version('corpuskit')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        made_by = "corpuskit"
    n_bytes = sum(s["n_bytes"] for s in splits.values())
    n_tokens = sum(s["n_tokens"] for s in splits.values())
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tokenizer": tokenizer,
        "dtype": dtype,
        "bytes_per_token": n_bytes / n_tokens if n_tokens else None,
        "pipeline_config_sha256": pipeline_config_sha256,
        "splits": splits,
        "n_documents": sum(s["n_documents"] for s in splits.values()),
        "n_tokens": n_tokens,
        "created_by": made_by,
        **(extra or {}),
    }


def write_manifest(shards_dir: Path, manifest: dict) -> None:
    atomic_write_text(Path(shards_dir) / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def load_manifest(shards_dir: str | Path) -> dict:
    """The validated manifest of a finished shard directory."""
    path = Path(shards_dir) / MANIFEST
    if not path.is_file():
        raise ShardsError(f"no {MANIFEST} in {shards_dir}: not a finished corpuskit shard directory")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ShardsError(f"{path}: invalid JSON: {err}") from None
    if manifest.get("format") != FORMAT:
        raise ShardsError(f"{path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ShardsError(f"{path}: format_version {manifest.get('format_version')!r} is not supported "
                          f"(this corpuskit reads version {FORMAT_VERSION})")
    return manifest


def read_shard(path: str | Path) -> pa.Table:
    """One shard as an Arrow table (memory-mapped, no copy)."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_stream(source).read_all()


def iter_split_tokens(shards_dir: str | Path, manifest: dict, split: str, verify: bool = True
                      ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(tokens, lengths) of each shard of `split` in order: tokens flat, lengths per document.

    With `verify`, each shard's sha256 and counts are checked against the manifest first,
    so a corrupt or truncated shard is never exported.
    """
    root = Path(shards_dir)
    if split not in manifest["splits"]:
        raise ShardsError(f"{root}: no split {split!r} (splits: {', '.join(manifest['splits'])})")
    for entry in manifest["splits"][split]["shards"]:
        path = root / entry["file"]
        if not path.is_file():
            raise ShardsError(f"{path}: listed in the manifest but missing")
        if verify and file_sha256(path) != entry["sha256"]:
            raise ShardsError(f"{path}: sha256 differs from the manifest (corrupt or replaced shard)")
        table = read_shard(path)
        ids = table.column("input_ids").combine_chunks()
        tokens = ids.flatten().to_numpy(zero_copy_only=False)
        lengths = table.column("n_tokens").to_numpy().astype(np.int64)
        if verify and (len(lengths) != entry["n_documents"] or len(tokens) != entry["n_tokens"]):
            raise ShardsError(f"{path}: counts differ from the manifest")
        yield tokens, lengths
