"""Readers: turn input files and datasets into documents, one unit of work per source."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Iterator

from corpuskit.document import Document
from corpuskit.io import base_suffix, is_url
from corpuskit.layout import OUTPUT_GLOB, RunPaths
from corpuskit.readers.base import READ_STAGE, InputError, ReaderConfig, RejectFn, Source, check_glob
from corpuskit.readers.csv import read_csv
from corpuskit.readers.hf import is_saved_dataset, read_hf
from corpuskit.readers.html import read_html
from corpuskit.readers.jsonl import read_jsonl
from corpuskit.readers.parquet import read_parquet
from corpuskit.readers.remote import list_remote
from corpuskit.readers.text import paragraph_groups, read_text, strip_gutenberg
from corpuskit.readers.warc import read_warc
from corpuskit.readers.units import plan_units, unit_size

__all__ = [
    "ReaderConfig", "Source", "InputError", "list_sources", "read_source", "strip_gutenberg", "paragraph_groups",
    "READ_STAGE", "plan_units", "unit_size",
]

KINDS_BY_SUFFIX = {
    ".txt": "text", ".text": "text", ".md": "text",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".csv": "csv",
    ".html": "html", ".htm": "html",
    ".warc": "warc", ".wet": "wet",  # also .warc.gz and Common Crawl's .warc.wet.gz
}
_READERS = {
    "text": read_text, "jsonl": read_jsonl, "parquet": read_parquet, "csv": read_csv,
    "hf_disk": read_hf, "hf_hub": read_hf,
    "html": read_html, "warc": read_warc, "wet": read_warc,
}
# Sources listed so that the run records them as rejected instead of skipping them
# silently: their kind is the reject reason (`unsupported` stands for `unsupported_format`).
REFUSED = ("unsupported", "outside_input", "symlink_loop", "unreadable")


def list_sources(path: str | Path, glob: str = "**/*") -> list[Source]:
    """Every source under `path` that matches `glob`, sorted by relative name so units are stable.

    Only files inside `path` are read. Entries that cannot or must not be read are listed
    too, with a kind from REFUSED, so that the run records them: files of an unknown
    format, symbolic links that lead out of `path` or into a loop, and whatever the
    system will not read (a FIFO or device, a dangling link, a folder that cannot be
    listed). Hidden files and folders (like the runner's own `.tmp` files) are ignored.
    A corpuskit run folder (known by its marker), the input or one inside it, gives only
    its kept documents (`part-*`); an unfinished one is refused (InputError).
    """
    if isinstance(path, str) and path.startswith("hf:"):
        return [Source(path=path[3:], rel=path, kind="hf_hub")]
    check_glob(glob)
    if is_url(path):
        return list_remote(str(path), glob, _kind)
    root = Path(path)
    if not root.exists():
        raise InputError(f"input not found: {root}")
    if root.is_file():  # named by the user: read wherever it lies
        return [Source(path=str(root), rel=root.name, kind=_kind(root))]
    if is_saved_dataset(root):
        return [Source(path=str(root), rel=root.name, kind="hf_disk")]
    runs: dict[Path, str | None] = {}  # folder -> RunPaths.run_state, for the run folders inside the input
    if _run_state(root, runs) == "finished":
        glob = OUTPUT_GLOB  # a corpuskit run folder: read its documents, not its stats or rejects
    real_root = root.resolve()
    real_dirs: dict[Path, Path] = {}
    sources: list[Source] = []
    saved: list[Path] = []
    for p in sorted(root.glob(glob)):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if any(s == p or s in p.parents for s in saved):
            continue
        run = _enclosing_run(p, root, runs)
        if run is not None and (p.parent != run or not RunPaths.is_output_name(p.name)):
            continue  # a run's rejects, _work, shards or a user's `part-notes.txt`: not its documents
        if p.parent not in real_dirs:
            real_dirs[p.parent] = Path(os.path.realpath(p.parent))
        kind = _refusal(p, real_dirs[p.parent], real_root)
        if kind is None and p.is_dir():
            if is_saved_dataset(p):
                saved.append(p)
                sources.append(Source(path=str(p), rel=rel.as_posix(), kind="hf_disk"))
            continue
        sources.append(Source(path=str(p), rel=rel.as_posix(), kind=kind or _kind(p)))
    # pathlib's glob passes over folders it cannot list without a word: find them.
    sources += [Source(path=str(root / rel), rel=rel, kind="unreadable") for rel in _unlistable(root)]
    sources.sort(key=lambda s: PurePosixPath(s.rel).parts)
    if not sources:
        hint = "" if glob == "**/*" else "; the reader's glob setting: `corpuskit run --glob PATTERN` overrides it"
        raise InputError(f"no input files under {root} (glob {glob!r}{hint})")
    return sources


def _run_state(folder: Path, runs: dict[Path, str | None]) -> str | None:
    """`RunPaths.run_state(folder)`, once per folder; an unfinished run is refused (InputError):
    its parts are not all there, and its rejects and _work are no input."""
    if folder not in runs:
        runs[folder] = RunPaths.run_state(folder)
        if runs[folder] == "unfinished":
            raise InputError(f"{folder} is an unfinished corpuskit run (no stats.json yet); finish it by running "
                             "the command that made it again, or choose another input")
    return runs[folder]


def _enclosing_run(p: Path, root: Path, runs: dict[Path, str | None]) -> Path | None:
    """The nearest finished run folder that holds `p`, up to the input folder `root`, or None."""
    folder = p.parent
    while _run_state(folder, runs) is None:
        if folder == root or folder == folder.parent:
            return None
        folder = folder.parent
    return folder


def _refusal(p: Path, real_parent: Path, real_root: Path) -> str | None:
    """Why `p` must not be read (a kind from REFUSED), or None."""
    if p.is_symlink():
        try:
            target = p.resolve(strict=True)
        except RuntimeError:  # Python < 3.13 reports a loop so
            return "symlink_loop"
        except OSError as err:
            return "symlink_loop" if err.errno == errno.ELOOP else "unreadable"  # or a dangling link
    else:
        target = real_parent / p.name  # one realpath per folder, not one per file
    if target != real_root and real_root not in target.parents:
        return "outside_input"
    mode = p.stat().st_mode
    # A folder that cannot be listed is found by _unlistable; opening a FIFO would wait for a writer forever.
    return None if stat.S_ISDIR(mode) or stat.S_ISREG(mode) else "unreadable"


def _unlistable(root: Path) -> list[str]:
    """Relative names of the folders under `root` that cannot be listed (hidden ones aside)."""
    failed: list[OSError] = []
    for _, dirs, _ in os.walk(root, onerror=failed.append):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    for err in failed:
        if Path(err.filename) == root:
            raise InputError(f"cannot list the input folder {root}: {err.strerror}")
    return sorted(Path(err.filename).relative_to(root).as_posix() for err in failed)


def _kind(path: Path) -> str:
    return KINDS_BY_SUFFIX.get(base_suffix(path), "unsupported")


def _refused_detail(src: Source) -> tuple[str, str]:
    """(reason, detail) for a source of a REFUSED kind, looked at again where the unit runs."""
    p = Path(src.path)
    if src.kind == "unsupported":
        return "unsupported_format", (f"{src.rel}: unknown file type "
                                      "(expected .txt, .jsonl, .parquet, .csv, .html, .warc, .wet, optionally .gz/.zst)")
    if src.kind == "outside_input":
        return "outside_input", f"{src.rel}: symbolic link to {os.path.realpath(p)}, outside the input folder: not read"
    if src.kind == "symlink_loop":
        return "symlink_loop", f"{src.rel}: symbolic link loop: not followed"
    if p.is_symlink() and not p.exists():
        why = f"dangling symbolic link to {os.readlink(p)}"
    elif p.is_dir():
        why = "folder cannot be listed (permission denied)"
    else:
        why = "not a regular file (a FIFO, socket or device): not opened"
    return "unreadable", f"{src.rel}: {why}"


def read_source(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    """Documents of one source; unreadable records go to `reject` with a reason.

    A source that gives neither a document nor a reject (an empty file, only blank
    lines, a header without rows) is recorded as `empty_file`, so that every source
    of a run shows up in its outputs or its rejects; an empty part file of a finished
    run read as input is not (that run recorded why it kept nothing).
    """
    if src.kind in REFUSED:
        reason, detail = _refused_detail(src)
        reject(Document(text="", id=f"{src.rel}#0", source=src.rel), reason, READ_STAGE, detail=detail)
        return iter(())
    if src.chunk is not None:  # a part of a large file (readers.units): not the whole file, never empty
        return _READERS[src.kind](src, cfg, reject)
    return _accounted(src, cfg, reject)


def _run_output(src: Source) -> bool:
    """Whether `src` is a finished corpuskit run's file of kept documents: empty when the run kept
    nothing from one of its units, which is that run's outcome (its rejects say why), not a
    defect of this input."""
    p = Path(src.path)
    return not is_url(src.path) and RunPaths.is_output_name(p.name) and RunPaths.run_state(p.parent) == "finished"


def _accounted(src: Source, cfg: ReaderConfig, reject: RejectFn) -> Iterator[Document]:
    seen = False

    def counted(*args, **kwargs) -> None:
        nonlocal seen
        seen = True
        reject(*args, **kwargs)

    for doc in _READERS[src.kind](src, cfg, counted):
        seen = True
        yield doc
    if not seen and not _run_output(src):
        reject(Document(text="", id=f"{src.rel}#0", source=src.rel), "empty_file", READ_STAGE,
               detail=f"{src.rel}: no documents (an empty file, blank lines only, or a header without rows)")
