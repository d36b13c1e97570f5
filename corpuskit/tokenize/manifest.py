"""`manifest.json` of a shard directory: writing it, and reading a shard directory back.

The layout and every field are documented in docs/SHARDS.md; this module is the one
place that writes them. The readers here use pyarrow and numpy only, exactly as a
trainer without corpuskit would (the exporters use them).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
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
SHA256 = re.compile(r"[0-9a-f]{64}")
DTYPES = {"uint16": 2**16, "uint32": 2**32}  # the shards' id type -> the ids it holds


class ShardsError(CorpuskitError, ValueError):
    """A shard directory is missing, incomplete, or of another format."""


def file_sha256(path: Path) -> str:
    return file_digest(path)


def vocab_size_of(tok) -> int:
    """The vocabulary size a model needs for `tok`: one more than its largest id. A tokenizer.json
    from elsewhere may skip ids, so the count of its tokens can be smaller than that."""
    return max(tok.get_vocab(with_added_tokens=True).values(), default=-1) + 1


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


def eval_sets_checked(run_dir: str | Path | None) -> dict | None:
    """What a run folder's `decontaminate` stage did (`action`) and against which eval sets (name,
    each file's name and sha256), from its reports/decontaminate.json; None where it has none.

    A model trained on the shards can then say which benchmarks its data was checked against."""
    report = Path(run_dir) / "reports" / "decontaminate.json" if run_dir else None
    if report is None or not report.is_file():
        return None
    try:
        record = json.loads(report.read_text(encoding="utf-8"))
        sets = [{"name": name, "files": [{"file": Path(f["path"]).name, "sha256": f["sha256"]} for f in b["files"]]}
                for name, b in record["benchmarks"].items()]
        return {"action": record["action"], "eval_sets": sets}
    except (ValueError, KeyError, TypeError) as err:
        raise ShardsError(f"{report} is damaged ({type(err).__name__}); run the decontaminate stage again") from None


def write_manifest(shards_dir: Path, manifest: dict) -> None:
    atomic_write_text(Path(shards_dir) / MANIFEST, json.dumps(manifest, indent=2) + "\n")


def load_manifest(shards_dir: str | Path) -> dict:
    """The validated manifest of a finished shard directory."""
    path = Path(shards_dir) / MANIFEST
    if not path.is_file() and not path.is_symlink():
        raise ShardsError(f"no {MANIFEST} in {shards_dir}: not a finished corpuskit shard directory")
    try:
        manifest = json.loads(read_regular(path).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ShardsError(f"{path}: invalid JSON: {err}") from None
    if not isinstance(manifest, dict):
        raise ShardsError(f"{path}: expected a JSON object")
    if manifest.get("format") != FORMAT:
        raise ShardsError(f"{path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ShardsError(f"{path}: format_version {manifest.get('format_version')!r} is not supported "
                          f"(this corpuskit reads version {FORMAT_VERSION})")
    check_names(manifest, path)
    check_fields(manifest, path)
    return manifest


_MISSING = object()  # a field the manifest lacks (not the same as null)


def _is_int(value: object, low: int = 0, high: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < high


def check_fields(manifest: dict, path: Path) -> None:
    """The fields readers and exporters use have their documented types and ranges (ShardsError
    naming the manifest and the field), so a hand-edited or truncated manifest is refused on
    load instead of failing mid-export with a traceback."""
    def need(field: str, value: object, ok: bool, expected: str) -> None:
        if not ok:
            got = "missing" if value is _MISSING else f"got {value!r}"
            raise ShardsError(f"{path}: {field}: expected {expected}, {got}")

    tok = manifest["tokenizer"]  # a mapping: check_names ran first
    sha = tok.get("sha256", _MISSING)
    need("tokenizer.sha256", sha, isinstance(sha, str) and SHA256.fullmatch(sha) is not None, "64 lowercase hex digits")
    vocab = tok.get("vocab_size", _MISSING)
    need("tokenizer.vocab_size", vocab, _is_int(vocab, 1, 2**32 + 1), "an integer from 1 to 2**32")
    eot = tok.get("eot_id", _MISSING)
    need("tokenizer.eot_id", eot, _is_int(eot, 0, vocab), f"an integer id below vocab_size ({vocab})")
    for key in ("bos_id", "pad_id"):
        value = tok.get(key)
        need(f"tokenizer.{key}", value, value is None or _is_int(value, 0, vocab), "null or an id below vocab_size")
    dtype = manifest.get("dtype", _MISSING)
    need("dtype", dtype, dtype in DTYPES, f"one of {', '.join(DTYPES)}")
    need("dtype", dtype, vocab <= DTYPES[dtype], f"uint32 for a vocabulary of {vocab:,} tokens")
    bpt = manifest.get("bytes_per_token", _MISSING)
    need("bytes_per_token", bpt, bpt is None or (isinstance(bpt, (int, float)) and not isinstance(bpt, bool)
                                                and math.isfinite(bpt) and bpt > 0), "null or a positive number")
    for split, info in manifest["splits"].items():
        for i, entry in enumerate(info["shards"]):
            key = f"splits.{split}.shards[{i}]"
            for count in ("n_documents", "n_tokens"):
                need(f"{key}.{count}", entry[count], _is_int(entry[count]), "a count (an integer >= 0)")
            need(f"{key}.sha256", entry["sha256"], isinstance(entry["sha256"], str)
                 and SHA256.fullmatch(entry["sha256"]) is not None, "64 lowercase hex digits")


def read_regular(path: Path) -> bytes:
    """The bytes of `path`, refusing a symbolic link (ShardsError): a shard directory from elsewhere
    could otherwise have corpuskit copy any file it can read (`tokenizer.json -> /etc/passwd`)
    into an export. O_NOFOLLOW makes the check and the read one step."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        if Path(path).is_symlink():
            raise ShardsError(f"{path}: is a symbolic link; a shard directory's files must be regular files") from None
        raise ShardsError(f"{path}: cannot be read ({err.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def read_tokenizer(shards_dir: str | Path, manifest: dict) -> bytes:
    """The shard directory's tokenizer file, checked against the manifest's `tokenizer.sha256`
    (ShardsError naming the file): ids mean nothing with another tokenizer."""
    path = Path(shards_dir) / manifest["tokenizer"]["file"]
    if not path.is_file() and not path.is_symlink():
        raise ShardsError(f"{path}: named by the manifest's tokenizer.file but missing")
    data = read_regular(path)
    if hashlib.sha256(data).hexdigest() != manifest["tokenizer"]["sha256"]:
        raise ShardsError(f"{path}: sha256 differs from the manifest's tokenizer.sha256 (replaced or edited "
                          "tokenizer); the shards' ids were made with another one")
    return data


def shard_path(root: Path, entry: dict) -> Path:
    """A listed shard's path; ShardsError when it, or its split folder, is a symbolic link
    (the names are plain, but a link would lead the read outside the directory)."""
    path = root / entry["file"]
    for p in (path.parent, path):
        if p.is_symlink():
            raise ShardsError(f"{p}: is a symbolic link; a shard directory's files must be regular files")
    if not path.is_file():
        raise ShardsError(f"{path}: listed in the manifest but missing")
    return path


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
    so a corrupt or truncated shard is never exported. Always: a shard that is a symbolic
    link, or that holds an id beyond the manifest's vocabulary, is refused.
    """
    root = Path(shards_dir)
    if split not in manifest["splits"]:
        raise ShardsError(f"{root}: no split {split!r} (splits: {', '.join(manifest['splits'])})")
    vocab = manifest["tokenizer"]["vocab_size"]
    for entry in manifest["splits"][split]["shards"]:
        path = shard_path(root, entry)
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
        if len(tokens) and int(tokens.max()) >= vocab:  # would index past a model's embedding
            raise ShardsError(f"{path}: holds token id {int(tokens.max()):,}, beyond the manifest's "
                              f"tokenizer.vocab_size {vocab:,}; shard it again with this corpuskit")
        yield tokens, lengths
