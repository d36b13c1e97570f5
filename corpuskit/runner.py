"""Run a pipeline over units of work, resumably.

The input is split into units (one per source file). The stage list is cut into
segments at each global stage (de-duplication), because a global stage must see
every unit before it can decide anything:

    segment k:  [apply global stage k-1] -> streaming stages -> [index global stage k]

Every unit of every segment writes its outputs under temporary names, renames them,
writes its counters, and only then writes its completion marker. A rerun skips units
that have a marker and redoes the rest, so a crash costs at most the units in flight
and never leaves a half-written file under a final name. Unit i always produces
`part-{i:05d}`, whatever the number of workers, so outputs are byte-identical.

Run directory layout:

    OUTPUT/config.json          the resolved configuration and its fingerprint
    OUTPUT/part-00000.parquet   kept documents, one file per unit
    OUTPUT/rejected/            dropped documents with `reason`, `stage`, `detail`, `duplicate_of`
    OUTPUT/stats.json           per-stage counters merged from the per-unit files
    OUTPUT/_work/               per-unit counters, completion markers, intermediate
                                documents and the global stages' working files
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from corpuskit.document import Document
from corpuskit.errors import CorpuskitError
from corpuskit.execute import get_executor
from corpuskit.io import atomic_write_text
from corpuskit.pipeline import PipelineConfig, StageSpec
from corpuskit.readers import READ_STAGE, Source, list_sources, read_source
from corpuskit.readers.parquet import iter_documents
from corpuskit.stage import GlobalStage, utf8_len
from corpuskit.stats import StageStats, format_table, merge_stats, write_unit_stats
from corpuskit.writers import DocumentWriter


class RunError(CorpuskitError, RuntimeError):
    """The run directory cannot be used as asked (for example, it holds a different run)."""


@dataclass(frozen=True)
class RunPaths:
    root: Path
    fmt: str = "parquet"

    @property
    def work(self) -> Path:
        return self.root / "_work"

    def done(self, seg: int, unit: int) -> Path:
        return self.work / "done" / f"seg{seg}-unit{unit:05d}"

    def reduced(self, seg: int) -> Path:
        return self.work / "done" / f"seg{seg}-reduce"

    def unit_stats(self, seg: int, unit: int) -> Path:
        return self.work / "stats" / f"seg{seg}-unit{unit:05d}.json"

    def intermediate(self, seg: int, unit: int) -> Path:
        return self.work / f"seg{seg}" / f"part-{unit:05d}.parquet"

    def stage_dir(self, name: str) -> Path:
        return self.work / "stages" / name

    def output(self, unit: int) -> Path:
        return self.root / f"part-{unit:05d}.{self.fmt}"

    def rejected(self, seg: int, unit: int) -> Path:
        return self.root / "rejected" / f"seg{seg}-part-{unit:05d}.{self.fmt}"


def split_segments(stages: list[StageSpec]) -> list[tuple[list[StageSpec], StageSpec | None]]:
    """Cut the stage list after each global stage; the last segment has no global stage."""
    from corpuskit.stages import stage_class

    segments, current = [], []
    for spec in stages:
        if issubclass(stage_class(spec.type), GlobalStage):
            segments.append((current, spec))
            current = []
        else:
            current.append(spec)
    segments.append((current, None))
    return segments


@dataclass(frozen=True)
class UnitTask:
    """Everything a worker needs to run one unit of one segment; picklable, engine-agnostic."""

    config: dict
    source: Source
    segment: int
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


def _global_stage(spec: StageSpec, paths: RunPaths, unit: int) -> GlobalStage:
    stage = spec.build()
    stage.workdir = paths.stage_dir(spec.name)
    stage.workdir.mkdir(parents=True, exist_ok=True)
    stage.unit = unit
    return stage


def run_unit(task: UnitTask) -> dict:
    """Run one unit of one segment; returns its document and byte counts for progress."""
    cfg = PipelineConfig.from_dict(task.config)
    paths = RunPaths(Path(cfg.output), cfg.format)
    k, i = task.segment, task.unit
    stream_specs, global_spec = split_segments(cfg.stages)[k]
    writers: list[DocumentWriter] = []
    rejected: list[DocumentWriter] = []
    read_stats = StageStats()

    def reject(doc: Document, reason: str, stage: str, **detail) -> None:
        if not rejected:
            rejected.append(DocumentWriter(paths.rejected(k, i), rejected=True))
        if stage == READ_STAGE:
            read_stats.drop(reason)
        rejected[0].write(doc, reason=reason, stage=stage, **detail)

    # (name, counters, timer) of each layer of the document stream, upstream first
    layers: list[tuple[str, StageStats, _Timer]] = []
    if k == 0:
        docs: Iterable[Document] = read_source(task.source, cfg.reader, reject)
        read_timer = _Timer()
        docs = _count(read_timer.wrap(docs), read_stats)
        layers.append((READ_STAGE, read_stats, read_timer))
    else:
        docs = iter_documents(str(paths.intermediate(k - 1, i)))
        prev = _global_stage(split_segments(cfg.stages)[k - 1][1], paths, i)
        prev.reject = reject
        timer = _Timer()
        docs = timer.wrap(prev(docs))
        layers.append((prev.name, prev.stats, timer))
    for spec in stream_specs:
        stage = spec.build()
        stage.reject = reject
        timer = _Timer()
        docs = timer.wrap(stage(docs))
        layers.append((stage.name, stage.stats, timer))

    stats: dict[str, StageStats] = {}
    try:
        if global_spec is not None:
            out = DocumentWriter(paths.intermediate(k, i))
            writers.append(out)
            gstage = _global_stage(global_spec, paths, i)
            t0 = time.perf_counter()
            gstage.index(_tee(docs, out))
            index_time = time.perf_counter() - t0 - layers[-1][2].seconds
            stats[gstage.name] = StageStats(time_s=max(index_time, 0.0))
        else:
            out = DocumentWriter(paths.output(i))
            writers.append(out)
            for doc in docs:
                out.write(doc)
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
    atomic_write_text(paths.done(k, i), json.dumps({"docs_out": last.docs_out}))
    return {"unit": i, "docs_in": first.docs_in, "bytes_in": first.bytes_in,
            "docs_out": last.docs_out, "bytes_out": last.bytes_out}


def _count(docs: Iterable[Document], stats: StageStats) -> Iterator[Document]:
    for doc in docs:
        n = utf8_len(doc.text)
        stats.docs_in += 1
        stats.docs_out += 1
        stats.bytes_in += n
        stats.bytes_out += n
        yield doc


def _tee(docs: Iterable[Document], writer: DocumentWriter) -> Iterator[Document]:
    for doc in docs:
        writer.write(doc)
        yield doc


def _prepare_run_dir(cfg: PipelineConfig, sources: list[Source], force: bool) -> RunPaths:
    paths = RunPaths(Path(cfg.output), cfg.format)
    config_file = paths.root / "config.json"
    record = {"fingerprint": cfg.fingerprint(), "config": cfg.to_dict(),
              "units": [asdict(s) for s in sources]}
    if force:
        clean_run_dir(paths.root)
    elif config_file.exists():
        old = json.loads(config_file.read_text())
        if old.get("fingerprint") != record["fingerprint"] or old.get("units") != record["units"]:
            raise RunError(
                f"{paths.root} holds a run with a different configuration or input; "
                "use --force to redo it, or choose another --output")
    paths.root.mkdir(parents=True, exist_ok=True)
    # Temporary files of units that died in an earlier run: never under a final name, now garbage.
    for stale in paths.root.rglob(".*.tmp-*"):
        stale.unlink()
    atomic_write_text(config_file, json.dumps(record, indent=2, default=str))
    return paths


def clean_run_dir(root: Path) -> None:
    """Remove what a run writes (never anything else the user keeps in the folder)."""
    for name in ("_work", "rejected", "shards"):
        shutil.rmtree(root / name, ignore_errors=True)
    for pattern in ("part-*", "stats.json", "config.json", "tokenizer.json", ".part-*"):
        for p in root.glob(pattern):
            p.unlink()


def _source_size(src: Source) -> int:
    try:
        return os.path.getsize(src.path)
    except OSError:  # a hub dataset, or a saved-dataset folder
        return 0


def _run_segment(ex, cfg: PipelineConfig, paths: RunPaths, sources: list[Source], segments, k: int,
                 quiet: bool, log: Callable[[str], None]) -> None:
    """Run segment k's missing units, then its global stage's reduce if not done yet."""
    n = len(sources)
    stream, gspec = segments[k]
    todo = [UnitTask(cfg.to_dict(), sources[i], k, i, n) for i in range(n) if not paths.done(k, i).exists()]
    # Largest units first, so that a big file does not start last and leave the other
    # workers idle at the end. Outputs do not depend on the order units run in.
    todo.sort(key=lambda t: -_source_size(t.source))
    names = [s.name for s in stream] + ([gspec.name + " (index)"] if gspec else [])
    if k > 0:
        names.insert(0, segments[k - 1][1].name)
    label = f"[{k + 1}/{len(segments)}] " + (" > ".join(names) or "write")
    if not todo:
        log(f"{label}: {n} units already complete, skipped")
    else:
        _run_with_progress(ex, todo, n, label, quiet)
    if gspec is not None and not paths.reduced(k).exists():
        t0 = time.perf_counter()
        _global_stage(gspec, paths, 0).reduce(n)
        atomic_write_text(paths.reduced(k), "")
        log(f"{gspec.name}: reduce over {n} units took {time.perf_counter() - t0:.1f}s")


def run_pipeline(
    cfg: PipelineConfig,
    workers: int | None = None,
    executor: str = "local",
    force: bool = False,
    quiet: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, StageStats]:
    """Run every stage over every unit (resuming completed work) and return merged stats."""
    log = log or (lambda msg: None if quiet else print(msg, file=sys.stderr))
    sources = list_sources(cfg.input, cfg.reader.glob)
    paths = _prepare_run_dir(cfg, sources, force)
    n = len(sources)
    segments = split_segments(cfg.stages)
    with get_executor(executor, workers or os.cpu_count() or 1) as ex:
        for k in range(len(segments)):
            _run_segment(ex, cfg, paths, sources, segments, k, quiet, log)
    order = [READ_STAGE] + [s.name for s in cfg.stages]
    stats = merge_stats(list((paths.work / "stats").glob("*.json")), order)
    summary = {
        "units": n,
        "documents_in": stats[READ_STAGE].docs_in,
        "documents_out": sum(json.loads(paths.done(len(segments) - 1, i).read_text())["docs_out"] for i in range(n)),
        "stages": {name: s.to_dict() for name, s in stats.items()},
    }
    atomic_write_text(paths.root / "stats.json", json.dumps(summary, indent=2))
    if cfg.tokenizer is not None or cfg.shards is not None:
        from corpuskit.tokenize.steps import run_post_steps

        run_post_steps(cfg, paths, workers, quiet, log)
    return stats


def _run_with_progress(ex, tasks: list[UnitTask], n_units: int, label: str, quiet: bool) -> None:
    from tqdm import tqdm

    t0 = time.perf_counter()
    docs = nbytes = 0
    with tqdm(total=n_units, initial=n_units - len(tasks), desc=label, unit="unit",
              disable=quiet, file=sys.stderr, dynamic_ncols=True, mininterval=1.0) as bar:
        for result in ex.map(run_unit, tasks):
            docs += result["docs_in"]
            nbytes += result["bytes_in"]
            dt = max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix_str(f"{docs / dt:,.0f} docs/s, {nbytes / dt / 1e6:.2f} MB/s")
            bar.update(1)


def load_stats(run_dir: str | Path) -> dict:
    """The merged stats of a finished run, as written to `stats.json`."""
    path = Path(run_dir) / "stats.json"
    if not path.exists():
        raise RunError(f"no stats.json in {run_dir}: not a finished corpuskit run")
    return json.loads(path.read_text())


def summary_table(summary: dict) -> str:
    return format_table({name: StageStats.from_dict(d) for name, d in summary["stages"].items()})
