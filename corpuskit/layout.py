"""The run folder's layout: every path under OUTPUT comes from `RunPaths`.

    OUTPUT/config.json                 the resolved configuration, its fingerprint and the input units
    OUTPUT/part-00000.parquet          kept documents, one file per unit (or .jsonl); a large input
                                       file gives part-00000-00000, part-00000-00001, ...
    OUTPUT/rejected/                   dropped documents with `reason`, `stage`, `detail`, `duplicate_of`
    OUTPUT/stats.json                  per-stage counters merged from the per-unit files; written last
    OUTPUT/reports/<stage>.json        what a global stage reports (de-duplication clusters)
    OUTPUT/tokenizer.json              the tokenizer (trained, or a copy of `tokenizer.file`)
    OUTPUT/shards/                     the shard directory for trainers (docs/SHARDS.md)
    OUTPUT/report.html                 `corpuskit report`: the run on one page (docs/REPORT.md)
    OUTPUT/logs/run.log                what each run said, appended run after run with a dated header
    OUTPUT/_work/                      per-unit counters, completion markers, intermediate
                                       documents and the global stages' working folders

    OUTPUT/.corpuskit-run              ownership marker: corpuskit created this folder
    OUTPUT/.corpuskit-lock             held while a run writes here (corpuskit/lock.py)

Nothing else in corpuskit spells these names: stages are handed their folders, readers
ask `RunPaths.run_state` whether a folder is a run, commands ask for its fingerprint.

Ownership: corpuskit writes only into a folder it created (or found empty) and marked,
and deletes only files whose names it gives (`part-00000.parquet`, never `part-of-my-thesis.docx`)
inside such a folder. The same rule marks shard directories and MinHash index folders
(`claim_folder`).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Iterable

from corpuskit.folders import claim_folder, is_temporary, owned_temporary, remove_temporaries
from corpuskit.io import file_digest, is_url
from corpuskit.lock import LOCK, RunError, folder_lock

__all__ = ["LOCK", "RUN_MARKER", "SHARDS_MARKER", "RunError", "RunPaths", "check_apart", "claim_folder", "folder_lock",
           "is_temporary", "owned_name", "owned_temporary", "remove_temporaries"]

OUTPUT_GLOB = "part-*"  # a run's kept documents, in unit order
RUN_MARKER = ".corpuskit-run"
# Names corpuskit gives; only these are ever deleted. (\Z, not $: "part-00000.parquet\n" is not ours.)
# A unit's name is its file index, and its chunk index for a unit inside a large file.
_PART = re.compile(r"^part-\d{5}(-\d{5})?\.(parquet|jsonl)\Z")
_REJECTED = re.compile(r"^seg\d+-part-\d{5}(-\d{5})?\.(parquet|jsonl)\Z")
SHARD_NAME = re.compile(r"^shard-\d{5}(-\d{5})*\.arrow\Z")  # shard-UNIT-K; older runs: shard-K
STAGE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")  # a file name in reports/ and _work/stages/


def check_apart(input_path: str, output: str) -> None:
    """Refuse an output folder that overlaps the input, before anything is deleted or written:
    a forced run would delete an input inside its output before reading it, and a rerun
    would read its own outputs. A file counts as much as a folder; URLs and hub names are
    not on this disk."""
    if any(str(x).startswith("hf:") or is_url(str(x)) for x in (input_path, output)):
        return
    inp, out = Path(input_path).resolve(), Path(output).resolve()
    if inp == out or inp.is_relative_to(out):
        raise RunError(f"the input {input_path} is inside the output folder {output}: the run would "
                       "overwrite or delete it before reading it; choose an output elsewhere")
    if out.is_relative_to(inp) and RunPaths.run_state(inp) is None:  # of a run folder, only part-* are read
        raise RunError(f"the output folder {output} is inside the input folder {input_path}: "
                       "a rerun would read its own output; choose an output outside the input")


_TOP_FILES = ("stats.json", "tokenizer.json", "report.html", "config.json")
_RUN_LOG = "run.log"  # in logs/
_SPLITS = ("train", "validation", "test")
_SPLIT_FILES = ("state.json", "dataset_info.json")  # tokenize/hf.py: the Hugging Face files
_SHARDS_TOP = ("manifest.json", "tokenizer.json", "dataset_dict.json", "tokenizer_config.json",
               "special_tokens_map.json", "README.md")


def owned_name(rel: str, reports: Collection[str] = ()) -> bool:
    """Whether `rel` (a posix path inside a run folder) is a name corpuskit gives its outputs
    (what `RunPaths.remove_outputs` may delete, and `publish` may replace on object storage).
    `reports`: the stage names whose `reports/<stage>.json` the run can have written; any other
    file in `reports/` is the user's."""
    parts = rel.split("/")
    if len(parts) == 1:
        return bool(_PART.match(rel)) or rel in _TOP_FILES or rel == "README.md"
    if len(parts) == 2 and parts[0] == "rejected":
        return bool(_REJECTED.match(parts[1]))
    if len(parts) == 2 and parts[0] == "logs":
        return parts[1] == _RUN_LOG
    if len(parts) == 2 and parts[0] == "reports":
        return parts[1].endswith(".json") and parts[1][:-len(".json")] in reports
    if parts[0] != "shards":
        return False
    if len(parts) == 2:
        return parts[1] in _SHARDS_TOP or parts[1] == SHARDS_MARKER
    return (len(parts) == 3 and parts[1] in _SPLITS
            and (bool(SHARD_NAME.match(parts[2])) or parts[2] in _SPLIT_FILES))


