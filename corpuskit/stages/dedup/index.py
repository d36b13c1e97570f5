"""A persistent MinHash index: the documents kept by earlier runs, so that a new batch
is de-duplicated against them (`index_dir`).

    INDEX/.corpuskit-index    ownership marker: the folder was created (or found empty) by corpuskit
    INDEX/manifest.json       format, generation, parameters, document count, batches
    INDEX/gen-000003/         a store (see store.py) holding every indexed document

A run reads the current generation and, at the end of its reduce, writes generation+1
(old documents plus the ones it kept) in a new folder, then replaces the manifest
atomically, then deletes older generations. A crash at any point leaves the previous
manifest and its generation intact. The reduce holds the folder's lock (INDEX/.corpuskit-lock,
`layout.folder_lock`) from reading the index to publishing it, so a second run updating the
same index at once is refused (a rerun resumes it) instead of publishing a generation
without the first run's documents.

Each run's batch has an id (`batch_id`: its working folder and the content of its documents'
signatures), and the generation holds the batches' documents in manifest order (`added`
rows each). A reduce redone after a crash that published, or the same run redone with
--force, finds its own batch there: it is left out of the index the run compares against,
and replaced, not added a second time, when the run publishes.

An index on object storage (`index_dir: s3://bucket/index`) has the same layout. The reduce
works on a local copy (`publish.work_dir(URL)`): the current generation is downloaded
(`pull`), and the new one is uploaded object by object under temporary keys, then the
manifest is replaced, then older generations are deleted (`push`), the same order as on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

from corpuskit.errors import ConfigError
from corpuskit.io import atomic_write_text, is_url
from corpuskit.layout import LOCK, claim_folder, folder_lock, is_temporary
from corpuskit.publish import put_atomic, work_dir
from corpuskit.stages.dedup.store import Store, damage

FORMAT = 1
MARKER = ".corpuskit-index"
_GENERATION = re.compile(r"^gen-\d{6}$")
_GENERATION_TMP = re.compile(r"^\.gen-\d{6}\.tmp-\d+$")  # store.StoreWriter's temporary name
_MANIFEST_TMP = re.compile(r"^\.manifest\.json\.tmp-\d+$")  # io.atomic_write_text's temporary name


class IndexMismatchError(ConfigError):
    """The index folder was written with other parameters, or is not an index."""


def _is_lock(name: str) -> bool:
    """The lock file, or its temporary (`layout.folder_lock`): a writer's, not a user's file."""
    return name == LOCK or name.startswith(f".{LOCK}.tmp-")


def check_index_folder(index_dir: Path | str) -> None:
    """Refuse an index folder that corpuskit did not create: it is someone else's."""
    if is_url(index_dir):
        fs, root = _remote(index_dir)
        keys = fs.find(root) if fs.exists(root) else []
        if keys and f"{root}/{MARKER}" not in keys:
            raise IndexMismatchError(f"{index_dir} is not a corpuskit MinHash index (no {MARKER}) and not empty; "
                                     "choose a new or empty prefix for --index")
        return
    index_dir = Path(index_dir)
    if index_dir.exists() and not (index_dir / MARKER).is_file() and (
            not index_dir.is_dir() or any(not _is_lock(p.name) for p in index_dir.iterdir())):
        raise IndexMismatchError(f"{index_dir} is not a corpuskit MinHash index (no {MARKER}) and not empty; "
                                 "choose a new or empty folder for --index")


def check_index_location(index_dir: str, input_path: str, output: str) -> None:
    """Refuse, before any work, an index folder that is (or is inside, or holds) the run's
    input or output: the run would read the index as documents, or write its outputs into it."""
    for role, other in (("input", input_path), ("output", output)):
        if other.startswith("hf:") or is_url(other) != is_url(index_dir):
            continue
        if is_url(index_dir):
            a, b = index_dir.rstrip("/") + "/", other.rstrip("/") + "/"
            nested = a.startswith(b) or b.startswith(a)
        else:
            a, b = Path(index_dir).resolve(), Path(other).resolve()
            nested = a == b or a.is_relative_to(b) or b.is_relative_to(a)
        if nested:
            raise ConfigError(f"index_dir {index_dir} and the {role} {other} overlap (one is, or is inside, the "
                              "other); choose an index folder outside the run's input and output")


def read_manifest(index_dir: Path) -> dict | None:
    path = Path(index_dir) / "manifest.json"
    if not path.exists():
        return None
    check_index_folder(index_dir)
    try:
        manifest = json.loads(path.read_text())
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        raise IndexMismatchError(f"{path}: not a JSON object; the index is damaged")
    if manifest.get("format") != FORMAT:
        raise IndexMismatchError(f"{index_dir}: not a corpuskit MinHash index (format {manifest.get('format')!r})")
    batches = manifest.get("batches")
    if not (isinstance(manifest.get("generation"), int) and _GENERATION.match(str(manifest.get("current")))
            and isinstance(manifest.get("params"), dict) and isinstance(manifest.get("n_docs"), int)
            and isinstance(batches, list) and all(isinstance(b, dict) and isinstance(b.get("added"), int)
                                                  for b in batches)):
        raise IndexMismatchError(f"{path}: missing or malformed fields; the index is damaged")
    return manifest


def open_index(index_dir: Path, params: dict) -> tuple[Store, dict] | None:
    """The current generation's store and the manifest, or None for a new index; parameters must match."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return None
    if manifest["params"] != params:
        diff = {k: (manifest["params"].get(k), v) for k, v in params.items() if manifest["params"].get(k) != v}
        raise IndexMismatchError(f"{index_dir} was built with other MinHash parameters (index, this run): {diff}")
    current = Path(index_dir) / manifest["current"]
    problem = damage(current, manifest["n_docs"])
    if problem:
        raise IndexMismatchError(f"{current}: {problem}; the index is damaged")
    return Store(current), manifest


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Claim the index folder and hold its lock: one run updates an index at a time."""
    claim_folder(Path(index_dir), MARKER, "MinHash index")
    with folder_lock(index_dir, "MinHash index update"):
        remove_leftovers(index_dir)
        yield


