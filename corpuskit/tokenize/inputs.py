"""Documents for the tokenizer and shard steps, in a stable order, with a content fingerprint.

The input is anything the readers accept (a run's output folder, a file, a folder).
Sources are read in sorted order and records in file order, so the document order,
and with it every byte written downstream, does not depend on the number of workers.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Iterator

from corpuskit.document import Document
from corpuskit.readers import ReaderConfig, Source, list_sources, read_source


class InputDocuments:
    """Re-iterable documents of `path`; `dropped` counts records the readers rejected, by reason."""

    def __init__(self, path: str | Path, reader: ReaderConfig | None = None):
        self.path = str(path)
        self.reader = reader or ReaderConfig()
        self.sources: list[Source] = list_sources(self.path, self.reader.glob)
        self.dropped: Counter[str] = Counter()

    def __iter__(self) -> Iterator[Document]:
        # Counts restart with every pass so that a second pass does not double them.
        self.dropped = Counter()

        def reject(doc: Document, reason: str, stage: str, **detail) -> None:
            self.dropped[reason] += 1

        for src in self.sources:
            yield from read_source(src, self.reader, reject)

    def fingerprint(self) -> str:
        """sha256 over the sources' names and bytes: equal fingerprints mean equal documents."""
        h = hashlib.sha256()
        for src in self.sources:
            h.update(src.rel.encode("utf-8") + b"\0")
            p = Path(src.path)
            files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else []
            if not files:  # a hub dataset: its name stands for its content
                h.update(src.path.encode("utf-8"))
            for f in files:
                h.update(f.relative_to(p).as_posix().encode("utf-8") + b"\0" if f != p else b"")
                with open(f, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            h.update(b"\0")
        return h.hexdigest()
