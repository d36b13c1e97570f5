"""`corpuskit ablate`: train the same small model on each data variant and compare them."""

from __future__ import annotations

import click

from corpuskit.commands._common import DEFAULT_WORKERS, verbose_option


@click.command(name="ablate")
@click.argument("variants", nargs=-1, required=True)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="Folder for everything the ablation writes (new, empty, or an earlier ablation's).")
@click.option("--input", "input_path", type=click.Path(exists=True),
              help="The documents a pipeline variant runs on (overrides the pipeline's input).")
@click.option("--tokens", type=click.IntRange(min=1), default=2_000_000, show_default=True,
              help="Training tokens per run: the same number of optimizer steps for every variant.")
@click.option("--seeds", type=click.IntRange(min=1), default=2, show_default=True,
              help="Runs per variant (seeds 1..K): differences are judged against their spread.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False),
              help="Trainer config (default: the trainer's configs/default.yaml, as `make train`).")
@click.option("--vocab-size", type=click.IntRange(min=260), default=4096, show_default=True,
              help="Vocabulary of the tokenizer shared by every variant.")
@click.option("--tasks", default="quick", show_default=True,
              help="Task suite to score each checkpoint on (trainer eval --tasks); 'none' for held-out text only.")
@click.option("--task-limit", type=click.IntRange(min=0), default=0, show_default=True,
              help="Score only each task's first N items (0: all).")
@click.option("--heldout", multiple=True, metavar="NAME=FILE",
              help="Score on this text instead of the shipped books, web and textbook (repeatable).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True,
              help="Worker processes for the pipeline variants and the tokenizer.")
@click.option("--train-arg", "trainer_args", multiple=True, metavar="KEY=VALUE",
              help="A trainer config override for every run (model.n_layer=2, batch_size=32); repeatable.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where the pipeline variants' units of work run (corpuskit run --executor).")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Training processes per run (torchrun's launcher when more than 1); the token budget is the same.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@verbose_option
def command(variants, output, input_path, tokens, seeds, config, vocab_size, tasks, task_limit, heldout, workers,
            trainer_args, executor, nproc, quiet):
    """Did a data choice make a better model? Prepare each VARIANT, tokenize all with one tokenizer,
    train the same model with the same seeds and token budget on each, and score every run on the
    same held-out text (bits per byte: books, web, textbook) and the task suite.

    A VARIANT is a pipeline file (run on --input) or a folder or file of documents; NAME=PATH names
    it. The first is the baseline. Writes OUTPUT/ablation.json and OUTPUT/report.html; a rerun
    keeps every finished step.

    Example:

    \b
        corpuskit ablate clean=books/ junk=books-junk/ --output ablation/ --seeds 3
    """
    from corpuskit.ablation.report import sentence
    from corpuskit.ablation.run import AblationError, ablate

    pairs = {}
    for item in heldout:
        name, sep, path = item.partition("=")
        if not sep:
            raise AblationError(f"--heldout {item!r}: give NAME=FILE")
        pairs[name] = path
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    result = ablate(list(variants), output, input_path=input_path, tokens=tokens, seeds=seeds, config=config,
                    vocab_size=vocab_size, tasks=None if tasks == "none" else tasks, heldout=pairs or None,
                    workers=workers, trainer_args=tuple(trainer_args), task_limit=task_limit, executor=executor,
                    nproc=nproc, log=log)
    for v in result["variants"]:
        figures = ", ".join(f"{d} {b:.4f}" for d, b in v["heldout"].items())
        click.echo(f"{v['name']}: held-out bits per byte {figures}")
    for row in result["comparison"]:
        click.echo(sentence(row))
    click.echo(f"wrote {output}/ablation.json and {output}/report.html")
