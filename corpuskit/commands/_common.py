"""What the commands share: the group that reports corpuskit's errors, corpus options, running a pipeline.

Top-level imports: click, the standard library and `corpuskit.errors` (stdlib only).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from typing import Iterator

import click

from corpuskit.errors import CorpuskitError

DEFAULT_WORKERS = os.cpu_count() or 1
# A fork pool starts every worker at once: --workers 100000000 would fork until the machine stops.
MAX_WORKERS = max(1024, DEFAULT_WORKERS)
HELP = {"help_option_names": ["-h", "--help"]}  # on the root group; every command and group inherits it


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


def set_verbosity(verbose: int) -> None:
    """-v: corpuskit's log lines (MinHash clusters, ...) on stderr; -vv: every library's debug lines too."""
    if not verbose:
        return
    logger = logging.getLogger("corpuskit")
    for old in [h for h in logger.handlers if h.get_name() == "corpuskit-cli"]:
        logger.removeHandler(old)  # an earlier command in this process, maybe with another stderr
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("corpuskit-cli")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    if verbose > 1:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def set_progress(progress: bool | None) -> None:
    """--progress / --no-progress for this process and its workers (read by `corpuskit.progress`)."""
    if progress is not None:
        os.environ["CORPUSKIT_PROGRESS"] = "1" if progress else "0"


def verbose_option(f):
    return click.option("--verbose", "-v", count=True, expose_value=False, is_eager=True,
                        callback=lambda ctx, param, value: set_verbosity(value),
                        help="Log what the stages do (-vv: debug, every library).")(f)


def corpus_options(f):
    """Options shared by every command that reads a corpus and writes a run folder."""

    command = f

    @functools.wraps(command)
    def wrapper(*args, progress=None, **kwargs):
        set_progress(progress)
        return command(*args, **kwargs)

    f = verbose_option(wrapper)
    f = click.option("--progress/--no-progress", default=None,
                     help="Progress bars on stderr (default: only when stderr is a terminal).")(f)
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary (for scripts).")(f)
    f = click.option("--force", is_flag=True, help="Redo every unit of work, ignoring completed ones.")(f)
    f = click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl"]), default=None,
                     help="Output document format (default parquet; jsonl when OUTPUT is -).")(f)
    f = click.option("--workers", "-w", type=click.IntRange(1, MAX_WORKERS), default=DEFAULT_WORKERS, show_default=True,
                     help="Worker processes.")(f)
    return f


def execute(cfg, workers: int, force: bool, quiet: bool, executor: str = "local", to_stdout: bool = False) -> None:
    """Run a pipeline config, then print its per-stage summary unless `quiet`.

    `to_stdout`: OUTPUT was `-`: the kept documents go to stdout as JSON Lines, the summary to stderr.
    A run that keeps no document warns on standard error, naming the drop reasons, and exits
    with status 1 (its outputs stay, for a look at rejected/).
    """
    from corpuskit.runner import run_pipeline
    from corpuskit.summary import load_stats, nothing_kept, summary_table

    run_pipeline(cfg, workers=workers, force=force, quiet=quiet, executor=executor, temporary=to_stdout)
    if to_stdout:
        from corpuskit.stdio import copy_documents

        copy_documents(cfg.output)
    summary = load_stats(cfg.output)
    if not quiet:
        click.echo(summary_table(summary), err=to_stdout)
        if to_stdout:  # the run folder was temporary: its rejected/ and reports/ are gone with it
            click.echo(f"{summary['documents_out']} of {summary['documents_in']} documents kept; written to "
                       "standard output (rejected documents and reports are not kept with OUTPUT -)", err=True)
        else:
            click.echo(f"{summary['documents_out']} of {summary['documents_in']} documents kept; output in "
                       f"{cfg.output}")
    warning = nothing_kept(summary)
    if warning:
        where = "" if to_stdout else f"; the dropped documents are in {os.path.join(cfg.output, 'rejected')}"
        click.echo(f"warning: {warning}{where}", err=True)
        raise click.exceptions.Exit(1)


@contextlib.contextmanager
def streams(input_path: str | None, output: str | None, fmt: str | None) -> Iterator[tuple[str | None, str | None, str | None]]:
    """(input, output, format) for a run, with `-` as INPUT (JSON Lines on stdin) or OUTPUT (JSON Lines
    on stdout) replaced by temporary files that last as long as the command (corpuskit.stdio)."""
    from corpuskit.stdio import output_folder, stdin_as_file

    if output == "-" and fmt == "parquet":
        raise click.UsageError("OUTPUT - writes JSON Lines to standard output; drop --format parquet")
    with stdin_as_file(input_path) as inp, output_folder(output) as out:
        yield inp, out, "jsonl" if output == "-" else fmt
