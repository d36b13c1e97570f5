"""One unit of work of one pass: read (or take the previous pass's documents), run the
streaming stages, and write the kept and rejected documents and the unit's counters.

`run_unit` is what an executor runs in a worker (locally or as a Ray task); it writes
every file under a temporary name, renames it, and writes its completion marker last,
recording the size and sha256 of each file so that a rerun trusts only what is still there.
`corpuskit.runner` plans the passes and decides which units to (re)run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from corpuskit.document import Document
from corpuskit.io import atomic_write_text, is_url, url_info
from corpuskit.layout import RunPaths
from corpuskit.pipeline import PipelineConfig, StageSpec
from corpuskit.readers import READ_STAGE, Source, read_source
from corpuskit.readers.base import REPLACED
from corpuskit.readers.parquet import iter_documents
from corpuskit.stage import GlobalStage, StageContext, utf8_len
from corpuskit.stages.registry import stage_class
from corpuskit.stats import StageStats, observe_doc, observe_drop, write_unit_stats
from corpuskit.writers import DocumentWriter

__all__ = ["Pass", "UnitTask", "compile_plan", "run_unit", "source_stamp"]


@dataclass(frozen=True)
class Pass:
    """One pass over every unit of work."""

    index: int
    apply: StageSpec | None  # the global stage indexed by the previous pass, applied first
    stream: tuple[StageSpec, ...]  # streaming stages, in order
    sink: StageSpec | None  # the global stage indexed at the end; None: write the run's outputs

    @property
    def label(self) -> str:
        names = ([self.apply.name] if self.apply else []) + [s.name for s in self.stream]
        names += [self.sink.name + " (index)"] if self.sink else []
        return " > ".join(names) or "write"


def compile_plan(stages: list[StageSpec]) -> list[Pass]:
    """Cut the stage list after each global stage; the last pass writes the outputs."""
    plan: list[Pass] = []
    current: list[StageSpec] = []
    for spec in stages:
        if issubclass(stage_class(spec.type), GlobalStage):
            plan.append(Pass(len(plan), plan[-1].sink if plan else None, tuple(current), spec))
            current = []
        else:
            current.append(spec)
    plan.append(Pass(len(plan), plan[-1].sink if plan else None, tuple(current), None))
    return plan


@dataclass(frozen=True)
class UnitTask:
    """Everything a worker needs to run one unit of one pass; picklable, engine-agnostic."""

    config: dict
    source: Source
    pass_index: int
    unit: int
    n_units: int


class _Timer:
    """Wall time spent pulling documents through an iterator (including its upstream)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, it: Iterable[Document]) -> Iterator[Document]:
        it = iter(it)
        while True:
            t0 = time.perf_counter()
            try:
                doc = next(it)
            except StopIteration:
                self.seconds += time.perf_counter() - t0
                return
            self.seconds += time.perf_counter() - t0
            yield doc


def _context(paths: RunPaths, spec: StageSpec, unit: int, n_units: int, executor=None) -> StageContext:
    workdir = paths.stage_dir(spec.name)
    workdir.mkdir(parents=True, exist_ok=True)
    if executor is None:
        return StageContext(workdir=workdir, unit=unit, n_units=n_units)
    return StageContext(workdir=workdir, unit=unit, n_units=n_units, map=executor.map)


