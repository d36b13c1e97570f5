"""Folders corpuskit owns: claiming one (create it, or take it empty, and mark it), and the
temporaries a killed writer leaves (`.NAME.tmp-PID`). corpuskit/layout.py re-exports these;
the run folder's own names are spelled there."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

from corpuskit.lock import LOCK, RunError, is_lock_file

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-\d+\Z")  # io.tmp_path: `.NAME.tmp-PID` (files and folders)


def claim_folder(folder: Path, marker: str, what: str) -> None:
    """Make `folder` ours: create it, or take it if it is empty, and mark it; refuse a
    non-empty folder without the marker (RunError), since its files belong to someone else."""
    folder = Path(folder)
    if (folder / marker).is_file():
        return
    if folder.exists():
        if not folder.is_dir():
            raise RunError(f"{folder} is a file, not a folder; choose a folder for the {what}")
        # a writer's lock alone: still empty; the marker looked for again: another corpuskit process may have made it
        if any(not is_lock_file(p.name) for p in folder.iterdir()) and not (folder / marker).is_file():
            raise RunError(f"{folder} is not empty and was not created by corpuskit; refusing to write "
                           f"the {what} there (choose a new or empty folder)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / marker).write_text(json.dumps({"corpuskit": what}) + "\n")


def is_temporary(name: str) -> bool:
    """Whether `name` is one of corpuskit's temporary names (a crashed writer's leftover)."""
    return _TEMPORARY.match(name) is not None


def owned_temporary(rel: str, owned: Callable[[str], bool]) -> bool:
    """Whether `rel` is a temporary a corpuskit writer makes on its way to one of its own names:
    `.NAME.tmp-PID` where `owned(NAME)` (or NAME is the lock). A user's `.my.tmp-123` is not."""
    head, _, name = rel.rpartition("/")
    m = _TEMPORARY.match(name)
    if m is None:
        return False
    if m["name"] == LOCK:
        return head in ("", "shards")  # where runs and shard writers take their folder_lock
    return owned(f"{head}/{m['name']}" if head else m["name"])


def remove_temporaries(folder: Path, owned: Callable[[str], bool] = lambda rel: True) -> None:
    """Delete the temporaries (files and folders) that writers killed mid-write left under `folder`;
    `owned(rel)`: whether the final name, relative to `folder`, is corpuskit's."""
    folder = Path(folder)
    for p in sorted(folder.rglob(".*"), key=lambda p: len(p.parts), reverse=True):
        if owned_temporary(p.relative_to(folder).as_posix(), owned) and p.exists():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
