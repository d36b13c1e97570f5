"""Run a pipeline over units of work, resumably.

The input is split into units: one per source file, or several for a large JSON Lines or
Parquet file or saved dataset (`corpuskit.readers.units`). The stage list is compiled once
into passes, cut at each global stage (de-duplication), because a global stage must
see every unit before it can decide anything:

    pass k:  source (the input, or pass k-1's documents)
             -> [apply global stage k-1] -> streaming stages -> sink
    sink:    index global stage k (and keep the documents for pass k+1), or write the outputs

After a pass that indexes a global stage, its `reduce` runs once and returns a report,
which the runner writes to OUTPUT/reports/<stage>.json. A streaming stage with a working
folder (`Stage.uses_workdir`, decontamination) is prepared once before the first pass, and
its report, made from its units' files, is written the same way after its pass. Then the
tokenizer and shard steps run over the kept documents.

Every unit of every pass (`corpuskit.unit.run_unit`) writes its outputs under temporary
names, renames them, writes its counters, and only then writes its completion marker. A rerun skips units (and
reduces, and steps) that are done and redoes the rest, so a crash costs at most the
work in flight and never leaves a half-written file under a final name. A unit's outputs
are named by its file index and chunk index (`part-00003`, or `part-00003-00001` for a unit
inside a large file), whatever the number of workers, so outputs are byte-identical.
The run folder's layout belongs to `corpuskit.layout.RunPaths`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from corpuskit.execute import get_executor
from corpuskit.io import atomic_write_text, is_url
from corpuskit.layout import RunError, RunPaths, check_apart
from corpuskit.pipeline import POST_SECTIONS, PipelineConfig, StageSpec, documents_fingerprint, first_changed_stage
from corpuskit.readers import READ_STAGE, Source, list_sources, plan_units, unit_size
from corpuskit.stage import GlobalStage, Stage, check_stage_errors
from corpuskit.stages.registry import stage_class
from corpuskit.stats import StageStats, merge_stats
from corpuskit.summary import load_stats, nothing_kept, summary_table  # re-exported: callers import them from here
from corpuskit.unit import Pass, UnitTask, _context, compile_plan, run_unit, source_stamp

Log = Callable[[str], None]

__all__ = ["RunError", "compile_plan", "run_pipeline", "run_unit", "load_stats", "nothing_kept", "summary_table"]


def _check_inputs_unchanged(paths: RunPaths, sources: list[Source]) -> None:
    """Refuse to resume over an input that changed since a finished unit read it."""
    for i, src in enumerate(sources):
        marker = paths.done(0, i)
        if not marker.is_file():
            continue
        try:
            record = json.loads(marker.read_text())
        except ValueError:
            record = None
        if not isinstance(record, dict):  # written whole by the unit: damaged since
            raise RunError(f"{marker} is damaged; use --force to redo the run, or choose another --output")
        if record.get("input") != source_stamp(src):
            raise RunError(f"input changed since this run read it: {src.path}; "
                           "use --force to redo the run, or choose another --output")


def _prepare_run_dir(cfg: PipelineConfig, sources: list[Source], force: bool, notes: list[str] | None = None) -> RunPaths:
    """Check the folder is ours and holds this run (or none); called with the lock held.

    A run whose configuration differs only in the `tokenizer:` / `shards:` sections keeps its
    documents: those steps check their own settings and redo themselves (tokenize/steps.py).
    One whose stage list changed keeps the passes before the first changed stage.
    What was kept that way is appended to `notes`, for the run's log."""
    paths = RunPaths(Path(cfg.output), cfg.format)
    record = {"fingerprint": cfg.fingerprint(), "config": cfg.to_dict(),
              "units": [s.record() for s in sources]}
    paths.check_no_links()
    # Temporaries of writers that died in an earlier run: never under a final name, now garbage.
    # Before remove_outputs, which deletes the config.json that names the run's reports.
    paths.remove_temporaries()
    if force:
        paths.remove_outputs()
    elif paths.config.exists():
        old = paths.recorded()
        if old is None:
            raise RunError(f"{paths.config} is not a run's record (damaged or edited); "
                           "use --force to redo the run, or choose another --output")
        if old.get("units") != record["units"]:
            raise RunError(f"{paths.root} holds a run with a different input; "
                           "use --force to redo it, or choose another --output")
        if documents_fingerprint(old.get("config")) != documents_fingerprint(record["config"]):
            _keep_unchanged_passes(paths, old.get("config"), cfg, notes)
        elif old.get("fingerprint") != record["fingerprint"] and notes is not None:
            changed = [k for k in POST_SECTIONS if (old.get("config") or {}).get(k) != record["config"].get(k)]
            notes.append(f"config: only {' and '.join(changed) or 'the steps after the stages'} changed since the "
                         "last run: its documents are kept; those steps are redone where their settings changed")
        _check_inputs_unchanged(paths, sources)
    # From now until write_stats the folder is being worked on: not a finished run that a
    # reader may take as input (RunPaths.run_state), even where its stats.json was whole.
    paths.stats.unlink(missing_ok=True)
    atomic_write_text(paths.config, json.dumps(record, indent=2, default=str))
    return paths


