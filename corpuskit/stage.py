"""Stage base classes: every pipeline step turns an iterator of documents into another.

Three kinds, after datatrove:

- `Filter` overrides `filter(doc)` and returns True (keep), False, or (False, reason).
- `Mapper` overrides `map(text)` and returns the new text.
- `GlobalStage` (de-duplication) must see every unit of work before deciding anything;
  the runner drives it in three phases: `index` each unit, `reduce` once, then `apply`
  to each unit to carry out the decisions. Each phase is handed a `StageContext`.

A streaming stage that needs files of its own (decontamination: an index built once, and
what each unit found, for a report) sets `uses_workdir`; the runner then calls `prepare`
once before the first pass, `setup` and `finish` in each unit around its documents, and
`report` once after its pass, each with a `StageContext`. It stays one pass: no global stage's
intermediate copy of the documents.

A stage never chooses paths: a global stage writes only inside the `workdir` it is
handed, and returns what a user should see (its report) for the runner to place.
Rejected documents go to `self.reject`, a callback the runner attaches, which writes
them with their reason. Every stage
counts documents and bytes in and out and drops per reason in `self.stats`.

One bad document never stops a run: an exception that `filter` or `map` raises on a
document drops that document as `stage_error`, its detail naming where it came from and
the exception, and the stage goes on. What would fail for every document still stops the
run: a `CorpuskitError` (a model that cannot be loaded), an ImportError (a missing extra),
a NotImplementedError; and a stage that raised on every document of a pass stops it after
the pass (`check_stage_errors`).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.stats import StageStats

RejectFn = Callable[..., None]


def utf8_len(text: str) -> int:
    """UTF-8 byte length; `isascii` is O(1) in CPython, so ASCII text skips the encode."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _discard(doc: Document, reason: str, stage: str, **detail) -> None:
    """Default sink when a stage is used outside a runner: tests and notebooks."""


class StageBroken(CorpuskitError, RuntimeError):
    """A stage raised an error on every document it was given: the stage is broken, not fed a bad record."""


def check_stage_errors(stages: dict[str, StageStats]) -> None:
    """StageBroken for a stage (merged over a pass's units) that dropped every document as `stage_error`.

    One bad record must not stop a run, but neither may a broken stage end one with exit 0
    and every document in `rejected/`.
    """
    for name, s in stages.items():
        failed = s.counters.get("dropped_stage_error", 0)
        if failed and failed == s.docs_in:
            box = s.examples.get("stage_error")
            first = min(box.items, key=lambda e: e["key"]).get("detail") if box and box.items else None
            example = f" ({first})" if first else ""
            raise StageBroken(f"stage {name!r} raised an error on each of its {failed} documents{example}; "
                              "they are in rejected/ with the reason stage_error")


class Stage:
    """A named step: `run(docs) -> Iterator[Document]`."""

    name: str = "stage"
    # True: the runner hands the stage a working folder through the hooks below
    uses_workdir: bool = False

    def __init__(self) -> None:
        self.stats = StageStats()
        self.reject: RejectFn = _discard

    def content_key(self) -> str | None:
        """A digest of what the stage reads besides the documents and its parameters (eval files,
        a model's weights), or None. The runner records it with the stage's configuration, so a
        rerun after such a file changed in place redoes this stage and what follows."""
        return None

    def prepare(self, ctx: StageContext) -> None:
        """Once per run, before the first pass and before the workers start (`uses_workdir`): build
        what every unit shares; forked workers inherit what it loaded."""

    def setup(self, ctx: StageContext) -> None:
        """In each unit, before its documents flow (`uses_workdir`): load what `prepare` built."""

    def finish(self, ctx: StageContext) -> list[Path]:
        """In each unit, after its last document (`uses_workdir`): write the unit's files in
        `ctx.workdir`, each atomically, and return them; the unit's completion marker records
        them, so a rerun redoes a unit whose files changed."""
        return []

    def report(self, ctx: StageContext) -> dict | None:
        """Once, after every unit of the stage's pass (`uses_workdir`): what the runner writes to
        OUTPUT/reports/<name>.json, or None."""
        return None

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:  # pragma: no cover - abstract
        raise NotImplementedError

    def drop(self, doc: Document, reason: str, **detail) -> None:
        """Count a dropped document under `reason` and hand it to the rejected sink."""
        self.stats.drop(reason)
        self.reject(doc, reason, self.name, **detail)

    def failed(self, doc: Document, err: Exception) -> None:
        """Drop a document this stage raised on, as `stage_error`: the run goes on without it."""
        if isinstance(err, (CorpuskitError, ImportError, NotImplementedError)):  # not this document's fault
            raise err
        where = f"{doc.source}: " if doc.source else ""
        message = str(err) if len(str(err)) <= 500 else str(err)[:500] + "..."  # it may quote the whole text
        self.drop(doc, "stage_error", detail=f"{where}{type(err).__name__}: {message}")

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        """Run the stage with counting; the runner and tests call stages this way."""
        return self._count_out(self.run(self._count_in(docs)))

    def _count_out(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
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
            try:
                verdict = self.filter(doc)
            except Exception as err:
                self.failed(doc, err)
                continue
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
            try:
                new = self.map(doc.text)
            except Exception as err:
                self.failed(doc, err)
                continue
            if not new.strip():
                self.drop(doc, "empty")
                continue
            if new != doc.text:
                self.stats.inc("modified")
                doc.text = new
            yield doc


@dataclass(frozen=True)
class StageContext:
    """What the runner hands a global stage for one phase, or a streaming stage's hooks."""

    workdir: Path  # the stage's private folder; it writes nothing anywhere else
    unit: int  # the unit of work this phase runs on (0 for reduce)
    n_units: int  # how many units the run has
    # reduce only: runs `fn` over picklable tasks on the run's executor (local workers or Ray
    # tasks), yielding results in any order; in-process by default
    map: Callable[[Callable[[Any], Any], list], Iterator[Any]] = field(default=builtins.map)


class GlobalStage(Stage):
    """A stage that decides over the whole corpus (de-duplication).

    `index(docs, ctx)` once per unit, in parallel; `reduce(ctx)` once, returning a report
    (or None); then `apply(docs, ctx)` once per unit to carry out the decisions. Each
    phase must write its files atomically, since a relaunch redoes any unit whose
    completion marker is missing.
    """

    def index(self, docs: Iterable[Document], ctx: StageContext) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def reduce(self, ctx: StageContext) -> dict | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, docs: Iterable[Document], ctx: StageContext) -> Iterator[Document]:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, docs: Iterable[Document], ctx: StageContext) -> Iterator[Document]:  # type: ignore[override]
        """Phase 3 with counting."""
        return self._count_out(self.apply(self._count_in(docs), ctx))

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        raise TypeError(f"{self.name} is a global stage: the runner drives it with index, reduce and apply")


def files_digest(*paths: str | Path) -> str:
    """sha256 over the named files (a folder: every file under it, by relative name), for
    `Stage.content_key`. A missing path counts as missing, not as an error: the stage says
    what is wrong with it."""
    import hashlib

    h = hashlib.sha256()
    for path in paths:
        p = Path(path)
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else []
        h.update(f"{p}\0{len(files)}\0".encode())
        for f in files:
            h.update(f.relative_to(p).as_posix().encode() + b"\0" if f != p else b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def files_stamp(*paths: str | Path) -> tuple:
    """(name, size, modification time) of every file under `paths`: a cheap key for a cache of
    what was loaded from them, which a file replaced in place changes."""
    out = []
    for path in paths:
        p = Path(path)
        for f in [p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []:
            if f.is_file():
                st = f.stat()
                out.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(out)
