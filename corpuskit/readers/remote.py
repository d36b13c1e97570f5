"""Inputs on remote storage (`s3://`, `gs://`, `hf://`, `memory://`, ...), listed through fsspec.

A URL names one file or a prefix whose files match the reader's glob. Every file is read
by the same readers as a local one (bytes through `io.open_raw`), so a remote input gives
the documents, ids and units of the same files on disk. Saved datasets (`save_to_disk`
folders) are read from local disk only.
"""

from __future__ import annotations

from pathlib import PurePosixPath

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
    sources = []
    for key in sorted(fs.glob(f"{root}/{glob}")):
        rel = PurePosixPath(key).relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or fs.isdir(key):
            continue
        sources.append(Source(path=f"{scheme}://{key}", rel=rel.as_posix(), kind=kind_of(key)))
    sources.sort(key=lambda s: PurePosixPath(s.rel).parts)
    if not sources:
        raise InputError(f"no input files under {url} (glob {glob!r})")
    return sources