def _keep_unchanged_passes(paths: RunPaths, old: dict | None, cfg: PipelineConfig, notes: list[str] | None) -> None:
    """A rerun whose stage list changed: keep the passes before the first changed stage, forget
    the rest (they run again); refuse when more than the stages changed."""
    j = first_changed_stage(old, cfg.to_dict())
    if j is None:
        raise RunError(f"{paths.root} holds a run with a different configuration (not only its stages, or a "
                       "stage with an index_dir changed); use --force to redo it, or choose another --output")
    first = sum(1 for spec in cfg.stages[:j] if issubclass(stage_class(spec.type), GlobalStage))
    old_names = [s["name"] for s in old["stages"][j:] if isinstance(s, dict) and isinstance(s.get("name"), str)]
    paths.forget_passes(first, old_names + [spec.name for spec in cfg.stages[j:]])
    if notes is not None:
        notes.append(f"config: stages changed from stage {j + 1} on; passes 1-{first} kept, the rest redone"
                     if first else f"config: stages changed from stage {j + 1} on; every pass redone")


@dataclass
class Run:
    """One run in progress: what every pass needs, in one place."""

    cfg: PipelineConfig
    paths: RunPaths
    sources: list[Source]
    plan: list[Pass]
    executor: object
    quiet: bool
    log: Log
    temporary: bool = False  # OUTPUT -: the run folder is deleted when the command ends

    def run_pass(self, step: Pass) -> None:
        """Run the pass's missing units, then its sink's reduce if not done yet."""
        n = len(self.sources)
        if step.sink is not None:
            self._check_reduce(step)
        redo = {i: self.paths.unit_problem(step.index, i) for i in range(n) if self.paths.done(step.index, i).exists()}
        self._say_redone(step, {i: why for i, why in redo.items() if why})
        todo = [UnitTask(self.cfg.to_dict(), self.sources[i], step.index, i, n)
                for i in range(n) if i not in redo or redo[i]]
        if todo and step.sink is not None:  # its reduce read the units about to be redone
            self.paths.reduced(step.index).unlink(missing_ok=True)
        # Largest units first, so that a big file does not start last and leave the other
        # workers idle at the end. Outputs do not depend on the order units run in.
        todo.sort(key=lambda t: -unit_size(t.source))
        label = f"[{step.index + 1}/{len(self.plan)}] {step.label}"
        hooked = [spec for spec in step.stream if stage_class(spec.type).uses_workdir]
        if not todo:
            self.log(f"{label}: {n} units already complete, skipped")
        else:
            t0 = time.perf_counter()
            docs = _run_with_progress(self.executor, todo, n, label, self.quiet)
            # one line per pass: what a log file or a pipe gets instead of the progress bar
            self.log(f"{label}: {len(todo)} of {n} units done, {docs:,} documents read, "
                     f"in {time.perf_counter() - t0:.1f}s")
        # a stage that raised on every document is broken: stop here, not after every pass
        check_stage_errors(merge_stats([self.paths.unit_stats(step.index, i) for i in range(n)], []))
        for spec in hooked:
            # made again each time from the units' files (which their markers verify): nothing to resume
            report = spec.build().report(_context(self.paths, spec, 0, n, self.executor))
            if report is not None:
                self._write_report(spec.name, report, changed_only=True)
        if step.sink is not None and not self.paths.reduced(step.index).exists():
            self.reduce(step.sink, n, step.index)

    def _say_redone(self, step: Pass, why: dict[int, str], most: int = 5) -> None:
        """One line per completed unit about to be redone since its files changed (the first few)."""
        for i in sorted(why)[:most]:
            self.log(f"[{step.index + 1}/{len(self.plan)}] unit {self.sources[i].name} ({self.sources[i].rel}): "
                     f"{why[i]}; redoing it")
        if len(why) > most:
            self.log(f"[{step.index + 1}/{len(self.plan)}] ... and {len(why) - most} more units to redo")

    def _check_reduce(self, step: Pass) -> None:
        """A done reduce whose files changed since: redo it, or the whole pass when the units'
        files in the stage's folder changed (those the reduce read)."""
        marker = self.paths.reduced(step.index)
        if not marker.exists():
            return
        changed = self.paths.changed_outputs(marker)
        if changed == []:
            return
        label = f"[{step.index + 1}/{len(self.plan)}] {step.sink.name}"
        report = self.paths.report(step.sink.name).relative_to(self.paths.root).as_posix()
        if changed is not None and all(c.startswith(f"{report} ") for c in changed):
            self.log(f"{label}: {changed[0]}; redoing its reduce")
        else:
            why = changed[0] if changed else "its completion marker records no outputs"
            self.log(f"{label}: {why}; redoing the pass")
            for i in range(len(self.sources)):
                self.paths.done(step.index, i).unlink(missing_ok=True)
        marker.unlink()

    def reduce(self, spec: StageSpec, n_units: int, index: int) -> None:
        # Every later pass applied this reduce's decisions: about to be made again, so redo them.
        for later in range(index + 1, len(self.plan)):
            self.paths.reduced(later).unlink(missing_ok=True)
            for i in range(n_units):
                self.paths.done(later, i).unlink(missing_ok=True)
        t0 = time.perf_counter()
        report = spec.build().reduce(_context(self.paths, spec, 0, n_units, self.executor))
        note = ""
        written = self.paths.stage_files(spec.name)
        if report is not None:
            note = self._write_report(spec.name, report)
            written.append(self.paths.report(spec.name))
        # A rerun trusts the reduce only while these files are as written (Run._check_reduce).
        atomic_write_text(self.paths.reduced(index), json.dumps({"outputs": self.paths.stamp(written)}))
        self.log(f"{spec.name}: reduce over {n_units} units took {time.perf_counter() - t0:.1f}s{note}")

    def _write_report(self, name: str, report: dict, changed_only: bool = False) -> str:
        """Write a stage's report to reports/<name>.json (not again when `changed_only` and it is
        as written); returns the note for the log line."""
        path, text = self.paths.report(name), json.dumps(report, indent=1)
        if changed_only and path.is_file() and path.read_text(encoding="utf-8") == text:
            return ""
        atomic_write_text(path, text)
        # with OUTPUT - the report is deleted with the run folder when the command ends
        note = " (report not kept: OUTPUT is -)" if self.temporary else f" (report: {path})"
        if changed_only:
            self.log(f"{name}: report written{note}")
        return note

    def write_stats(self) -> dict[str, StageStats]:
        order = [READ_STAGE] + [s.name for s in self.cfg.stages]
        stats = merge_stats(list(self.paths.stats_dir.glob("*.json")), order)
        last = len(self.plan) - 1
        summary = {
            "units": len(self.sources),
            "documents_in": stats[READ_STAGE].docs_in,
            "documents_out": sum(json.loads(self.paths.done(last, i).read_text())["docs_out"]
                                 for i in range(len(self.sources))),
            "stages": {name: s.to_dict(profile=False) for name, s in stats.items()},
            # histograms and rejected examples per stage, for `corpuskit report` (docs/REPORT.md)
            "profile": {name: s.profile_dict() for name, s in stats.items() if s.hists or s.examples},
        }
        atomic_write_text(self.paths.stats, json.dumps(summary, indent=2))
        return stats


