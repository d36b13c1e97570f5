"""`manifest.json` of a shard directory: writing it, and reading a shard directory back.

The layout and every field are documented in docs/SHARDS.md; this module is the one
place that writes them. The readers here use pyarrow and numpy only, exactly as a
trainer without corpuskit would (the exporters use them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from corpuskit.errors import CorpuskitError
from corpuskit.io import atomic_write_text, file_digest

FORMAT = "corpuskit-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TOKENIZER_FILE = "tokenizer.json"
# A split name, or a file name inside the shard directory: one path component, never '.' or '..'.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")
SHARD_KEYS = ("file", "n_documents", "n_tokens", "sha256")


class ShardsError(CorpuskitError, ValueError):
    """A shard directory is missing, incomplete, or of another format."""


def file_sha256(path: Path) -> str:
    return file_digest(path)


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
    if not isinstance(manifest, dict):
        raise ShardsError(f"{path}: expected a JSON object")
    if manifest.get("format") != FORMAT:
        raise ShardsError(f"{path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ShardsError(f"{path}: format_version {manifest.get('format_version')!r} is not supported "
                          f"(this corpuskit reads version {FORMAT_VERSION})")
    check_names(manifest, path)
    return manifest


def is_plain_name(name: object) -> bool:
    return isinstance(name, str) and PLAIN_NAME.fullmatch(name) is not None and name not in (".", "..")


def check_names(manifest: dict, path: Path) -> None:
    """Every name the manifest gives is a plain name in its place (ShardsError naming the key):
    readers and exporters join them to folders, so a shard directory from elsewhere must not
    be able to lead them outside it (`../../victim`, `/etc/passwd`)."""
    plain = "a plain name (letters, digits, '_', '.', '-'; not '.' or '..')"
    tokenizer = manifest.get("tokenizer")
    if not isinstance(tokenizer, dict) or not is_plain_name(tokenizer.get("file")):
        file = tokenizer.get("file") if isinstance(tokenizer, dict) else None
        raise ShardsError(f"{path}: tokenizer.file: {file!r} is not {plain}")
    splits = manifest.get("splits")
    if not isinstance(splits, dict):
        raise ShardsError(f"{path}: splits: expected a mapping from split names to splits")
    for split, info in splits.items():
        if not is_plain_name(split):
            raise ShardsError(f"{path}: splits[{split!r}]: a split name must be {plain}")
        shards = info.get("shards") if isinstance(info, dict) else None
        if not isinstance(shards, list):
            raise ShardsError(f"{path}: splits.{split}.shards: expected a list of shards")
        for i, entry in enumerate(shards):
            key = f"splits.{split}.shards[{i}]"
            if not isinstance(entry, dict) or any(k not in entry for k in SHARD_KEYS):
                raise ShardsError(f"{path}: {key}: expected a mapping with {', '.join(SHARD_KEYS)}")
            folder, _, name = str(entry["file"]).partition("/")
            if folder != split or not is_plain_name(name) or not name.endswith(".arrow"):
                raise ShardsError(f"{path}: {key}.file: {entry['file']!r} is not '{split}/NAME.arrow' "
                                  f"with NAME {plain}")


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
        try:
            table = read_shard(path)
            tokens = table.column("input_ids").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            lengths = table.column("n_tokens").to_numpy().astype(np.int64)
        except (pa.ArrowException, OSError, KeyError) as err:  # a damaged file whose manifest entry was rewritten to match
            raise ShardsError(f"{path}: not a readable shard (an Arrow IPC stream with input_ids and n_tokens): "
                              f"{err}") from None
        if verify and (len(lengths) != entry["n_documents"] or len(tokens) != entry["n_tokens"]):
            raise ShardsError(f"{path}: counts differ from the manifest")
        yield tokens, lengths