def remove_leftovers(index_dir: Path) -> None:
    """Delete what a run killed mid-write left in the index: a manifest or a generation under its
    temporary name. Called under the lock, so no writer is at work; a rerun whose batch is in the
    index already publishes nothing, and would otherwise leave them for good."""
    for p in Path(index_dir).iterdir():
        if p.is_symlink():
            continue
        if _MANIFEST_TMP.match(p.name) and p.is_file():
            p.unlink()
        elif _GENERATION_TMP.match(p.name) and p.is_dir():
            shutil.rmtree(p)


def batch_id(workdir: Path, units: list[Path]) -> str:
    """The id of a run's batch: its working folder and its documents' ids and signatures. A
    rerun or --force of the same run over the same input has the same id; another run, or
    the same output folder over another input, has another."""
    h = hashlib.sha256(str(Path(workdir).resolve()).encode())
    for unit in units:
        for name in ("meta.json", "ids.txt", "sig.u32"):
            with open(Path(unit) / name, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:32]


def batch_rows(manifest: dict, batch: str) -> tuple[int, int] | None:
    """The rows [lo, hi) that batch `batch` holds in the current generation, or None if it
    is not in the index. Batches hold consecutive rows in manifest order, `added` each."""
    lo = 0
    found = None
    for b in manifest["batches"]:
        if b.get("id") == batch:
            found = (lo, lo + b["added"])
        lo += b["added"]
    if found is not None and lo != manifest["n_docs"]:
        raise IndexMismatchError(f"manifest.json: its batches add up to {lo} documents, not {manifest['n_docs']}; "
                                 "the index is damaged")
    return found


def publish(index_dir: Path, new_store: Path, params: dict, batch: dict) -> None:
    """Make `new_store` (already written inside index_dir) the current generation, recording
    `batch` once: an earlier record with the same id is the same batch, replaced."""
    index_dir = Path(index_dir)
    old = read_manifest(index_dir)
    others = [b for b in (old["batches"] if old else []) if b.get("id") != batch["id"]]
    manifest = {
        "format": FORMAT,
        "generation": (old["generation"] + 1) if old else 1,
        "current": new_store.name,
        "params": params,
        "n_docs": Store(new_store).n_docs,
        "batches": others + [batch],
    }
    atomic_write_text(index_dir / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    for p in index_dir.iterdir():  # older generations (a killed run's half-written one: remove_leftovers)
        if _GENERATION.match(p.name) and p.name != new_store.name and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)


def next_generation_dir(index_dir: Path) -> Path:
    manifest = read_manifest(index_dir)
    gen = (manifest["generation"] + 1) if manifest else 1
    return Path(index_dir) / f"gen-{gen:06d}"


# -- an index on object storage ----------------------------------------------------------------
def _remote(url: str):
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    return fs, root.rstrip("/")


def pull(url: str) -> Path:
    """The local copy of the index at `url`, holding its current generation (downloaded unless
    the copy has it already); a new, empty folder for an index not created yet."""
    check_index_folder(url)
    local = work_dir(url)
    fs, root = _remote(url)
    if not fs.exists(f"{root}/manifest.json"):
        _clear(local)  # the remote index is new: so is the copy
        return local
    manifest = json.loads(fs.cat_file(f"{root}/manifest.json"))
    current = manifest.get("current", "")
    if not _GENERATION.match(str(current)):
        raise IndexMismatchError(f"{url}/manifest.json: current {current!r} is not a generation name")
    mine = read_manifest(local) if (local / "manifest.json").is_file() else None
    if mine != manifest or not (local / current / "meta.json").is_file():
        _clear(local)
        local.mkdir(parents=True, exist_ok=True)
        (local / MARKER).write_text(json.dumps({"corpuskit": "MinHash index"}) + "\n")
        tmp = local / f".{current}.tmp-{os.getpid()}"
        tmp.mkdir()
        for key in fs.find(f"{root}/{current}"):
            name = key.rsplit("/", 1)[-1]
            if "/" in key[len(root) + len(current) + 2:] or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise IndexMismatchError(f"{url}: unexpected object {key} in generation {current}")
            fs.get_file(key, str(tmp / name))
        tmp.replace(local / current)
        atomic_write_text(local / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    return local


def _clear(local: Path) -> None:
    """Empty the local copy, but for its marker and the lock its caller holds."""
    if not local.is_dir():
        return
    for p in local.iterdir():
        if p.name == MARKER or _is_lock(p.name):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def push(local: Path, url: str) -> None:
    """Upload the local copy's current generation to `url`, then its manifest, then delete the
    remote generations it replaced."""
    fs, root = _remote(url)
    manifest = read_manifest(local)
    current = manifest["current"]
    if not fs.exists(f"{root}/{MARKER}"):
        fs.pipe_file(f"{root}/{MARKER}", (local / MARKER).read_bytes())
    for p in sorted((local / current).iterdir()):
        put_atomic(fs, p, f"{root}/{current}/{p.name}")
    put_atomic(fs, local / "manifest.json", f"{root}/manifest.json")
    fs.invalidate_cache()
    for key in fs.find(root):  # replaced generations, and a crashed push's temporary keys
        top = key[len(root) + 1:].split("/", 1)[0]
        if (_GENERATION.match(top) and top != current) or is_temporary(key.rsplit("/", 1)[-1]):
            fs.rm_file(key)
