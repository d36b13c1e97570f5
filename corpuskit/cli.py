"""The `corpuskit` command: thin wrappers over library functions."""

from __future__ import annotations

import os

import click

from corpuskit.commands._common import HELP, CorpuskitGroup, corpus_options, execute, streams, verbose_option
from corpuskit.io import is_url


@click.group(cls=CorpuskitGroup, context_settings=HELP)
@click.version_option(package_name="corpuskit")
@verbose_option
def cli():
    """corpuskit: turn raw text into training shards for a language model.

    INPUT may be - for JSON Lines on standard input, and OUTPUT - for the kept
    documents as JSON Lines on standard output (the summary goes to standard error).

    Example:

    \b
        corpuskit run pipelines/default.yaml --output data/
    """


@cli.command()
@click.argument("pipeline", type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "input_path", type=click.Path(exists=True, allow_dash=True),
              help="Override the pipeline's input (- for JSON Lines on stdin).")
@click.option("--output", "-o", type=click.Path(file_okay=False, allow_dash=True),
              help="Override the pipeline's output folder (- for the kept documents on stdout).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where units of work run.")
@click.option("--address", help="Join this Ray cluster (implies --executor ray; default: RAY_ADDRESS, or a local Ray).")
@click.option("--glob", help="Override the reader's glob: which files of the input folder to read (e.g. '**/*').")
@click.option("--reader", "reader_opts", multiple=True, metavar="KEY=VALUE",
              help="Override one reader setting (text_field=content, text_mode=file, ...); repeatable.")
@corpus_options
def run(pipeline, input_path, output, executor, address, glob, reader_opts, workers, fmt, force, quiet):
    """Run a pipeline defined in YAML.

    Everything the run writes goes under its output folder. A rerun skips
    completed units of work; --force redoes them; a rerun that changed only
    the tokenizer: or shards: settings keeps the documents and redoes those steps.
    Relative paths inside the pipeline file are relative to its folder; those on
    the command line to the working directory.

    Example:

    \b
        corpuskit run pipelines/default.yaml --output data/ --workers 2
        corpuskit run pipelines/default.yaml --input pages/ --glob '**/*.jsonl' --output out/
        corpuskit run pipelines/default.yaml --output /shared/data --address auto
    """
    from corpuskit.pipeline import load_pipeline

    if address:  # the Ray executor joins the cluster RAY_ADDRESS names
        os.environ["RAY_ADDRESS"], executor = address, "ray"
    reader = dict(_key_value(opt) for opt in reader_opts)
    if glob is not None:
        reader["glob"] = glob

    with streams(input_path, output, fmt) as (inp, out, fmt):
        execute(load_pipeline(pipeline, {"input": inp, "output": out, "format": fmt, "reader": reader or None}),
                workers, force, quiet, executor, to_stdout=output == "-")


def _key_value(option: str) -> tuple[str, object]:
    """--reader KEY=VALUE, the value read as YAML (so 2000 is a number and true a boolean)."""
    import yaml

    key, sep, value = option.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{option!r}: expected KEY=VALUE", param_hint="--reader")
    try:
        parsed = yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed if isinstance(parsed, (str, int, float, bool)) else value


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, allow_dash=True))
@click.argument("output", type=click.Path(file_okay=False, allow_dash=True))
@click.option("--config", "-c", type=click.Path(exists=True, dir_okay=False),
              help="YAML file whose 'stages' (and 'reader') replace the default cleaning stages.")
