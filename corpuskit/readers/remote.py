"""Inputs on remote storage (`s3://`, `gs://`, `hf://`, `memory://`, ...), listed through fsspec.

A URL names one file or a prefix whose files match the reader's glob. Every file is read
by the same readers as a local one (bytes through `io.open_raw`), so a remote input gives
the documents, ids and units of the same files on disk. Saved datasets (`save_to_disk`
folders) are read from local disk only.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from corpuskit.layout import RUN_MARKER, RunPaths
from corpuskit.readers.base import InputError, Source


def list_remote(url: str, glob: str, kind_of) -> list[Source]:
    """The sources under `url` matching `glob`, sorted by relative name; `kind_of(name)` gives a file's kind."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    scheme = url.split("://", 1)[0]
    root = root.rstrip("/")
    if not fs.exists(root):
        raise InputError(f"input not found: {url}")
    if fs.isfile(root):
        return [Source(path=url, rel=PurePosixPath(root).name, kind=kind_of(root))]
    runs = _runs(fs, root, scheme)
    sources = []
    for key in sorted(fs.glob(f"{root}/{glob}")):
        rel = PurePosixPath(key).relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or fs.isdir(key):
            continue
        run = next((r for r in runs if PurePosixPath(key).is_relative_to(r)), None)
        if run is not None and (PurePosixPath(key).parent != run or not RunPaths.is_output_name(rel.name)):
            continue  # a published run's rejects, stats and shards: not its documents
        sources.append(Source(path=f"{scheme}://{key}", rel=rel.as_posix(), kind=kind_of(key)))
    sources.sort(key=lambda s: PurePosixPath(s.rel).parts)
    if not sources:
        raise InputError(f"no input files under {url} (glob {glob!r})")
    return sources


def _runs(fs, root: str, scheme: str) -> list[PurePosixPath]:
    """The corpuskit runs published under `root` (a prefix with the run marker), deepest first;
    one without its stats.json (published last) is unfinished and refused."""
    keys = set(fs.find(root))
    runs = sorted((PurePosixPath(k).parent for k in keys if PurePosixPath(k).name == RUN_MARKER),
                  key=lambda r: -len(r.parts))
    for run in runs:
        if f"{run}/stats.json" not in keys:
            raise InputError(f"{scheme}://{str(run).lstrip('/')} is an unfinished corpuskit run (no stats.json yet); finish it by running "
                             "the command that made it again, or choose another input")
    return runs
