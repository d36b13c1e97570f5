"""What a report shows, read from a finished run folder (never recomputed from the corpus).

Everything comes from files the run wrote: `stats.json` (counters, histograms, rejected
examples), `config.json`, `reports/<stage>.json`, the shard manifest and the tokenizer's
training record. The one look-up into documents is for the few near-duplicate pairs
shown: the kept side's text, found by id in the run's own part files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from corpuskit.errors import CorpuskitError
from corpuskit.layout import OUTPUT_GLOB, RUN_MARKER, RunPaths
from corpuskit.stats import StageStats


@dataclass
class RunData:
    root: Path
    summary: dict  # stats.json as written
    stages: dict[str, StageStats]  # counters with their histograms and examples, in pipeline order
    config: dict  # config.json: fingerprint, resolved config, units
    reports: dict[str, dict] = field(default_factory=dict)  # stage name -> its reports/<stage>.json
    manifest: dict | None = None
    tokenizer: dict | None = None  # the tokenizer's training record
    kept_texts: dict[str, str] = field(default_factory=dict)  # id -> text, for near-duplicate pairs
    version: str = ""

    @property
    def stage_types(self) -> dict[str, str]:
        return {s["name"]: s["type"] for s in self.config.get("config", {}).get("stages", [])}


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CorpuskitError(f"{path}: cannot read it as JSON: {err}") from None


def load_run(run_dir: str | Path, pair_lookups: int = 5) -> RunData:
    """Read a finished run folder; CorpuskitError if it is not one."""
    import corpuskit

    root = Path(run_dir)
    state = RunPaths.run_state(root)  # its marker, not a stats.json any folder may hold: the report goes there
    if state != "finished":
        why = "no stats.json yet: run the command that made it again" if state else f"no {RUN_MARKER}: not a run folder"
        raise CorpuskitError(f"{root} is not a finished corpuskit run ({why})")
    cfg = _read_json(RunPaths(root).config) or {}
    paths = RunPaths(root, cfg.get("config", {}).get("format", "parquet"))
    summary = _read_json(paths.stats)
    if summary is None:
        raise CorpuskitError(f"no stats.json in {root}: not a finished corpuskit run")
    profile = summary.get("profile", {})
    stages = {}
    for name, d in summary.get("stages", {}).items():
        stages[name] = StageStats.from_dict({**d, "profile": profile.get(name)})
    run = RunData(root, summary, stages, cfg, version=corpuskit.__version__)
    for name in run.stage_types:
        report = _read_json(paths.report(name))
        if report is not None:
            run.reports[name] = report
    run.manifest = _read_json(paths.shards_manifest)
    run.tokenizer = _read_json(paths.tokenizer_record)
    wanted = {e["duplicate_of"] for s in stages.values() for r, box in s.examples.items()
              if "duplicate" in r for e in box.items if e.get("duplicate_of")}
    if wanted and pair_lookups:
        run.kept_texts = find_texts(paths, sorted(wanted)[: pair_lookups * 4])
    return run


def find_texts(paths: RunPaths, ids: list[str], chars: int = 600) -> dict[str, str]:
    """The texts of a few documents by id, from the run's kept and rejected files (id column first)."""
    want, found = set(ids), {}
    files = sorted(paths.root.glob(OUTPUT_GLOB)) + sorted(paths.rejected_dir.glob("*"))
    for path in files:
        if not want:
            break
        for doc_id, text in _scan(path, want):
            found[doc_id] = text[:chars]
            want.discard(doc_id)
    return found


def _scan(path: Path, want: set[str]):
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        for g in range(f.num_row_groups):
            ids = f.read_row_group(g, columns=["id"]).column("id")
            mask = pc.is_in(ids, value_set=pa.array(sorted(want), type=ids.type))
            if not pc.any(mask).as_py():
                continue
            table = f.read_row_group(g, columns=["id", "text"]).filter(mask)
            yield from zip(table.column("id").to_pylist(), table.column("text").to_pylist())
    elif path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row.get("id") in want:
                    yield row["id"], row.get("text", "")