def run_unit(task: UnitTask) -> dict:
    """Run one unit of one pass; returns its document and byte counts for progress."""
    cfg = PipelineConfig.from_dict(task.config)
    paths = RunPaths(Path(cfg.output), cfg.format)
    step = compile_plan(cfg.stages)[task.pass_index]
    k, i = step.index, task.unit
    writers: list[DocumentWriter] = []
    rejected: list[DocumentWriter] = []
    read_stats = StageStats()
    by_name: dict[str, StageStats] = {READ_STAGE: read_stats}  # whose examples a rejected document joins

    def reject(doc: Document, reason: str, stage: str, **detail) -> None:
        if not rejected:
            rejected.append(DocumentWriter(paths.rejected(k, task.source.name), rejected=True))
        if stage == READ_STAGE:  # a record the reader could not use: in, and dropped (in = out + dropped)
            read_stats.docs_in += 1
            read_stats.bytes_in += utf8_len(doc.text)
            read_stats.drop(reason)
        rejected[0].write(doc, reason=reason, stage=stage, **detail)
        if stage in by_name:
            observe_drop(by_name[stage], doc, reason, detail)

    # (name, counters, timer) of each layer of the document stream, upstream first
    layers: list[tuple[str, StageStats, _Timer]] = []
    if step.apply is None:
        docs: Iterable[Document] = read_source(task.source, cfg.reader, reject)
        read_timer = _Timer()
        docs = _count(read_timer.wrap(docs), read_stats)
        layers.append((READ_STAGE, read_stats, read_timer))
    else:
        prev = step.apply.build()
        prev.reject = reject
        timer = _Timer()
        docs = timer.wrap(_observe(prev(iter_documents(str(paths.intermediate(k - 1, i))),
                                        _context(paths, step.apply, i, task.n_units)), prev.stats))
        layers.append((prev.name, prev.stats, timer))
        by_name[prev.name] = prev.stats
    hooked = []  # (stage, context) of the streaming stages with a working folder
    for spec in step.stream:
        stage = spec.build()
        stage.reject = reject
        if stage.uses_workdir:
            hooked.append((stage, _context(paths, spec, i, task.n_units)))
            stage.setup(hooked[-1][1])
        timer = _Timer()
        docs = timer.wrap(_observe(stage(docs), stage.stats))
        layers.append((stage.name, stage.stats, timer))
        by_name[stage.name] = stage.stats

    stats: dict[str, StageStats] = {}
    try:
        if step.sink is not None:
            out = DocumentWriter(paths.intermediate(k, i))
            writers.append(out)
            sink = step.sink.build()
            t0 = time.perf_counter()
            sink.index(_tee(docs, out), _context(paths, step.sink, i, task.n_units))
            index_time = time.perf_counter() - t0 - layers[-1][2].seconds
            stats[sink.name] = StageStats(time_s=max(index_time, 0.0))
        else:
            out = DocumentWriter(paths.output(task.source.name))
            writers.append(out)
            kept = layers[-1][1]
            for doc in docs:
                observe_doc(kept, "kept", doc, words=True, metadata=True)
                out.write(doc)
        stage_files = [f for stage, ctx in hooked for f in stage.finish(ctx)]  # each written atomically
        for w in rejected + writers:
            w.commit()
    except BaseException:
        for w in rejected + writers:
            w.abort()
        raise

    upstream = 0.0
    for name, s, timer in layers:
        s.time_s = max(timer.seconds - upstream, 0.0)  # each layer's own time, not its upstream's
        upstream = timer.seconds
    stats = {**{name: s for name, s, _ in layers}, **stats}
    first, last = layers[0][1], layers[-1][1]
    write_unit_stats(paths.unit_stats(k, i), stats)
    # A rerun trusts this unit only while these files are as written (RunPaths.unit_problem).
    marker = {"docs_out": last.docs_out,
              "outputs": paths.stamp([w.path for w in rejected + writers] + stage_files + [paths.unit_stats(k, i)])}
    if k == 0:
        marker["input"] = source_stamp(task.source)
    atomic_write_text(paths.done(k, i), json.dumps(marker))
    return {"unit": i, "docs_in": first.docs_in, "bytes_in": first.bytes_in,
            "docs_out": last.docs_out, "bytes_out": last.bytes_out}


def _count(docs: Iterable[Document], stats: StageStats) -> Iterator[Document]:
    for doc in docs:
        n = utf8_len(doc.text)
        stats.docs_in += 1
        stats.docs_out += 1
        stats.bytes_in += n
        stats.bytes_out += n
        observe_doc(stats, "out", doc, words=True)  # the length distribution before any stage
        if doc.metadata and "decoded_as" in doc.metadata:  # a reader's encoding fallback: never silent
            stats.inc(f"decoded_as_{doc.metadata['decoded_as']}")
        replaced = doc.metadata.get(REPLACED) if doc.metadata else None
        if type(replaced) is int:  # characters a reader made U+FFFD (readers/base.py)
            stats.inc(REPLACED, replaced)
        yield doc


def _observe(docs: Iterable[Document], stats: StageStats) -> Iterator[Document]:
    """Record the length of each document a stage lets through, for the report."""
    for doc in docs:
        observe_doc(stats, "out", doc)
        yield doc


def _tee(docs: Iterable[Document], writer: DocumentWriter) -> Iterator[Document]:
    for doc in docs:
        writer.write(doc)
        yield doc


def source_stamp(src: Source) -> dict | None:
    """Size and modification time of a source, to notice an input edited after it was read."""
    if is_url(src.path):
        return url_info(src.path)
    p = Path(src.path)
    if src.kind == "hf_hub" or not p.exists():
        return None
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    stats = [f.stat() for f in files]
    return {"size": sum(st.st_size for st in stats), "mtime_ns": max((st.st_mtime_ns for st in stats), default=0)}
