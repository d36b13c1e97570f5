"""`corpuskit quality`: train a quality model, and score a corpus with one, offline."""

from __future__ import annotations

import click

from corpuskit.commands._common import CorpuskitGroup, corpus_options, execute, streams


@click.group(name="quality", cls=CorpuskitGroup)
def command():
    """Train a quality classifier on labelled pages, and score a corpus with it.

    The `quality` pipeline stage keeps the best-scoring documents; these
    commands train a model for it and look at the scores.

    Example:

    \b
        corpuskit quality train pages.jsonl -o my-model/
    """


@command.command()
@click.argument("inputs", nargs=-1, type=click.Path(exists=True))
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="The model folder to write.")
@click.option("--positive", multiple=True, type=click.Path(exists=True),
              help="An input whose documents are all good (label 1); repeatable.")
@click.option("--negative", multiple=True, type=click.Path(exists=True),
              help="An input whose documents are all low quality (label 0); repeatable.")
@click.option("--label-field", default="label", show_default=True, help="Field holding the 0/1 label of INPUTS.")
@click.option("--score-field", default=None, help="A numeric field of INPUTS to label by, with --min-score.")
@click.option("--min-score", type=float, default=None, help="With --score-field: at least this is good.")
@click.option("--text-field", default="text", show_default=True, help="Field holding the text.")
@click.option("--dev", "dev_path", type=click.Path(exists=True), default=None,
              help="Labelled documents to measure on (and choose the threshold on); default: a seeded split.")
@click.option("--dev-fraction", type=click.FloatRange(0, 0.9), default=0.1, show_default=True,
              help="Without --dev: this share of the documents (by a hash of id and seed) is held out.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the dev split.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="The model's default threshold (default: the best balanced accuracy on dev).")
@click.option("--steps", type=click.IntRange(1, 100_000), default=None, help="Training steps (default 200).")
@click.option("--buckets", type=click.IntRange(16, 1 << 24), default=None, help="Hashed n-gram slots (default 2^18).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal).")
def train(inputs, output, positive, negative, label_field, score_field, min_score, text_field, dev_path,
          dev_fraction, seed, threshold, steps, buckets, progress):
    """Train a model folder (weights.npz + card.json) from labelled JSON Lines or Parquet.

    Labels come from a `label` field (0/1), from --positive / --negative inputs,
    or from --score-field and --min-score (FineWeb-Edu's 0-5 scores). Prints
    ROC-AUC, precision and recall on the dev documents.

    Example:

    \b
        corpuskit quality train --positive wiki.jsonl --negative crawl.jsonl -o my-model/
    """
    from corpuskit.commands._common import set_progress
    from corpuskit.stages.quality.train import train_command

    set_progress(progress)
    if (score_field is None) != (min_score is None):
        raise click.UsageError("--score-field and --min-score go together")
    if not (inputs or positive or negative):
        raise click.UsageError("give labelled INPUTS, or --positive and --negative inputs")
    card = train_command(list(inputs), list(positive), list(negative), output, label_field=score_field or label_field,
                         min_score=min_score, text_field=text_field, dev_path=dev_path, dev_fraction=dev_fraction,
                         seed=seed, threshold=threshold, steps=steps, buckets=buckets, echo=click.echo)
    m = card.get("dev")
    if m:
        click.echo(f"dev: {m['n']} documents, {m['positives']} good")
        click.echo(f"ROC-AUC    {m['roc_auc']:.4f}")
        click.echo(f"precision  {m['precision']:.4f}  (threshold {m['threshold']})")
        click.echo(f"recall     {m['recall']:.4f}")
    click.echo(f"model in {output}")


@command.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, allow_dash=True))
@click.argument("output", type=click.Path(file_okay=False, allow_dash=True))
@click.option("--model", default="", help="A model folder (default: the shipped model).")
@corpus_options
def score(input_path, output, model, workers, fmt, force, quiet):
    """Score every document (metadata.quality_score, higher is better); drop nothing.

    Writes a run folder; reports/quality.json has the score histogram and
    example pages per score band, to choose a threshold by looking.

    Example:

    \b
        corpuskit quality score cleaned/ scored/
    """
    from corpuskit.presets import command_pipeline

    with streams(input_path, output, fmt) as (inp, out, fmt):
        execute(command_pipeline(inp, out, [{"quality": {"model": model, "annotate": True}}], fmt), workers, force,
                quiet, to_stdout=output == "-")
