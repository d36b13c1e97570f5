"""Run folders on object storage (`s3://`, `gs://`, `memory://`, ...): work locally, publish atomically.

A run whose `output` is a URL runs in a local working folder, a normal run folder with its
units, markers and `_work` (so a rerun resumes there as it does on disk), and its outputs
are then published to the URL through fsspec:

1. The prefix must be empty or already ours (`.corpuskit-run`, written first): a prefix
   holding other objects is refused, as a local folder is.
2. `stats.json`, the completion marker of a run folder, is deleted first: from then on the
   prefix reads as unfinished.
3. Every output file (not `_work`, the lock or temporaries) is uploaded under a temporary
   key (`.NAME.tmp-PID`) and moved to its final key; an object store makes the moved
   object appear whole, so a reader never sees half a file. A file already there with the
   same size and MD5 (the ETag of a single-part upload) is skipped, so a rerun after a
   crash uploads only what is missing. Objects with corpuskit's own names that the run
   no longer has (shards of an earlier, larger run) are deleted; nothing else is touched.
4. `shards/manifest.json` after every shard, `stats.json` last.

Credentials come from the usual environment (for S3: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL). The working folder is
`CORPUSKIT_WORK_DIR/<scheme>-<hash of the URL>` (default `~/.cache/corpuskit/runs`); on a
Ray cluster it must be on a file system every node sees (inputs may be remote).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from corpuskit.io import file_digest
from corpuskit.layout import LOCK, RUN_MARKER, RunError, RunPaths, is_temporary, owned_temporary


def work_dir(url: str) -> Path:
    """The local working folder of the run published to `url`."""
    base = Path(os.environ.get("CORPUSKIT_WORK_DIR") or Path.home() / ".cache" / "corpuskit" / "runs")
    scheme = re.sub(r"[^a-z0-9]+", "", url.split("://", 1)[0].lower()) or "url"
    return base / f"{scheme}-{hashlib.sha256(url.rstrip('/').encode()).hexdigest()[:16]}"


def _last(local: Path) -> tuple[str, str]:
    """What is published last: the shard manifest, then stats.json (a prefix with it holds a whole run)."""
    paths = RunPaths(local)
    return paths.shards_manifest.relative_to(local).as_posix(), paths.stats.relative_to(local).as_posix()


def _files(local: Path, marker: str, last: tuple[str, ...]) -> list[str]:
    """The folder's outputs as posix names relative to it, in publishing order."""
    names = []
    for p in sorted(local.rglob("*")):
        rel = p.relative_to(local).as_posix()
        if not p.is_file() or rel.startswith("_work/") or rel in (LOCK, marker):
            continue
        if any(is_temporary(part) for part in rel.split("/")):
            continue
        names.append(rel)
    return [n for n in names if n not in last] + [n for n in last if n in names]


def _same(fs, key: str, path: Path) -> bool:
    """Whether the object `key` already holds `path`'s bytes (size and MD5 ETag; without an
    ETag to compare, as on memory://, the file is uploaded again)."""
    try:
        info = fs.info(key)
    except FileNotFoundError:
        return False
    etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
    return info.get("size") == path.stat().st_size and bool(etag) and etag == file_digest(path, "md5")


def put_atomic(fs, path: Path, key: str) -> None:
    """Upload `path` to `key` under a temporary key first, then move it: no reader sees half an object."""
    head, _, name = key.rpartition("/")
    tmp = f"{head}/.{name}.tmp-{os.getpid()}"
    fs.put_file(str(path), tmp)
    fs.mv(tmp, key)


def publish(local: Path, url: str, log=lambda msg: None, *, marker: str = RUN_MARKER,
            last: tuple[str, ...] | None = None, owned=None) -> dict:
    """Publish the finished run folder `local` to `url`; returns counts of what was done.

    For another kind of folder (a shard directory): its ownership `marker`, the names published
    `last` (the last one marks it complete) and `owned(rel)`, which names it may replace."""
    import fsspec

    last = last or _last(local)
    owned = owned or RunPaths(local).owns

    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    fs.invalidate_cache()  # listings cached by this process may predate another writer's
    existing = sorted(k[len(root) + 1:] for k in fs.find(root)) if fs.exists(root) else []
    fs.invalidate_cache()
    if existing and marker not in existing:
        raise RunError(f"{url} holds objects that corpuskit did not write (for example {existing[0]}); "
                       "refusing to publish the run there (choose a new or empty prefix)")
    if marker not in existing:
        fs.pipe_file(f"{root}/{marker}", (local / marker).read_bytes())
    for rel in existing:  # a crashed publish's temporary keys (`.NAME.tmp-PID` of our own NAMEs only)
        if owned_temporary(rel, owned):
            fs.rm_file(f"{root}/{rel}")
    complete = last[-1]
    if complete in existing:
        fs.rm_file(f"{root}/{complete}")
    names = _files(local, marker, last)
    counts = {"uploaded": 0, "unchanged": 0, "removed": 0}
    for rel in names:
        key, path = f"{root}/{rel}", local / rel
        if rel != complete and _same(fs, key, path):
            counts["unchanged"] += 1
            continue
        put_atomic(fs, path, key)
        counts["uploaded"] += 1
    for rel in sorted(set(existing) - set(names) - {marker}):
        if owned(rel) and not is_temporary(rel.rsplit("/", 1)[-1]):
            fs.rm_file(f"{root}/{rel}")  # ours by its name, and no longer part of the run
            counts["removed"] += 1
    log(f"published {len(names)} files to {url}: {counts['uploaded']} uploaded, {counts['unchanged']} already "
        f"there, {counts['removed']} stale removed")
    return counts
