"""`corpuskit report`: a run (and training runs) on one self-contained HTML page."""

from __future__ import annotations

import click


@click.command(name="report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Where to write the HTML file (default RUN_DIR/report.html).")
@click.option("--train", "train_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A trainer run folder (with metrics.jsonl) to overlay; repeat it to compare runs.")
def command(run_dir, output, train_dirs):
    """Write an HTML report of a finished run: funnel, examples of what each rule
    removed, distributions, shards, configuration; with --train, training curves.

    The file has no script and no link outside itself: it opens offline in any browser.
    What it shows was recorded during the run (docs/REPORT.md).

    Example:

    \b
        corpuskit report data/ --train runs/default --train runs/wide -o report.html
    """
    from corpuskit.report import write_report

    path = write_report(run_dir, output, list(train_dirs))
    click.echo(f"report: {path}")
