"""What the commands share: the group that reports corpuskit's errors, corpus options, running a pipeline.

Top-level imports: click, the standard library and `corpuskit.errors` (stdlib only).
"""

from __future__ import annotations

import os

import click

from corpuskit.errors import CorpuskitError

DEFAULT_WORKERS = os.cpu_count() or 1


class CorpuskitGroup(click.Group):
    """A command group that prints a `CorpuskitError` (a user's mistake, a condition of their
    data) as one line, `Error: ...`, exit status 1. Any other exception is a bug and keeps
    its traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CorpuskitError as err:
            raise click.ClickException(str(err)) from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted: completed work is kept; run the same command again to resume", err=True)
            ctx.exit(130)


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
    """Run a pipeline config, then print its per-stage summary unless `quiet`."""
    from corpuskit.runner import load_stats, run_pipeline, summary_table

    run_pipeline(cfg, workers=workers, force=force, quiet=quiet, executor=executor)
    if not quiet:
        summary = load_stats(cfg.output)
        click.echo(summary_table(summary))
        click.echo(f"{summary['documents_out']} of {summary['documents_in']} documents kept; output in {cfg.output}")