@corpus_options
def clean(input_path, output, config, workers, fmt, force, quiet):
    """Normalize text and drop low-quality documents.

    INPUT is a file or folder of .txt/.jsonl/.parquet/.csv/.html/.warc/.wet (optionally
    .gz/.zst), or - for JSON Lines on stdin; OUTPUT - writes the kept documents to stdout.
    Kept documents go to OUTPUT/part-*.parquet, dropped ones to OUTPUT/rejected/
    with their reason, counters to OUTPUT/stats.json. The stages are those of
    pipelines/web.yaml for record files (.jsonl/.parquet/.csv: web pages),
    pipelines/clean.yaml for text files (books), or of --config FILE.

    Example:

    \b
        corpuskit clean raw/ cleaned/ --workers 4
        zcat pages.jsonl.gz | corpuskit clean - - > cleaned.jsonl
    """
    from corpuskit.presets import clean_preset_reason, preset_pipeline

    with streams(input_path, output, fmt) as (inp, out, fmt):
        preset, why = clean_preset_reason(inp)
        cfg = preset_pipeline(preset, inp, out, fmt, config_file=config)
        if not quiet:  # which of the two lists runs depends on the input: say which, and why
            what = (f"{config} (its stages and reader replace pipelines/{preset}.yaml's)" if config
                    else f"pipelines/{preset}.yaml: {why}")
            click.echo(f"clean: stages of {what}", err=True)
        execute(cfg, workers, force, quiet, to_stdout=output == "-")


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, allow_dash=True))
@click.argument("output", type=click.Path(file_okay=False, allow_dash=True))
@click.option("--exact-only", is_flag=True, help="Only exact duplicates (normalized-text hash).")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Jaccard similarity for near-duplicates; bands and rows are derived from it "
                   "(default: 14 bands x 8 rows, about 0.72).")
@click.option("--ngram", type=click.IntRange(min=1), default=None, help="Words per shingle (default 5).")
@click.option("--num-perm", type=click.IntRange(min=1), default=None, help="MinHash permutations (default 112).")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), default=None,
              help="Persistent index folder (or s3://... prefix): remove duplicates of documents indexed by "
                   "earlier runs, then add this run's kept documents to it.")
@click.option("--memory", default=None, metavar="SIZE",
              help="The most any one process of the near-duplicate reduce may hold, e.g. 1GB (default 2GB); "
                   "spills to disk to stay under it, and says so before it starts when it cannot.")
@corpus_options
def dedup(input_path, output, exact_only, threshold, ngram, num_perm, index_dir, memory, workers, fmt, force, quiet):
    """Remove exact and near-duplicate documents, keeping the first in input order.

    Exact duplicates (same normalized text) go first, then near duplicates by
    MinHash LSH over word 5-grams. Removed documents go to OUTPUT/rejected/ with
    reason exact_duplicate or minhash_duplicate and duplicate_of naming the kept
    document; OUTPUT/reports/minhash_dedup.json counts the clusters and shows examples.
    The stages are those of pipelines/dedup.yaml, changed by the options.

    Example:

    \b
        corpuskit dedup cleaned/ deduped/ --index dedup-index/ --workers 4
    """
    from corpuskit.presets import preset_pipeline

    if exact_only and (index_dir or threshold or ngram or num_perm or memory):
        raise click.UsageError("--threshold, --ngram, --num-perm, --index and --memory apply to near-duplicate "
                               "removal; drop them or --exact-only")
    if index_dir and not is_url(index_dir):
        index_dir = os.path.abspath(index_dir)
    minhash = {"threshold": threshold, "ngram": ngram, "num_perm": num_perm, "index_dir": index_dir,
               "memory": memory}
    with streams(input_path, output, fmt) as (inp, out, fmt):
        cfg = preset_pipeline("dedup", inp, out, fmt, stage_params={"minhash_dedup": minhash},
                              skip=["minhash_dedup"] if exact_only else [])
        execute(cfg, workers, force, quiet, to_stdout=output == "-")


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print stats.json as it is.")
def stats(run_dir, as_json):
    """Print the per-stage summary of a finished run.

    Example:

    \b
        corpuskit stats data/
    """
    import json

    from corpuskit.summary import load_stats, summary_table

    summary = load_stats(run_dir)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(summary_table(summary))
    click.echo(f"{summary['documents_out']} of {summary['documents_in']} documents kept in {summary['units']} units")


def _add_command_modules() -> None:
    import importlib
    import pkgutil

    import corpuskit.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue  # shared helpers, not commands
        cli.add_command(importlib.import_module(f"corpuskit.commands.{info.name}").command)


_add_command_modules()


def main() -> None:
    cli(prog_name="corpuskit")


if __name__ == "__main__":
    main()
