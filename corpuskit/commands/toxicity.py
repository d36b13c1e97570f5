"""`corpuskit toxicity`: score, filter and evaluate toxicity, offline."""

from __future__ import annotations

import click

from corpuskit.commands._common import CorpuskitGroup, corpus_options, execute, streams
from corpuskit.schema import signature_types
from corpuskit.stages.toxicity.stage import ToxicityFilter  # stdlib-only until a scorer is loaded

# The options' defaults are the stage's own parameter defaults.
_DEFAULT = {name: p.default for name, p in signature_types(ToxicityFilter).items()}
# Restated from corpuskit.stages.toxicity.scorers.SCORERS, which imports numpy; the stage checks it again.
_SCORERS = ("classifier", "ensemble", "lexicon", "embedding", "cascade", "hf")


def scorer_options(f):
    """Options shared by every toxicity command: which scorer, on what units, aggregated how."""
    f = click.option("--aggregate", type=click.Choice(["char_fraction", "fraction", "max"]), default=None,
                     help="Document score: share of characters / units in toxic units, or the highest unit score "
                     f"(score and filter: {_DEFAULT['aggregate']}, as the pipeline stage; eval: max).")(f)
    f = click.option("--unit", type=click.Choice(["sentence", "line"]), default=_DEFAULT["unit"], show_default=True,
                     help="What gets one score.")(f)
    f = click.option("--model", default=_DEFAULT["model"], help="hf: folder of a saved text-classification model; "
                     "classifier: another weights .npz.")(f)
    f = click.option("--scorer", type=click.Choice(_SCORERS), default=_DEFAULT["scorer"], show_default=True,
                     help="Shipped n-gram classifier and word list (ensemble), the classifier alone, the word list "
                     "alone, MiniLM embedding, classifier then embedding (cascade), or a local HF model.")(f)
    return f


def _describe(aggregate: str, threshold: float) -> str:
    """One line naming the document score in use, for both `score` and `filter`."""
    from corpuskit.stages.toxicity.aggregate import describe

    return f"document score = {aggregate}, {describe(aggregate, threshold)} (--aggregate to change it)"


def _label_set(ctx, param, value: str) -> set[str]:
    return {p.strip() for p in value.split(",") if p.strip()}


@click.group(name="toxicity", cls=CorpuskitGroup)
def command():
    """Score, filter and evaluate toxic text with offline scorers.

    Sentences (or lines) are scored, then aggregated per document, so a novel
    with a curse in it is kept while a page of abuse is dropped.

    Example:

    \b
        corpuskit toxicity filter cleaned/ filtered/ --action drop
    """


@command.command()
@click.argument("input_path", metavar="INPUT")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=False), default="-",
              metavar="FILE", help="Write here, not to stdout.")
@click.option("--text-field", default="text", show_default=True, help="JSON key or column holding the text.")
@scorer_options
def score(input_path, output, text_field, scorer, model, unit, aggregate):
    """Print {"id": ..., "score": ...} per document; higher is more toxic, in [0, 1].

    INPUT is a file or folder the readers accept, or - for JSON Lines on standard
    input. The score is the document aggregate that `toxicity filter` and the
    pipeline stage compare with their document threshold (default char_fraction:
    the share of characters in units scoring at least 0.8; --aggregate max for the
    highest unit score). Standard error names the aggregate, and reports the
    records that cannot be read.

    Example:

    \b
        corpuskit toxicity score comments.jsonl -o scores.jsonl
    """
    import json

    from corpuskit.stages.toxicity.score import score_input

    aggregate = aggregate or _DEFAULT["aggregate"]  # the filter's: a score here is the number it compares
    records = score_input(input_path, text_field, scorer=scorer, model=model, unit=unit, aggregate=aggregate)
    click.echo(f"toxicity score: {_describe(aggregate, _DEFAULT['threshold'])}", err=True)
    for record in records:
        output.write(json.dumps(record, ensure_ascii=False) + "\n")


