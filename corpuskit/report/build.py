"""`write_report`: a run folder (and trainer runs) to one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

from corpuskit.io import atomic_write_text
from corpuskit.layout import RunPaths
from corpuskit.report import sections
from corpuskit.report.load import load_run
from corpuskit.report.page import esc, page
from corpuskit.report.training import load_train_runs, training


def render_report(run_dir: str | Path, train_dirs: list[str | Path] = ()) -> str:
    """The report's HTML for the run in `run_dir`, with the trainer runs in `train_dirs` overlaid."""
    run = load_run(run_dir)
    runs = load_train_runs(list(train_dirs))
    name = run.config.get("config", {}).get("output") or str(run.root)
    subtitle = (f'run folder <span class="mono">{esc(run.root)}</span> · corpuskit {esc(run.version)} · '
                f'fingerprint <span class="mono">{esc((run.config.get("fingerprint") or "")[:16])}</span>')
    return page(f"corpuskit report: {name}", subtitle, [
        ("summary", "Summary", sections.headline(run)),
        ("funnel", "Funnel: where the documents went", sections.funnel(run)),
        ("examples", "Examples of what each rule removed", sections.examples(run)),
        ("distributions", "Distributions", sections.distributions(run)),
        ("decontamination", "Decontamination: evaluation items found", sections.decontamination(run)),
        ("shards", "Shards", sections.shards(run)),
        ("training", "Training", training(runs)),
        ("config", "Configuration and timings", sections.configuration(run)),
    ])


def write_report(run_dir: str | Path, output: str | Path | None = None,
                 train_dirs: list[str | Path] = ()) -> Path:
    """Write the report (default RUN_DIR/report.html) atomically; returns its path."""
    out = Path(output) if output else RunPaths(Path(run_dir)).report_html
    html = render_report(run_dir, train_dirs)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, html)
    return out
