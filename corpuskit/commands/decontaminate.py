"""`corpuskit decontaminate`: find benchmark items in a corpus, and drop or cut them."""

from __future__ import annotations

import os

import click

from corpuskit.commands._common import corpus_options, execute, streams
from corpuskit.schema import signature_types
from corpuskit.stages.decontaminate.evalsets import parse_entry
from corpuskit.stages.decontaminate.stage import Decontaminate

# The options' defaults are the stage's own parameter defaults.
_DEFAULT = {name: p.default for name, p in signature_types(Decontaminate).items()}


def _absolute(entries: tuple[str, ...]) -> list[str]:
    """PATH and NAME=PATH with PATH made absolute: the run's workers (and Ray tasks) may start elsewhere."""
    out = []
    for entry in entries:
        name, path = parse_entry(entry)
        out.append(f"{name}={os.path.abspath(path)}" if name else os.path.abspath(path))
    return out


@click.command(name="decontaminate")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, allow_dash=True))
@click.argument("output", type=click.Path(file_okay=False, allow_dash=True))
@click.option("--eval", "evals", multiple=True, required=True, metavar="[NAME=]PATH",
              help="An eval set: JSONL/JSON/Parquet/text file, saved HF dataset, or a folder of them; repeatable.")
@click.option("--field", "fields", multiple=True, help="Row key holding item text (default: every string); repeatable.")
@click.option("--action", type=click.Choice(["drop", "cut"]), default=_DEFAULT["action"], show_default=True,
              help="Drop a contaminated document, or cut the matched text (plus a margin) out of it.")
@click.option("--report-only", is_flag=True, help="Find and count only; every document is kept unchanged.")
@click.option("--ngram", type=click.IntRange(1), default=_DEFAULT["ngram"], show_default=True,
              help="This many consecutive words of an item found in a document is a match.")
@corpus_options
def command(input_path, output, evals, fields, action, report_only, ngram, workers, fmt, force, quiet):
    """Find evaluation items in a corpus; drop (reason `contaminated`) or cut them.

    Text is compared after NFKC, case folding and punctuation removal, by word
    n-grams, so an item with changed spacing, case, punctuation or a few words
    is still found. OUTPUT/reports/decontaminate.json lists, per benchmark, the
    items found and where. An eval file that is missing or unreadable stops the
    command before any work.

    Example:

    \b
        corpuskit decontaminate cleaned/ decont/ --eval evals/ --eval gsm8k=gsm8k_test.jsonl
        corpuskit decontaminate cleaned/ audit/ --eval evals/ --report-only
    """
    from corpuskit.presets import command_pipeline

    params = {"eval": _absolute(evals), "fields": list(fields) or None, "action": action,
              "report_only": report_only, "ngram": ngram}
    if ngram < _DEFAULT["probe"]:  # a shorter match than the indexed n-grams: index n-grams that short
        params["probe"] = ngram
    Decontaminate(**params)  # reads every eval set now: a bad one is a one-line error naming it
    with streams(input_path, output, fmt) as (inp, out, fmt):
        execute(command_pipeline(inp, out, [{"decontaminate": params}], fmt), workers, force, quiet,
                to_stdout=output == "-")
