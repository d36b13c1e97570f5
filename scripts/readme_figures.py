"""Measure the figures the README quotes, and name the machine they were measured on.

    python scripts/readme_figures.py                 # cheap: the test count (pytest --collect-only)
    python scripts/readme_figures.py --make-test     # + wall time of `make test` (minutes)
    python scripts/readme_figures.py --make-train    # + wall time and last lines of `make train` (minutes)
    python scripts/readme_figures.py --make-data     # + wall time of `make data`

Prints one line per figure, then the machine (cores, CPU model, memory, Python, date), so
that a figure copied into the README carries where it came from. Nothing here is estimated:
a figure the script did not measure is not printed. tests/test_readme.py checks that the
README's test count is the one this script prints.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def machine() -> str:
    """One line naming the machine: cores, CPU model, memory, OS, Python, date (UTC)."""
    model = platform.processor() or "unknown CPU"
    mem = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        model = found.group(1).strip() if found else model
        total = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        mem = f", {int(total.group(1)) / 2**20:.0f} GiB" if total else ""
    except OSError:  # not Linux
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cores} cores ({model}){mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


def test_count(python: str = sys.executable) -> int:
    """The number of tests `pytest --collect-only -q` collects (what `make test` runs)."""
    out = subprocess.run([python, "-m", "pytest", "--collect-only", "-q", "tests"], cwd=REPO,
                         capture_output=True, text=True, timeout=600).stdout
    found = re.search(r"^(\d+) tests? collected", out, re.M)
    if not found:
        raise SystemExit(f"pytest --collect-only printed no count:\n{out[-2000:]}")
    return int(found.group(1))


def timed_make(target: str, tail: int = 0) -> tuple[float, int, list[str]]:
    """(seconds, exit status, last `tail` lines of output) of `make TARGET` in the repository."""
    t0 = time.perf_counter()
    proc = subprocess.run(["make", target], cwd=REPO, capture_output=True, text=True)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return time.perf_counter() - t0, proc.returncode, lines[-tail:] if tail else []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for target in ("data", "test", "train"):
        ap.add_argument(f"--make-{target}", action="store_true", help=f"time `make {target}` (minutes)")
    args = ap.parse_args(argv)
    print(f"tests collected: {test_count():,}", flush=True)
    if args.make_data:
        seconds, rc, _ = timed_make("data")
        print(f"make data: {seconds:.0f} s (exit {rc})", flush=True)
    if args.make_test:
        seconds, rc, _ = timed_make("test")
        print(f"make test: {seconds:.0f} s (exit {rc})", flush=True)
    if args.make_train:
        seconds, rc, lines = timed_make("train", tail=200)
        print(f"make train: {seconds:.0f} s (exit {rc}); its result lines:", flush=True)
        # the trainer's own result lines, not the report command make runs after it
        for line in [x for x in lines if x.startswith(("checkpoint:", "validation:"))][-2:]:
            print(f"    {line}")
    print(f"machine: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
