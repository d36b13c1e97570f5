"""Options and helpers shared by the commands that read a corpus. Top-level imports: click only."""

from __future__ import annotations

import os
from pathlib import Path

import click

DEFAULT_WORKERS = os.cpu_count() or 1


def corpus_options(f):
    """Options shared by every command that reads a corpus."""
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary (for scripts).")(f)
    f = click.option("--force", is_flag=True, help="Redo every unit of work, ignoring completed ones.")(f)
    f = click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl"]), default=None,
                     help="Output document format (default parquet).")(f)
    f = click.option("--workers", "-w", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True,
                     help="Worker processes.")(f)
    return f


def execute(cfg, workers: int, force: bool, quiet: bool, executor: str = "local") -> None:
    from corpuskit.pipeline import PipelineError
    from corpuskit.runner import RunError, load_stats, run_pipeline, summary_table

    try:
        run_pipeline(cfg, workers=workers, force=force, quiet=quiet, executor=executor)
    except (RunError, PipelineError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if not quiet:
        summary = load_stats(cfg.output)
        click.echo(summary_table(summary))
        click.echo(f"{summary['documents_out']} of {summary['documents_in']} documents kept; output in {cfg.output}")


def stages_config(input_path: str, output: str, stages: list, fmt: str | None, config: str | None):
    """A pipeline config for a one-step command; `--config FILE` may replace stages and reader."""
    import yaml

    from corpuskit.pipeline import PipelineError, parse_pipeline

    raw: dict = {"input": input_path, "output": output, "stages": stages}
    where = "<command line>"
    if config:
        where = config
        extra = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
        if not isinstance(extra, dict):
            raise click.ClickException(f"{config}: expected a mapping with 'stages' and/or 'reader'")
        raw.update({k: v for k, v in extra.items() if k in ("stages", "reader")})
    if fmt:
        raw["format"] = fmt
    try:
        return parse_pipeline(raw, where)
    except PipelineError as err:
        raise click.ClickException(str(err)) from None
