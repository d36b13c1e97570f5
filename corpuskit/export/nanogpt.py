"""nanoGPT: `train.bin` and `val.bin`, flat little-endian uint16 tokens, plus `meta.json`.

Documents follow each other in shard order, each ending with the end-of-text token,
as nanoGPT's own prepare scripts write them. nanoGPT reads them with
`np.memmap("train.bin", dtype=np.uint16, mode="r")`. Its `meta.pkl` is replaced by
`meta.json` ({"vocab_size": ..., ...}): no pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpuskit.export.common import OutputFolder, atomic_open, require_uint16
from corpuskit.io import atomic_write_text
from corpuskit.tokenize.manifest import iter_split_tokens

NAMES = {"train": "train.bin", "validation": "val.bin", "test": "test.bin"}


def export(shards_dir: Path, manifest: dict, out: OutputFolder, verify: bool = True) -> list[Path]:
    require_uint16(manifest, "nanogpt")
    files, counts = [], {}
    for split in manifest["splits"]:
        path = out.path(NAMES.get(split, f"{split}.bin"))
        n = 0
        with atomic_open(path) as fh:
            for tokens, _ in iter_split_tokens(shards_dir, manifest, split, verify):
                fh.write(tokens.astype("<u2", copy=False).tobytes())
                n += len(tokens)
        files.append(path)
        counts[path.name] = n
    tok = manifest["tokenizer"]
    meta = {"vocab_size": tok["vocab_size"], "dtype": "uint16", "byteorder": "little", "eot_id": tok["eot_id"],
            "tokenizer": "tokenizer.json", "n_tokens": counts, "bytes_per_token": manifest["bytes_per_token"]}
    files.append(out.path("meta.json"))
    atomic_write_text(files[-1], json.dumps(meta, indent=2) + "\n")
    return files

