"""datatrove tokenized files (as its DocumentTokenizer writes them, read by nanotron).

For each corpuskit shard, `SPLIT/NNNNN.ds` with:

    NNNNN.ds           tokens, little-endian uint16 (vocabulary <= 65,536) or uint32
    NNNNN.ds.index     uint64 little-endian: the end position (in tokens) of each document
    NNNNN.ds.metadata  text: "TOKENIZER_NAME|TOKEN_SIZE", the token count, the count in words

Each document ends with the end-of-text token, like datatrove's `eos_token`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpuskit.export.common import ExportError, OutputFolder, atomic_open
from corpuskit.io import atomic_write_text
from corpuskit.tokenize.manifest import iter_split_tokens


def _metric(n: int) -> str:
    """A count for humans, like datatrove's `humanize.metric(n, unit="T")`."""
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g} {suffix}T"
    return f"{n} T"


def export(shards_dir: Path, manifest: dict, out: OutputFolder, tokenizer_name: str = "tokenizer.json",
           verify: bool = True) -> list[Path]:
    if "|" in tokenizer_name or "\n" in tokenizer_name:
        raise ExportError("tokenizer_name cannot contain '|' or a newline (they delimit the metadata file)")
    token_size = 2 if manifest["tokenizer"]["vocab_size"] <= 2**16 else 4
    dtype = "<u2" if token_size == 2 else "<u4"
    files: list[Path] = []
    for split in manifest["splits"]:
        for i, (tokens, lengths) in enumerate(iter_split_tokens(shards_dir, manifest, split, verify)):
            ds, index, metadata = (out.path(split, f"{i:05d}.ds{suffix}") for suffix in ("", ".index", ".metadata"))
            with atomic_open(ds) as fh:
                fh.write(tokens.astype(dtype).tobytes())
            with atomic_open(index) as fh:
                fh.write(np.cumsum(lengths, dtype=np.uint64).astype("<u8").tobytes())
            atomic_write_text(metadata, f"{tokenizer_name}|{token_size}\n{len(tokens)}\n{_metric(len(tokens))}")
            files += [ds, index, metadata]
        out.remove_stale(out.path(split).glob("*.ds*"), files)  # an earlier export's extra shards
    return files
