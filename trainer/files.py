"""How the trainer treats files, the same way for every reader and writer:

- a file it reads (manifest, tokenizer, shard, checkpoint file) must be a regular file, not a
  symbolic link, which could point anywhere (`regular_file`), and hashes are checked where the
  manifest records them;
- a folder it writes into is held by one process at a time (`folder_lock`: a lock file with the
  owner's pid and host, taken over only when that owner is gone);
- a file is written under a temporary name and renamed into place (`write_atomic`), so a kill
  never leaves a half-written file under a final name, and the temporaries a killed writer left
  are removed by the next one (`remove_temporaries`).

Like the rest of the trainer this module imports no corpuskit; its rules are corpuskit's.
"""

import contextlib
import hashlib
import json
import os
import re
import socket

from .errors import RunDirError

LOCK = ".trainer-lock"
# The temporaries a run gives in its folder, and the only names remove_temporaries deletes (a user's
# own `.notes.tmp-1` stays): save_checkpoint's `.tmp-ckpt-N-PID` (and `.old`, a replaced checkpoint
# set aside), write_atomic's `.metrics.jsonl.tmp-PID`, `.loss.png.tmp-PID` and `.train.log.tmp-PID`.
TEMPORARY = re.compile(r"\.tmp-ckpt-\d+-\d+(\.old)?|\.(metrics\.jsonl|loss\.png|train\.log)\.tmp-\d+")


def regular_file(path, error):
    """`path`, or `error` (an exception class) naming it if it is missing, not a file, or a symbolic link."""
    if os.path.islink(path):
        raise error(f"{path}: is a symbolic link; a regular file is expected here (copy the file instead)")
    if not os.path.isfile(path):
        raise error(f"{path}: missing or not a regular file")
    return path


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temporary_name(path):
    """The temporary sibling `path` is written as before its rename: `.NAME.tmp-PID`."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def write_atomic(path, mode="w"):
    """Open a temporary sibling of `path` for writing; it replaces `path` only when the block completes."""
    tmp = temporary_name(path)
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def rewrite_lines(path, keep):
    """Rewrite text file `path` (atomically) with the lines `keep(lines)` returns; a missing file
    stays missing. How a resumed run drops what a killed continuation wrote after its checkpoint."""
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    with write_atomic(path) as f:
        f.writelines(line + "\n" for line in keep(lines))


def remove_temporaries(folder):
    """Delete the temporaries a killed writer left in `folder` (TEMPORARY names only). A checkpoint
    set aside as `.old` whose replacement never arrived is put back under its name instead."""
    import shutil

    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not TEMPORARY.fullmatch(name):
            continue
        path = os.path.join(folder, name)
        final = re.fullmatch(r"\.tmp-(ckpt-\d+)-\d+\.old", name)
        if final and not os.path.exists(os.path.join(folder, final[1])):
            os.rename(path, os.path.join(folder, final[1]))  # killed between save_checkpoint's two renames
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _alive(pid):
    """Whether process `pid` on this host is running: a zombie (exited, not yet reaped) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rpartition(")")[2].split()[0]  # the field after "(comm)", which may hold spaces
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal check above is all there is
    return state not in ("Z", "X")


def _read_lock(path):
    try:
        with open(path, encoding="utf-8") as f:
            owner = json.load(f)
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


@contextlib.contextmanager
def folder_lock(folder, what="training run"):
    """Hold `folder`'s lock file while the block runs; RunDirError if another live process holds it.

    The lock is linked into place whole (never seen half-written) and holds {pid, host}. A lock
    whose owner ran on this host and is dead or a zombie is stale and taken over; another host's
    lock never is, since its pid means nothing here. A folder made here and left empty is removed.
    """
    created = not os.path.isdir(folder)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, LOCK)
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    tmp = temporary_name(path)
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(me, f)
    try:
        for _ in range(3):
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                owner = _read_lock(path)
                if owner and (owner.get("host") != me["host"] or not isinstance(owner.get("pid"), int)
                              or _alive(owner["pid"])):
                    raise RunDirError(f"{folder} is in use by another {what} (pid {owner.get('pid')} on "
                                      f"{owner.get('host')}); wait for it, or delete {path} if it is gone") from None
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # stale (or released while we looked): try again
        else:
            raise RunDirError(f"could not take the lock {path}")
    finally:
        os.unlink(tmp)
    try:
        yield
    finally:
        if _read_lock(path) == me:
            os.unlink(path)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if still empty: a run refused before it wrote leaves no folder behind
