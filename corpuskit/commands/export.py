"""`corpuskit export`: a shard directory in the formats of other trainers."""

from __future__ import annotations

import click


@click.command(name="export")
@click.argument("shards_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("output", type=click.Path(file_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["nanogpt", "llmc", "megatron", "datatrove"]),
              help="nanogpt: train.bin/val.bin; llmc: headered .bin shards; megatron: .bin/.idx; datatrove: .ds files.")
@click.option("--prefix", default="corpus", show_default=True, help="llmc: file name prefix (PREFIX_val_000000.bin).")
@click.option("--shard-tokens", type=click.IntRange(min=1), default=100_000_000, show_default=True,
              help="llmc: tokens per train file (documents are never cut).")
@click.option("--tokenizer-name", default="tokenizer.json", show_default=True,
              help="datatrove: the tokenizer name written to each .ds.metadata.")
@click.option("--no-verify", is_flag=True, help="Skip checking each shard's sha256 against the manifest.")
def command(shards_dir, output, fmt, prefix, shard_tokens, tokenizer_name, no_verify):
    """Export SHARDS_DIR (from `corpuskit shard`) to OUTPUT in another trainer's format.

    nanoGPT and llm.c store uint16 tokens: a vocabulary over 65,536 tokens is refused.
    tokenizer.json is copied next to the exported files. Formats: docs/SHARDS.md.
    OUTPUT must be new, empty or an earlier export's folder; a folder of yours is refused.

    Example:

    \b
        corpuskit export data/shards out/nanogpt --format nanogpt
    """
    from corpuskit.export import export_shards

    options = {"verify": not no_verify}
    if fmt == "llmc":
        options.update(prefix=prefix, shard_tokens=shard_tokens)
    if fmt == "datatrove":
        options["tokenizer_name"] = tokenizer_name
    files = export_shards(shards_dir, output, fmt, **options)
    click.echo(f"export: {len(files)} files in {fmt} format -> {output}")
