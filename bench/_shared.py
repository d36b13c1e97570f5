"""What the benchmarks share: where the development data lies, and what they print without it.

The dev sets (`shared/corpora/...`) sit next to the repository on the machine the figures were
measured on; a clone does not have them. A script that needs a missing one prints one line,
`skipped: needs ../shared/...`, and exits 0, so `make bench` goes on. CORPUSKIT_SHARED points
at another copy (or at a missing folder, to check those lines).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUSKIT_SHARED") or REPO.parent / "shared")
CORPORA = SHARED / "corpora"
_T0 = time.perf_counter()


def shown(path: str | Path) -> str:
    """`path` as a user would type it from the repository (../shared/...), or as it is when elsewhere."""
    path = Path(path).absolute()
    return os.path.relpath(path, REPO) if path.is_relative_to(REPO.parent) else str(path)


def need(*paths: str | Path, what: str = "") -> None:
    """Print `skipped: needs PATH (what)` and exit 0 unless every path exists."""
    for path in paths:
        if not Path(path).exists():
            print(f"skipped: needs {shown(path)}" + (f" ({what})" if what else ""), flush=True)
            sys.exit(0)


def need_module(name: str, install: str) -> None:
    """Print `skipped: needs the NAME package (pip install ...)` and exit 0 when it is missing."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        print(f"skipped: needs the {name} package ({install})", flush=True)
        sys.exit(0)


def progress(message: str) -> None:
    """One line with the elapsed time, flushed: what a log of a minutes-long script shows meanwhile."""
    print(f"[{time.perf_counter() - _T0:6.0f}s] {message}", flush=True)
