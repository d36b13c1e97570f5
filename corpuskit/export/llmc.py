"""llm.c / modded-nanogpt: `.bin` shards with a 1024-byte header, then uint16 tokens.

    header: 256 little-endian int32: [0] = 20240520 (magic), [1] = 1 (version),
            [2] = number of tokens in the file, the rest 0
    body:   the tokens, little-endian uint16

Validation is shard 0 (`PREFIX_val_000000.bin`), train shards follow from 1
(`PREFIX_train_000001.bin`, ...), as llm.c's `fineweb.py` names them; a test split,
when present, is `PREFIX_test_000000.bin`. A train shard closes once it holds
`shard_tokens` tokens; documents (each ending with end-of-text) are never cut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpuskit.export.common import ExportError, OutputFolder, atomic_open, require_uint16
from corpuskit.tokenize.manifest import is_plain_name, iter_split_tokens

MAGIC, VERSION, HEADER_INTS = 20240520, 1, 256
MAX_TOKENS = 2**31 - 1  # the count is an int32


def _header(n_tokens: int) -> bytes:
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:3] = (MAGIC, VERSION, n_tokens)
    return header.tobytes()


def _write(path: Path, chunks: list[np.ndarray]) -> None:
    n = sum(len(c) for c in chunks)
    with atomic_open(path) as fh:
        fh.write(_header(n))
        for c in chunks:
            fh.write(c.astype("<u2", copy=False).tobytes())


def export(shards_dir: Path, manifest: dict, out: OutputFolder, prefix: str = "corpus",
           shard_tokens: int = 100_000_000, verify: bool = True) -> list[Path]:
    require_uint16(manifest, "llmc")
    if not is_plain_name(prefix):
        raise ExportError(f"prefix {prefix!r} must be a plain file name (letters, digits, '_', '.', '-')")
    if not 0 < shard_tokens <= MAX_TOKENS:
        raise ExportError(f"shard_tokens must be between 1 and {MAX_TOKENS:,} (the header's count is an int32)")
    files: list[Path] = []
    for split, name in (("validation", "val"), ("test", "test")):
        if split in manifest["splits"]:
            chunks = [t for t, _ in iter_split_tokens(shards_dir, manifest, split, verify)]
            if sum(len(c) for c in chunks) > MAX_TOKENS:
                raise ExportError(f"the {split} split has more than {MAX_TOKENS:,} tokens, too many for one llm.c file")
            files.append(out.path(f"{prefix}_{name}_000000.bin"))
            _write(files[-1], chunks)
    index, pending, n = 1, [], 0
    for tokens, lengths in iter_split_tokens(shards_dir, manifest, "train", verify):
        ends = np.cumsum(lengths)
        start = 0
        for end in ends:  # cut only at document ends
            if n + (end - start) >= shard_tokens:
                pending.append(tokens[start:end])
                files.append(out.path(f"{prefix}_train_{index:06d}.bin"))
                _write(files[-1], pending)
                index, pending, n, start = index + 1, [], 0, end
        if start < len(tokens):
            pending.append(tokens[start:])
            n += len(tokens) - start
    if pending:
        files.append(out.path(f"{prefix}_train_{index:06d}.bin"))
        _write(files[-1], pending)
    out.remove_stale(out.root.glob(f"{prefix}_train_*.bin"), files)  # an earlier export's extra shards
    return files