@command.command(name="filter")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, allow_dash=True))
@click.argument("output", type=click.Path(file_okay=False, allow_dash=True))
@click.option("--threshold", type=click.FloatRange(0, 1), default=_DEFAULT["threshold"], show_default=True,
              help="A unit scoring at least this is toxic.")
@click.option("--doc-threshold", type=click.FloatRange(0, 1), default=_DEFAULT["doc_threshold"], show_default=True,
              help="drop: a document whose aggregate is at least this is dropped.")
@click.option("--action", type=click.Choice(["drop", "redact", "annotate"]), default=_DEFAULT["action"],
              show_default=True, help="Drop toxic documents, remove toxic units, or only record scores in metadata.")
@click.option("--cascade-cut", type=click.FloatRange(0, 1), default=_DEFAULT["cascade_cut"], show_default=True,
              help="cascade: units the classifier scores at least this also go to the embedding scorer.")
@scorer_options
@corpus_options
def filter_(input_path, output, threshold, doc_threshold, action, cascade_cut, scorer, model, unit, aggregate,
            workers, fmt, force, quiet):
    """Drop (reason `toxic`), redact or annotate toxic documents, through the runner.

    Kept documents carry metadata["toxicity"] with the score and unit counts;
    dropped ones go to OUTPUT/rejected/ with reason `toxic`.

    Example:

    \b
        corpuskit toxicity filter cleaned/ filtered/ --threshold 0.5 --action redact
    """
    from corpuskit.presets import command_pipeline

    aggregate = aggregate or _DEFAULT["aggregate"]
    params = {"scorer": scorer, "model": model, "unit": unit, "threshold": threshold,
              "aggregate": aggregate, "doc_threshold": doc_threshold, "action": action,
              "cascade_cut": cascade_cut}
    if not quiet and action == "drop":
        click.echo(f"toxicity filter: drops a document whose score >= {doc_threshold}; "
                   f"{_describe(aggregate, threshold)}", err=True)
    with streams(input_path, output, fmt) as (inp, out, fmt):
        execute(command_pipeline(inp, out, [{"toxicity": params}], fmt), workers, force, quiet, to_stdout=output == "-")


@command.command(name="eval")
@click.argument("labelled", metavar="LABELLED.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--text-column", required=True, help="Column holding the text.")
@click.option("--label-column", required=True, help="Column holding the label.")
@click.option("--positive", default="1", show_default=True, callback=_label_set,
              help="Comma-separated label values that count as toxic (Davidson's class: 0,1).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=_DEFAULT["threshold"], show_default=True,
              help="Score at or above which a text counts as predicted toxic.")
@click.option("--split", type=click.Choice(["all", "train", "test"]), default="all", show_default=True,
              help="test: only the texts the shipped classifier was not trained on (its stable hash split).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@scorer_options
def eval_(labelled, text_column, label_column, positive, threshold, split, as_json, scorer, model, unit, aggregate):
    """Print ROC-AUC, precision, recall and F1 of a scorer on a labelled CSV.

    Each text is scored as a document (default aggregate: the highest unit score).

    Example:

    \b
        corpuskit toxicity eval davidson.csv --text-column tweet --label-column class --positive 0,1 --split test
    """
    import json

    from corpuskit.stages.toxicity.evaluate import evaluate_labelled

    result = evaluate_labelled(labelled, text_column, label_column, positive, threshold, split,
                               scorer=scorer, model=model, unit=unit, aggregate=aggregate)
    m = result.metrics
    if as_json:
        click.echo(json.dumps(m))
        return
    click.echo(f"{m['n']} texts, {m['positives']} toxic; scorer {scorer}, aggregate {result.aggregate}")
    click.echo(f"ROC-AUC    {m['roc_auc']:.4f}")
    click.echo(f"precision  {m['precision']:.4f}  (threshold {threshold})")
    click.echo(f"recall     {m['recall']:.4f}")
    click.echo(f"F1         {m['f1']:.4f}")