def _unlink_matching(folder: Path, pattern: re.Pattern) -> None:
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.is_file() and pattern.match(p.name):
            p.unlink()


@dataclass(frozen=True)
class RunPaths:
    root: Path
    fmt: str = "parquet"

    # -- what a user reads --------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def stats(self) -> Path:
        return self.root / "stats.json"

    def output(self, unit: int | str) -> Path:
        """Unit `unit`'s kept documents; a name (`Source.name`: "00003" or "00003-00002") or a file index."""
        return self.root / f"part-{_unit_name(unit)}.{self.fmt}"

    @property
    def rejected_dir(self) -> Path:
        return self.root / "rejected"

    def rejected(self, seg: int, unit: int | str) -> Path:
        return self.rejected_dir / f"seg{seg}-part-{_unit_name(unit)}.{self.fmt}"

    def report(self, stage_name: str) -> Path:
        return self.root / "reports" / f"{stage_name}.json"

    @property
    def tokenizer(self) -> Path:
        return self.root / "tokenizer.json"

    @property
    def shards(self) -> Path:
        return self.root / "shards"

    @property
    def shards_manifest(self) -> Path:
        return self.shards / "manifest.json"

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run_log(self) -> Path:
        """Every run's log lines, appended (runner._run_log); --force starts it again."""
        return self.logs / _RUN_LOG

    @property
    def card(self) -> Path:
        """The dataset card: `datasets.load_dataset(OUTPUT)` reads the documents it names."""
        return self.root / "README.md"

    # -- the runner's own files ---------------------------------------------------------
    @property
    def work(self) -> Path:
        return self.root / "_work"

    def done(self, seg: int, unit: int) -> Path:
        return self.work / "done" / f"seg{seg}-unit{unit:05d}"

    def stamp(self, files: Iterable[Path]) -> dict[str, dict]:
        """Size and sha256 of a unit's output files, by name inside the run folder: what its
        completion marker records, so that a rerun verifies them instead of assuming them."""
        return {Path(f).relative_to(self.root).as_posix(): {"size": Path(f).stat().st_size, "sha256": file_digest(f)}
                for f in files}

    def changed_outputs(self, marker: Path) -> list[str] | None:
        """The files recorded in completion `marker` that are missing, cut or changed since they
        were written, each as "NAME is missing" or "NAME changed since it was written"; None when
        the marker records no files (unreadable, or written by an older corpuskit)."""
        try:
            outputs = json.loads(marker.read_text()).get("outputs")
        except (OSError, ValueError, AttributeError):
            return None
        if not isinstance(outputs, dict):
            return None
        changed = []
        for rel, want in sorted(outputs.items()):
            p = self.root / rel
            if ".." in Path(rel).parts or p.is_symlink() or not p.is_file():
                changed.append(f"{rel} is missing")
            elif p.stat().st_size != want.get("size") or file_digest(p) != want.get("sha256"):
                changed.append(f"{rel} changed since it was written")
        return changed

    def unit_problem(self, seg: int, unit: int) -> str | None:
        """Why the completed unit `unit` of pass `seg` cannot be trusted, or None when its
        outputs are as it recorded them."""
        changed = self.changed_outputs(self.done(seg, unit))
        if changed is None:
            return "its completion marker records no outputs (damaged, or written by an older corpuskit)"
        return changed[0] if changed else None

    def stage_files(self, name: str) -> list[Path]:
        """The files in a global stage's working folder (what its reduce read and wrote)."""
        folder = self.stage_dir(name)
        return sorted(p for p in folder.rglob("*") if p.is_file() and not any(
            is_temporary(part) for part in p.relative_to(folder).parts))

    def reduced(self, seg: int) -> Path:
        return self.work / "done" / f"seg{seg}-reduce"

    @property
    def stats_dir(self) -> Path:
        return self.work / "stats"

    def unit_stats(self, seg: int, unit: int) -> Path:
        return self.stats_dir / f"seg{seg}-unit{unit:05d}.json"

    def intermediate(self, seg: int, unit: int) -> Path:
        return self.work / f"seg{seg}" / f"part-{unit:05d}.parquet"

    def stage_dir(self, name: str) -> Path:
        return self.work / "stages" / name

    @property
    def tokenizer_record(self) -> Path:
        return self.work / "tokenizer" / "training.json"

    # -- questions about a folder -------------------------------------------------------
    @staticmethod
    def run_state(folder: str | Path) -> str | None:
        """"finished" or "unfinished" for a corpuskit run folder, None for any other folder.

        A run folder is known by its marker, never by a `stats.json` that a user's folder may
        hold too; it is finished once `stats.json` is written (the last thing a run writes, and
        deleted when a run starts working in the folder again)."""
        folder = Path(folder)
        if not (folder / RUN_MARKER).is_file():
            return None
        return "finished" if (folder / "stats.json").is_file() else "unfinished"

    @staticmethod
    def is_output_name(name: str) -> bool:
        """Whether `name` is one of a run's files of kept documents (`part-00000.parquet`)."""
        return _PART.match(name) is not None

    def recorded(self) -> dict | None:
        """config.json as the run wrote it, or None: not a run folder (no marker), or no
        config.json, or one that is not a JSON object (damaged, or not corpuskit's)."""
        if not self.marker.is_file():
            return None
        try:
            record = json.loads(self.config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def fingerprint(self) -> str | None:
        """The fingerprint of the configuration that made this run, or None if it is not a run."""
        fingerprint = (self.recorded() or {}).get("fingerprint")
        return fingerprint if isinstance(fingerprint, str) else None

    @property
    def marker(self) -> Path:
        return self.root / RUN_MARKER

    def claim(self) -> None:
        """Create and mark the run folder, or refuse a folder that is someone else's."""
        claim_folder(self.root, RUN_MARKER, "run")

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the run folder's lock: a second run on the same folder is refused, not raced."""
        return folder_lock(self.root, "run")

    def report_names(self) -> set[str]:
        """The stage names of the configuration recorded in config.json: the only
        `reports/<stage>.json` this run can have written."""
        try:
            names = {str(s["name"]) for s in (self.recorded() or {})["config"]["stages"]}
        except (KeyError, TypeError):
            return set()
        return {n for n in names if STAGE_NAME.fullmatch(n)}  # never a path out of reports/

    def owns(self, rel: str) -> bool:
        """Whether `rel` (a posix path inside the folder) is a name this run gives its outputs."""
        return owned_name(rel, self.report_names())

    def check_no_links(self) -> None:
        """Refuse a run folder whose own folders are symbolic links: writing or deleting in
        them would reach files outside the run folder (a user's, with our names)."""
        folders = [self.rejected_dir, self.root / "reports", self.logs, self.shards, self.work] + [
            self.shards / s for s in _SPLITS]
        if self.work.is_dir() and not self.work.is_symlink():
            folders += sorted(p for p in self.work.rglob("*") if p.is_symlink())  # rglob does not follow links
        for folder in folders:
            if folder.is_symlink():
                raise RunError(f"{folder} is a symbolic link; corpuskit writes only into real folders inside "
                               "its run folder (remove the link, or choose another --output)")

    def remove_temporaries(self) -> None:
        """Delete killed writers' temporaries: any under `_work`, elsewhere only those of our own names."""
        remove_temporaries(self.work)
        reports = self.report_names()
        remove_temporaries(self.root, lambda rel: not rel.startswith("_work/") and owned_name(rel, reports))

    def forget_passes(self, first: int, stage_names: Iterable[str]) -> None:
        """Forget pass `first` and every later one, for a rerun whose stages changed from there:
        their completion markers, counters, intermediate documents and rejected files, and the
        working folders and reports of `stage_names` (the stages from the change on). Earlier
        passes stay as they are; the kept documents are rewritten by the last pass."""
        def later(p: Path) -> bool:
            m = re.match(r"seg(\d+)(-|\Z)", p.name)
            return m is not None and int(m[1]) >= first and not p.is_symlink()
        # markers, counters, rejected files (only names we give) and _work/segK intermediate folders
        listed = [p for d in (self.work / "done", self.stats_dir, self.rejected_dir, self.work) if d.is_dir()
                  for p in d.iterdir() if later(p)]
        for p in listed:
            if p.parent == self.work:
                if p.is_dir():
                    shutil.rmtree(p)
            elif p.is_file() and (p.parent != self.rejected_dir or _REJECTED.match(p.name)):
                p.unlink()
        for name in stage_names:
            if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):  # names from config.json: plain only
                shutil.rmtree(self.stage_dir(name), ignore_errors=True)
                self.report(name).unlink(missing_ok=True)

    def remove_outputs(self) -> None:
        """Remove what a run writes: only corpuskit's own names, never anything else in the folder."""
        if not self.marker.is_file():
            return  # not a corpuskit run folder: nothing here is ours to delete
        reports = self.report_names()  # before config.json goes, which records them
        for name in reports:
            self.report(name).unlink(missing_ok=True)
        shutil.rmtree(self.work, ignore_errors=True)  # `_work` is named and filled by corpuskit only
        _unlink_matching(self.root, _PART)
        _unlink_matching(self.rejected_dir, _REJECTED)
        self.run_log.unlink(missing_ok=True)
        for name in _TOP_FILES:  # config.json last: it names the reports
            (self.root / name).unlink(missing_ok=True)
        if (self.shards / SHARDS_MARKER).is_file():
            for split in _SPLITS:
                _unlink_matching(self.shards / split, SHARD_NAME)
                for name in _SPLIT_FILES:
                    (self.shards / split / name).unlink(missing_ok=True)
            for name in _SHARDS_TOP + (SHARDS_MARKER,):
                (self.shards / name).unlink(missing_ok=True)
        for folder in (self.shards / "train", self.shards / "validation", self.shards / "test", self.shards,
                       self.rejected_dir, self.root / "reports", self.logs):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: a user's file inside keeps its folder


SHARDS_MARKER = ".corpuskit-shards"


def _unit_name(unit: int | str) -> str:
    return unit if isinstance(unit, str) else f"{unit:05d}"
