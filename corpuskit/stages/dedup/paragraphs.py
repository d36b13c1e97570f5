"""Paragraph-level (or line-level) de-duplication, as Dolma's paragraph deduper does:
remove the paragraphs that occur in many documents (navigation menus, footers, licence
blocks, "Share this page") and keep the rest of each document.

Phase 1 (`index`, per unit): for every document, the 64-bit hashes of its distinct
    normalized paragraphs (lowercase, whitespace collapsed), written to the workdir.
Phase 2 (`reduce`, once): count in how many documents each hash occurs; the hashes seen in
    at least `min_documents` documents are "repeated". Returns the report.
Phase 3 (`apply`, per unit): remove the repeated paragraphs from every document, counting
    `paragraphs_removed` (and `modified` documents); a document with nothing else left is
    dropped as `only_repeated_paragraphs`.

The decision depends only on the whole corpus, never on the order units run in, so the
output is the same for any number of workers. Paragraphs shorter than `min_chars` never
count as repeated: a lone "CHAPTER I" or "* * *" is structure, not boilerplate.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Iterable, Iterator, Literal

import numpy as np

from corpuskit.document import Document
from corpuskit.io import atomic_write_bytes
from corpuskit.schema import Range
from corpuskit.stage import GlobalStage, StageContext

UNITS = ("line", "paragraph")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def _segments(text: str, unit: str) -> list[str]:
    return text.split("\n") if unit == "line" else _BLANK_LINES.split(text)


def _key(segment: str) -> int:
    norm = " ".join(segment.lower().split())
    return int.from_bytes(hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class ParagraphDedup(GlobalStage):
    """Remove paragraphs (or lines) that occur in at least `min_documents` documents."""

    name = "paragraph_dedup"

    def __init__(self, unit: Literal["line", "paragraph"] = "line",
                 min_documents: Annotated[int, Range(2)] = 3,  # documents a repeated segment is in
                 min_chars: Annotated[int, Range(0)] = 10):  # shorter segments never count as repeated
        super().__init__()
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")
        if min_documents < 2:
            raise ValueError(f"min_documents must be at least 2; got {min_documents}")
        self.unit, self.min_documents, self.min_chars = unit, min_documents, min_chars

    def _keys(self, text: str) -> list[int | None]:
        """The key of each segment, None for one too short to count (blank lines included)."""
        return [_key(s) if len(s.strip()) >= self.min_chars else None for s in _segments(text, self.unit)]

    # -- phase 1 ---------------------------------------------------------------------------
    def index(self, docs: Iterable[Document], ctx: StageContext) -> None:
        keys: list[int] = []
        for doc in docs:
            keys.extend({k for k in self._keys(doc.text) if k is not None})  # once per document
        atomic_write_bytes(ctx.workdir / f"keys-{ctx.unit:05d}.u64", np.array(keys, dtype="<u8").tobytes())

    # -- phase 2 ---------------------------------------------------------------------------
    def reduce(self, ctx: StageContext) -> dict:
        parts = [np.frombuffer((ctx.workdir / f"keys-{u:05d}.u64").read_bytes(), dtype="<u8")
                 for u in range(ctx.n_units)]
        keys, counts = np.unique(np.concatenate(parts) if parts else np.zeros(0, "<u8"), return_counts=True)
        repeated = keys[counts >= self.min_documents]
        atomic_write_bytes(ctx.workdir / "repeated.u64", repeated.astype("<u8").tobytes())
        spread = counts[counts >= self.min_documents]
        return {"stage": self.name, "unit": self.unit, "min_documents": self.min_documents,
                "min_chars": self.min_chars, "distinct": int(len(keys)), "repeated": int(len(repeated)),
                "documents_per_repeated": {"max": int(spread.max()) if len(spread) else 0,
                                           "median": float(np.median(spread)) if len(spread) else 0.0}}

    # -- phase 3 ---------------------------------------------------------------------------
    def apply(self, docs: Iterable[Document], ctx: StageContext) -> Iterator[Document]:
        repeated = set(np.frombuffer((ctx.workdir / "repeated.u64").read_bytes(), dtype="<u8").tolist())
        joiner = "\n" if self.unit == "line" else "\n\n"
        for doc in docs:
            segments = _segments(doc.text, self.unit)
            keep = [s for s, k in zip(segments, self._keys(doc.text)) if k is None or k not in repeated]
            removed = len(segments) - len(keep)
            if removed:
                self.stats.inc("paragraphs_removed", removed)
                text = joiner.join(keep).strip("\n")
                if not text.strip():
                    self.drop(doc, "only_repeated_paragraphs", detail=f"{removed} repeated {self.unit}s")
                    continue
                self.stats.inc("modified")
                doc.text = text
            yield doc
