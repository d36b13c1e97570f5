"""The run folder's layout: every path under OUTPUT comes from `RunPaths`.

    OUTPUT/config.json                 the resolved configuration, its fingerprint and the input units
    OUTPUT/part-00000.parquet          kept documents, one file per unit (or .jsonl)
    OUTPUT/rejected/                   dropped documents with `reason`, `stage`, `detail`, `duplicate_of`
    OUTPUT/stats.json                  per-stage counters merged from the per-unit files; written last
    OUTPUT/reports/<stage>.json        what a global stage reports (de-duplication clusters)
    OUTPUT/tokenizer.json              the tokenizer (trained, or a copy of `tokenizer.file`)
    OUTPUT/shards/                     the shard directory for trainers (docs/SHARDS.md)
    OUTPUT/_work/                      per-unit counters, completion markers, intermediate
                                       documents and the global stages' working folders

Nothing else in corpuskit spells these names: stages are handed their folders, readers
ask `RunPaths.is_finished_run` whether a folder is a run, commands ask for its fingerprint.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

OUTPUT_GLOB = "part-*"  # a run's kept documents, in unit order


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

    def output(self, unit: int) -> Path:
        return self.root / f"part-{unit:05d}.{self.fmt}"

    @property
    def rejected_dir(self) -> Path:
        return self.root / "rejected"

    def rejected(self, seg: int, unit: int) -> Path:
        return self.rejected_dir / f"seg{seg}-part-{unit:05d}.{self.fmt}"

    def report(self, stage_name: str) -> Path:
        return self.root / "reports" / f"{stage_name}.json"

    @property
    def tokenizer(self) -> Path:
        return self.root / "tokenizer.json"

    @property
    def shards(self) -> Path:
        return self.root / "shards"

    # -- the runner's own files ---------------------------------------------------------
    @property
    def work(self) -> Path:
        return self.root / "_work"

    def done(self, seg: int, unit: int) -> Path:
        return self.work / "done" / f"seg{seg}-unit{unit:05d}"

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
    def is_finished_run(folder: str | Path) -> bool:
        """Whether `folder` holds a finished corpuskit run (read its documents, not its stats)."""
        folder = Path(folder)
        return (folder / "stats.json").is_file() and any(folder.glob(OUTPUT_GLOB))

    def fingerprint(self) -> str | None:
        """The fingerprint of the configuration that made this run, or None if it is not a run."""
        if not self.config.is_file():
            return None
        return json.loads(self.config.read_text()).get("fingerprint")

    def remove_outputs(self) -> None:
        """Remove what a run writes (never anything else the user keeps in the folder)."""
        for folder in (self.work, self.rejected_dir, self.shards, self.root / "reports"):
            shutil.rmtree(folder, ignore_errors=True)
        for pattern in (OUTPUT_GLOB, "stats.json", "config.json", "tokenizer.json", ".part-*"):
            for p in self.root.glob(pattern):
                p.unlink()
