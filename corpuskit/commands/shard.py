"""`corpuskit shard`: tokenize a corpus into Arrow shards by split, with a manifest."""

from __future__ import annotations

import os

import click

from corpuskit.commands._common import streams, verbose_option
from corpuskit.schema import field_default
from corpuskit.tokenize.config import ShardConfig, TokenizerConfig


@click.command(name="shard")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, allow_dash=True))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--tokenizer", "tokenizer_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A Hugging Face tokenizer.json (from `corpuskit tokenizer train` or elsewhere).")
@click.option("--validation", type=float, default=field_default(ShardConfig, "validation"), show_default=True,
              help="Fraction of documents for validation.")
@click.option("--test", type=float, default=field_default(ShardConfig, "test"), show_default=True,
              help="Fraction for a test split (0 = none).")
@click.option("--shard-tokens", type=click.IntRange(min=1), default=field_default(ShardConfig, "shard_tokens"),
              show_default=True, help="Start a new shard once one holds this many tokens (documents are never cut).")
@click.option("--eot-token", default=field_default(TokenizerConfig, "eot_token"), show_default=True,
              help="Appended to every document.")
@click.option("--bos-token", default=None, help="Record this special token's id as bos_id in the manifest.")
@click.option("--pad-token", default=None, help="Record this special token's id as pad_id in the manifest.")
@click.option("--glob", default="**/*", show_default=True, help="Which files of a folder to read.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="1 = single-threaded; more = the tokenizers thread pool. The shards are the same.")
@click.option("--force", is_flag=True, help="Rewrite the shards even if they are up to date.")
@click.option("--quiet", "-q", is_flag=True, help="No summary line.")
@verbose_option
def command(input_path, out_dir, tokenizer_file, validation, test, shard_tokens, eot_token, bos_token, pad_token,
            glob, workers, force, quiet):
    """Tokenize INPUT (a run folder, files, or - for JSON Lines on stdin) into a shard directory OUT_DIR
    (a folder, or an s3://... prefix: written locally, then published).

    OUT_DIR gets manifest.json, tokenizer.json, train/*.arrow and validation/*.arrow
    (and test/ with --test), and opens as it is with datasets.load_from_disk(OUT_DIR) and
    transformers.AutoTokenizer.from_pretrained(OUT_DIR) (docs/SHARDS.md). A rerun with the
    same input, tokenizer and options is skipped.

    Example:

    \b
        corpuskit shard data/ data/shards --tokenizer tok/tokenizer.json
    """
    from corpuskit.layout import check_apart
    from corpuskit.tokenize.standalone import shard_corpus

    with streams(input_path, None, None) as (inp, _, _):
        check_apart(inp, out_dir)  # a rerun would read the shard directory as input
        shard_corpus(inp, out_dir, tokenizer_file, {"validation": validation, "test": test, "shard_tokens": shard_tokens},
                     eot_token=eot_token, bos_token=bos_token, pad_token=pad_token, glob=glob, workers=workers,
                     force=force, log=(lambda m: None) if quiet else click.echo)