def run_pipeline(
    cfg: PipelineConfig,
    workers: int | None = None,
    executor: str = "local",
    force: bool = False,
    quiet: bool = False,
    log: Log | None = None,
    address: str | None = None,
    temporary: bool = False,
) -> dict[str, StageStats]:
    """Run every stage over every unit (resuming completed work) and return merged stats.

    `address`: the Ray cluster to join (executor "ray"); tasks get absolute paths, so a
    worker on another node (with another working directory) finds the same files.
    `temporary`: the output folder is deleted when the caller is done (OUTPUT -), so log
    lines name no file inside it. Every log line also goes to OUTPUT/logs/run.log.
    """
    log = log or (lambda msg: None if quiet else print(msg, file=sys.stderr))
    workers = workers or os.cpu_count() or 1
    from corpuskit.stages.dedup.index import check_index_location

    for spec in cfg.stages:  # a persistent index inside the input or output: refused before any work
        if spec.params.get("index_dir"):
            check_index_location(spec.params["index_dir"], cfg.input, cfg.output)
    url = cfg.output if is_url(cfg.output) else None
    if url:  # object storage: run in a local working folder, then publish (corpuskit/publish.py)
        from corpuskit.publish import work_dir

        cfg = dataclasses.replace(cfg, output=str(work_dir(url)))
    check_apart(cfg.input, cfg.output)
    sources = plan_units(list_sources(cfg.input, cfg.reader.glob), cfg.unit_bytes)
    for spec in cfg.stages:  # the files a stage reads (eval sets, a model) are part of its configuration
        if stage_class(spec.type).content_key is not Stage.content_key:
            spec.content = spec.build().content_key()
    paths = RunPaths(Path(cfg.output), cfg.format)
    paths.claim()
    notes: list[str] = []
    with paths.lock(), _removing_temporaries_on_interrupt(paths):
        _prepare_run_dir(cfg, sources, force, notes)
        with _run_log(paths, cfg, log, workers, executor, temporary) as (tee, log_file):  # the outer `log` stays for publish
            for note in notes:
                tee(note)
            plan = compile_plan(cfg.stages)
            # What the units of a stage with a working folder share (an index), built once here, before
            # the workers start: forked ones then have it loaded already.
            for spec in cfg.stages:
                if stage_class(spec.type).uses_workdir:
                    spec.build().prepare(_context(paths, spec, 0, len(sources)))
            with get_executor(executor, workers, address) as ex:
                located = [_absolute(s) for s in sources]
                task_cfg = dataclasses.replace(cfg, output=os.path.abspath(cfg.output))
                run = Run(task_cfg, paths, located, plan, ex, quiet, tee, temporary)
                for step in plan:
                    run.run_pass(step)
                stats = run.write_stats()
                if cfg.tokenizer is not None:
                    from corpuskit.tokenize.steps import post_steps

                    for post in post_steps(cfg, paths, workers, ex.map):
                        tee(post.skipped_line() if post.done() else post.run())
            from corpuskit.card import write_card

            write_card(paths, tee)  # README.md: `datasets.load_dataset(OUTPUT)` gives the kept documents
            summary = json.loads(paths.stats.read_text())
            log_file(f"done: {summary['documents_out']} of {summary['documents_in']} documents kept")
        if url:
            from corpuskit.publish import publish

            publish(paths.root, url, log)
    return stats


