"""`-` on the command line: JSON Lines on standard input, kept documents on standard output.

A run reads files (one unit of work per file) and writes a folder, so a stream becomes a
file for the length of the command: standard input is copied to a temporary
`stdin.jsonl`, and an output of `-` is a temporary run folder whose kept documents
(JSON Lines, in unit order) are copied to standard output when the run ends. Neither
temporary outlives the command, so a run on a stream is not resumable.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from corpuskit.layout import OUTPUT_GLOB

STDIN_NAME = "stdin.jsonl"  # documents without an id get `stdin.jsonl#N`


@contextlib.contextmanager
def stdin_as_file(path: str | None, stream: BinaryIO | None = None) -> Iterator[str | None]:
    """`path` itself, or for `-` a temporary JSON Lines file holding standard input."""
    if path != "-":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="corpuskit-stdin-") as tmp:
        spooled = Path(tmp) / STDIN_NAME
        with open(spooled, "wb") as fh:
            shutil.copyfileobj(stream or sys.stdin.buffer, fh)
        yield str(spooled)


@contextlib.contextmanager
def output_folder(output: str | None) -> Iterator[str | None]:
    """`output` itself, or for `-` a temporary run folder; call `copy_documents` before leaving."""
    if output != "-":
        yield output
        return
    with tempfile.TemporaryDirectory(prefix="corpuskit-stdout-") as tmp:
        yield str(Path(tmp) / "run")


def copy_documents(run_dir: str | Path, stream: BinaryIO | None = None) -> None:
    """Write the kept documents of a JSON Lines run to `stream` (standard output), in unit order."""
    out = stream or sys.stdout.buffer
    # part-00003.jsonl, then part-00003-00001.jsonl (a later unit of the same large file)
    for part in sorted(Path(run_dir).glob(f"{OUTPUT_GLOB}.jsonl"), key=lambda p: p.stem.split("-")):
        with open(part, "rb") as fh:
            shutil.copyfileobj(fh, out)
    out.flush()
