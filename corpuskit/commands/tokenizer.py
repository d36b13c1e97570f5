"""`corpuskit tokenizer train`: a byte-level BPE tokenizer from a corpus's train split."""

from __future__ import annotations

import os

import click


@click.group(name="tokenizer")
def command():
    """Train byte-level BPE tokenizers.

    Example:

        corpuskit tokenizer train data/ tok/ --vocab-size 8192
    """


@command.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--vocab-size", type=click.IntRange(min=260), default=8192, show_default=True,
              help="Tokens in the vocabulary, including the 256 bytes and the special tokens.")
@click.option("--min-frequency", type=click.IntRange(min=1), default=2, show_default=True,
              help="A pair must occur this often to be merged.")
@click.option("--train-bytes", type=click.IntRange(min=1), default=256_000_000, show_default=True,
              help="Train on at most this many bytes of the train split (a deterministic sample).")
@click.option("--validation", type=float, default=0.05, show_default=True,
              help="Fraction held out for validation (never trained on); use the same value for `corpuskit shard`.")
@click.option("--test", type=float, default=0.0, show_default=True, help="Fraction held out for a test split.")
@click.option("--bos-token", default=None, help="Also reserve a BOS special token, for example '<|bos|>'.")
@click.option("--pad-token", default=None, help="Also reserve a PAD special token, for example '<|pad|>'.")
@click.option("--glob", default="**/*", show_default=True, help="Which files of a folder to read.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="1 = single-threaded; more = the tokenizers thread pool. The result is the same.")
@click.option("--quiet", "-q", is_flag=True, help="No summary line.")
def train(input_path, out_dir, vocab_size, min_frequency, train_bytes, validation, test, bos_token, pad_token,
          glob, workers, quiet):
    """Train a tokenizer on the train split of INPUT; writes OUT_DIR/tokenizer.json.

    INPUT is a run's output folder, or a file or folder the readers accept. The
    split is by a hash of each document id, so the validation documents that
    `corpuskit shard` holds out were never seen here. `<|endoftext|>` is id 0.
    A rerun with the same input and options is skipped.

    Example:

        corpuskit tokenizer train data/ tok/ --vocab-size 8192
    """
    from pathlib import Path

    from corpuskit.readers import ReaderConfig
    from corpuskit.tokenize.bpe import TokenizerConfig
    from corpuskit.tokenize.inputs import InputDocuments
    from corpuskit.tokenize.split import SplitConfig
    from corpuskit.tokenize.steps import tokenizer_step

    try:
        cfg = TokenizerConfig(vocab_size=vocab_size, min_frequency=min_frequency, train_bytes=train_bytes,
                              bos_token=bos_token, pad_token=pad_token)
        split = SplitConfig(validation, test)
        docs = InputDocuments(input_path, ReaderConfig(glob=glob))
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    out = Path(out_dir)
    tokenizer_step(docs, out / "tokenizer.json", cfg, split, workers=workers,
                   record_file=out / "tokenizer.training.json", log=(lambda m: None) if quiet else click.echo)
