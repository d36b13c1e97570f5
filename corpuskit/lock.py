"""A folder's lock: one writer at a time in a run folder, a shard directory or an index.

    FOLDER/.corpuskit-lock    {"pid": ..., "host": ...} of the writer holding it

`folder_lock(folder, what)` takes it for a `with` block, or refuses with a one-line
RunError naming the holder. A lock left by a writer that died on this host (its pid gone,
or a zombie its parent has not reaped) is taken over; another host's lock never is.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Iterator

from corpuskit.errors import CorpuskitError

LOCK = ".corpuskit-lock"


class RunError(CorpuskitError, RuntimeError):
    """A folder corpuskit writes cannot be used as asked (not ours, in use by another writer,
    or holding a different run)."""


@contextlib.contextmanager
def folder_lock(folder: str | Path, what: str) -> Iterator[None]:
    """Hold `folder`'s lock while writing it: a second writer (a run, a shard command, an
    index update) is refused with a RunError naming the owner, not raced.

    The folder is created if missing. The lock file is linked into place whole (never seen
    half-written), holds the owner's pid and host, and is taken over when its owner on this
    host is no longer alive (gone, or a zombie). Not re-entrant.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunError(f"{folder} is a file, not a folder; choose a folder for the {what}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    tmp = folder / f".{LOCK}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(me))
    try:
        for _ in range(3):
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                if not _stale_lock(path, me["host"]):
                    owner = _read_lock(path)
                    raise RunError(f"{folder} is in use by another corpuskit {what} (pid {owner.get('pid')} on "
                                   f"{owner.get('host')}); wait for it, or delete {path} if that process is gone"
                                   ) from None
                path.unlink(missing_ok=True)
        else:
            raise RunError(f"could not take the lock {path}")
    finally:
        tmp.unlink(missing_ok=True)
    try:
        yield
    finally:
        if _read_lock(path) == me:
            path.unlink(missing_ok=True)


def is_lock_file(name: str) -> bool:
    """The lock or a writer's half-made lock: a folder holding only these is still empty."""
    return name == LOCK or name.startswith(f".{LOCK}.tmp-")


def _read_lock(path: Path) -> dict:
    try:
        owner = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _stale_lock(path: Path, host: str) -> bool:
    """A lock whose owner ran on this host and is gone. Another host's lock is never stale to us."""
    owner = _read_lock(path)
    if not owner:
        return not path.exists()  # released while we looked: try again
    if owner.get("host") != host or not isinstance(owner.get("pid"), int):
        return False
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(owner["pid"])


def _is_zombie(pid: int) -> bool:
    """A killed process that its parent has not reaped yet (or one dying): it holds nothing, and never will."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (macOS): trust os.kill
    # "pid (comm) state ...": comm may hold spaces and parentheses, so read after the last ')'
    return stat[stat.rindex(")") + 1:].split()[0] in ("Z", "X")  # zombie, or dead
