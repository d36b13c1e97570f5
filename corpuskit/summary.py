"""A finished run's `stats.json`: read it, print it as a table, and say when nothing was kept."""

from __future__ import annotations

import json
from pathlib import Path

from corpuskit.io import is_url
from corpuskit.layout import RunError, RunPaths
from corpuskit.stats import StageStats, format_table

__all__ = ["load_stats", "nothing_kept", "summary_table"]


def load_stats(run_dir: str | Path) -> dict:
    """The merged stats of a finished run, as written to `stats.json` (for a URL: its working folder's)."""
    if is_url(run_dir):
        from corpuskit.publish import work_dir

        run_dir = work_dir(str(run_dir))
    path = RunPaths(Path(run_dir)).stats
    if not path.exists():
        raise RunError(f"no stats.json in {run_dir}: not a finished corpuskit run")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        summary = None
    if not isinstance(summary, dict) or not isinstance(summary.get("stages"), dict):
        raise RunError(f"{path} is damaged (not a run's stats); run the command that made it again to rewrite it")
    return summary


def nothing_kept(summary: dict) -> str | None:
    """The one-line warning for a run that kept no document, naming the drop reasons and their
    counts over all stages; None when it kept some."""
    if summary.get("documents_out"):
        return None
    reasons: dict[str, int] = {}
    for stage in summary.get("stages", {}).values():
        for key, n in stage.items():
            if key.startswith("dropped_") and n:
                reasons[key[len("dropped_"):]] = reasons.get(key[len("dropped_"):], 0) + n
    why = ", ".join(f"{r}={n}" for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"no document kept of {summary.get('documents_in', 0)} read" + (f" ({why})" if why else "")


def summary_table(summary: dict) -> str:
    return format_table({name: StageStats.from_dict(d) for name, d in summary["stages"].items()})
