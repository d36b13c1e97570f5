"""Megatron-LM indexed dataset (`MMIDIDX`): `SPLIT.bin` tokens and `SPLIT.idx` index.

One sequence per document (its tokens, ending with end-of-text, as Megatron's
`preprocess_data.py --append-eod` writes them). Layout of `.idx`, all little-endian:

    b"MMIDIDX\\x00\\x00"            9-byte magic
    <Q  1                          version
    <B  dtype code                 Megatron's DType enum: 8 = uint16, 4 = int32
    <Q  sequence count N
    <Q  document count N + 1       document indices include the leading 0
    int32[N]    sequence lengths (tokens)
    int64[N]    sequence pointers (byte offsets into .bin)
    int64[N+1]  document indices: 0, 1, ..., N (document i is sequence i)

The token dtype follows Megatron's own rule (`DType.optimal_dtype`): uint16 for a
vocabulary under 65,500 tokens, int32 otherwise. Train with
`--data-path OUT/train` (or `--train-data-path OUT/train --valid-data-path OUT/validation`).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from corpuskit.export.common import ExportError, OutputFolder, atomic_open
from corpuskit.tokenize.manifest import iter_split_tokens

MAGIC = b"MMIDIDX\x00\x00"
DTYPE_CODES = {"uint16": 8, "int32": 4}


def token_dtype(vocab_size: int) -> str:
    return "uint16" if vocab_size < 65500 else "int32"


def export(shards_dir: Path, manifest: dict, out: OutputFolder, verify: bool = True) -> list[Path]:
    vocab = manifest["tokenizer"]["vocab_size"]
    if vocab > 2**31:  # int32 is Megatron's widest token type: larger ids would wrap around
        raise ExportError(f"megatron stores tokens as int32, but this tokenizer has {vocab:,} tokens; "
                          "use --format datatrove")
    dtype = token_dtype(vocab)
    np_dtype = np.dtype(dtype).newbyteorder("<")
    files: list[Path] = []
    for split in manifest["splits"]:
        lengths: list[np.ndarray] = []
        bin_path, idx_path = out.path(f"{split}.bin"), out.path(f"{split}.idx")
        with atomic_open(bin_path) as fh:
            for tokens, lens in iter_split_tokens(shards_dir, manifest, split, verify):
                fh.write(tokens.astype(np_dtype).tobytes())
                lengths.append(lens)
        seq_lengths = np.concatenate(lengths).astype("<i4") if lengths else np.zeros(0, "<i4")
        n = len(seq_lengths)
        pointers = np.zeros(n, dtype="<i8")
        np.cumsum(seq_lengths[:-1].astype("<i8") * np_dtype.itemsize, out=pointers[1:])
        with atomic_open(idx_path) as fh:
            fh.write(MAGIC)
            fh.write(struct.pack("<Q", 1))
            fh.write(struct.pack("<B", DTYPE_CODES[dtype]))
            fh.write(struct.pack("<Q", n))
            fh.write(struct.pack("<Q", n + 1))
            fh.write(seq_lengths.tobytes())
            fh.write(pointers.tobytes())
            fh.write(np.arange(n + 1, dtype="<i8").tobytes())
        files += [bin_path, idx_path]
    return files
