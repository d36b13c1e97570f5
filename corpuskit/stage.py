"""Stage base classes: every pipeline step turns an iterator of documents into another.

Three kinds, after datatrove:

- `Filter` overrides `filter(doc)` and returns True (keep), False, or (False, reason).
- `Mapper` overrides `map(text)` and returns the new text.
- `GlobalStage` (de-duplication) must see every unit of work before deciding anything;
  the runner drives it in three phases: `index` each unit, `reduce` once, then `run`
  each unit again to apply the decisions.

A stage never opens files or chooses paths. Rejected documents go to `self.reject`,
a callback the runner attaches, which writes them with their reason. Every stage
counts documents and bytes in and out and drops per reason in `self.stats`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

from corpuskit.document import Document
from corpuskit.stats import StageStats

RejectFn = Callable[..., None]


def utf8_len(text: str) -> int:
    """UTF-8 byte length; `isascii` is O(1) in CPython, so ASCII text skips the encode."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _discard(doc: Document, reason: str, stage: str, **detail) -> None:
    """Default sink when a stage is used outside a runner: tests and notebooks."""


class Stage:
    """A named step: `run(docs) -> Iterator[Document]`."""

    name: str = "stage"

    def __init__(self) -> None:
        self.stats = StageStats()
        self.reject: RejectFn = _discard

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:  # pragma: no cover - abstract
        raise NotImplementedError

    def drop(self, doc: Document, reason: str, **detail) -> None:
        """Count a dropped document under `reason` and hand it to the rejected sink."""
        self.stats.drop(reason)
        self.reject(doc, reason, self.name, **detail)

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        """Run the stage with counting; the runner and tests call stages this way."""
        for doc in self.run(self._count_in(docs)):
            self.stats.docs_out += 1
            self.stats.bytes_out += utf8_len(doc.text)
            yield doc

    def _count_in(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self.stats.docs_in += 1
            self.stats.bytes_in += utf8_len(doc.text)
            yield doc


class Filter(Stage):
    """Keep or drop each document; subclasses implement `filter`."""

    def filter(self, doc: Document) -> bool | tuple[bool, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            verdict = self.filter(doc)
            if verdict is True:
                yield doc
                continue
            reason = verdict[1] if isinstance(verdict, tuple) else self.name
            self.drop(doc, reason)


class Mapper(Stage):
    """Rewrite each document's text; a document whose text becomes empty is dropped as `empty`."""

    def map(self, text: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            new = self.map(doc.text)
            if not new.strip():
                self.drop(doc, "empty")
                continue
            if new != doc.text:
                self.stats.inc("modified")
                doc.text = new
            yield doc


class GlobalStage(Stage):
    """A stage that decides over the whole corpus (de-duplication).

    The runner sets `workdir` (a private folder) and `unit` before each phase:
    `index(docs)` once per unit, in parallel; `reduce(n_units)` once; then `run(docs)`
    once per unit to apply the decisions. Each phase must write its files atomically,
    since a relaunch redoes any unit whose completion marker is missing.
    """

    workdir: Path
    unit: int = 0

    def index(self, docs: Iterable[Document]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def reduce(self, n_units: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
