"""`corpuskit tokenizer train`: a byte-level BPE tokenizer from a corpus's train split."""

from __future__ import annotations

import os

import click

from corpuskit.commands._common import CorpuskitGroup, streams, verbose_option
from corpuskit.schema import field_default
from corpuskit.tokenize.config import TokenizerConfig
from corpuskit.tokenize.split import SplitConfig


@click.group(name="tokenizer", cls=CorpuskitGroup)
def command():
    """Train byte-level BPE tokenizers.

    Example:

    \b
        corpuskit tokenizer train data/ tok/ --vocab-size 8192
    """


@command.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, allow_dash=True))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--vocab-size", type=click.IntRange(min=260), default=field_default(TokenizerConfig, "vocab_size"),
              show_default=True, help="Tokens in the vocabulary, including the 256 bytes and the special tokens.")
@click.option("--min-frequency", type=click.IntRange(min=1), default=field_default(TokenizerConfig, "min_frequency"),
              show_default=True, help="A pair must occur this often to be merged.")
@click.option("--train-bytes", type=click.IntRange(min=1), default=field_default(TokenizerConfig, "train_bytes"),
              show_default=True,
              help="Train on at most this many bytes of the train split (a deterministic sample).")
@click.option("--validation", type=float, default=field_default(SplitConfig, "validation"), show_default=True,
              help="Fraction held out for validation (never trained on); use the same value for `corpuskit shard`.")
@click.option("--test", type=float, default=field_default(SplitConfig, "test"), show_default=True,
              help="Fraction held out for a test split.")
@click.option("--bos-token", default=None, help="Also reserve a BOS special token, for example '<|bos|>'.")
@click.option("--pad-token", default=None, help="Also reserve a PAD special token, for example '<|pad|>'.")
@click.option("--glob", default="**/*", show_default=True, help="Which files of a folder to read.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="1 = single-threaded; more = the tokenizers thread pool. The result is the same.")
@click.option("--force", is_flag=True, help="Train again even if OUT_DIR/tokenizer.json is up to date.")
@click.option("--quiet", "-q", is_flag=True, help="No summary line.")
@verbose_option
def train(input_path, out_dir, vocab_size, min_frequency, train_bytes, validation, test, bos_token, pad_token,
          glob, workers, force, quiet):
    """Train a tokenizer on the train split of INPUT; writes OUT_DIR/tokenizer.json.

    INPUT is a run's output folder, a file or folder the readers accept, or - for
    JSON Lines on standard input. The
    split is by a hash of each document id, so the validation documents that
    `corpuskit shard` holds out were never seen here. `<|endoftext|>` is id 0.
    A rerun with the same input and options is skipped. OUT_DIR must be new, empty
    or an earlier `tokenizer train`'s folder: a folder of yours is refused, even with --force.

    Example:

    \b
        corpuskit tokenizer train data/ tok/ --vocab-size 8192
    """
    from corpuskit.tokenize.standalone import train_tokenizer

    tokenizer = {"vocab_size": vocab_size, "min_frequency": min_frequency, "train_bytes": train_bytes,
                 "bos_token": bos_token, "pad_token": pad_token}
    with streams(input_path, None, None) as (inp, _, _):
        train_tokenizer(inp, out_dir, tokenizer, {"validation": validation, "test": test}, glob=glob,
                        workers=workers, force=force, log=(lambda m: None) if quiet else click.echo)