@contextlib.contextmanager
def _run_log(paths: RunPaths, cfg: PipelineConfig, log: Log, workers: int, executor: str,
             temporary: bool) -> Iterator[tuple[Log, Log]]:
    """(`log` whose lines also go to OUTPUT/logs/run.log, a log to that file only).

    Each line is appended with its time, each run opens with a dated header (datatrove keeps
    `logs/` in its output folder too): once the terminal is gone, what every run said stays
    with its outputs. --force starts a new file (RunPaths.remove_outputs)."""
    paths.logs.mkdir(exist_ok=True)
    root = {str(paths.root), os.path.abspath(paths.root)}
    with open(paths.run_log, "a", encoding="utf-8") as fh:
        fh.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S %Z')} corpuskit run (pid {os.getpid()}): input {cfg.input}, "
                 f"config {cfg.fingerprint()[:12]}, {workers} workers, executor {executor} ==\n")
        fh.flush()

        def to_file(msg: str) -> None:
            fh.write(f"{time.strftime('%H:%M:%S')} {msg}\n")
            fh.flush()

        def both(msg: str) -> None:
            to_file(msg)
            if temporary:  # the folder is gone when the command ends: name none of its files
                for r in sorted(root, key=len, reverse=True):
                    msg = msg.replace(r, "<temporary run folder>")
            log(msg)

        yield both, to_file


def _absolute(src: Source) -> Source:
    """The source with an absolute path (config.json keeps them as the user gave them)."""
    if src.kind == "hf_hub" or is_url(src.path):
        return src
    return dataclasses.replace(src, path=os.path.abspath(src.path))


@contextlib.contextmanager
def _removing_temporaries_on_interrupt(paths: RunPaths) -> Iterator[None]:
    """Ctrl-C: completed units stay (a rerun resumes), half-written files go."""
    try:
        yield
    except KeyboardInterrupt:
        paths.remove_temporaries()
        raise


def _run_with_progress(ex, tasks: list[UnitTask], n_units: int, label: str, quiet: bool) -> int:
    from tqdm import tqdm

    from corpuskit.progress import show_progress

    """Run `tasks` through `ex` under a progress bar (when shown); returns the documents read."""
    t0 = time.perf_counter()
    docs = nbytes = 0
    with tqdm(total=n_units, initial=n_units - len(tasks), desc=label, unit="unit",
              disable=not show_progress(quiet), file=sys.stderr, dynamic_ncols=True, mininterval=1.0) as bar:
        for result in ex.map(run_unit, tasks):
            docs += result["docs_in"]
            nbytes += result["bytes_in"]
            dt = max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix_str(f"{docs / dt:,.0f} docs/s, {nbytes / dt / 1e6:.2f} MB/s")
            bar.update(1)
    return docs
