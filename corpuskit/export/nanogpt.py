"""nanoGPT: `train.bin` and `val.bin`, flat little-endian uint16 tokens, plus `meta.pkl` (and `meta.json`).

Documents follow each other in shard order, each ending with the end-of-text token,
as nanoGPT's own prepare scripts write them. nanoGPT reads them with
`np.memmap("train.bin", dtype=np.uint16, mode="r")`.

`meta.pkl` is what nanoGPT's `data/shakespeare_char/prepare.py` writes and `train.py` reads
(without it, `train.py` silently builds a model of 50,304 tokens): a pickled dict

    {"vocab_size": V, "itos": {id: text of the token}, "stoi": {text of the token: lowest id}}

`sample.py` decodes with `"".join(itos[i] for i in ids)`, which gives the text back for
every token that decodes to whole characters, and encodes a prompt a character at a time
(`stoi[c]`): a character that is no token of its own (an `é` only merged inside `fé`) is a
KeyError there, and no `stoi` could fix that, one character may need several tokens.
docs/SHARDS.md shows the four lines that make `sample.py` use the `tokenizer.json` exported
next to the files instead (tests/export/test_nanogpt_meta.py runs them). corpuskit only ever
*writes* this pickle (with a fixed protocol, so the bytes do not depend on the Python version);
it never loads one. `meta.json` holds the same vocabulary size with the counts, for tools that read JSON.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from corpuskit.export.common import OutputFolder, atomic_open, require_uint16
from corpuskit.io import atomic_write_bytes, atomic_write_text
from corpuskit.tokenize.bpe import parse_tokenizer
from corpuskit.tokenize.manifest import iter_split_tokens, read_tokenizer, vocab_size_of

if TYPE_CHECKING:
    from tokenizers import Tokenizer

NAMES = {"train": "train.bin", "validation": "val.bin", "test": "test.bin"}
PICKLE_PROTOCOL = 4  # readable by every Python 3 nanoGPT runs on; fixed so the file is byte-stable


def meta_pkl(tok: "Tokenizer", vocab_size: int) -> bytes:
    """nanoGPT's meta.pkl for a tokenizer: vocab_size, itos and stoi (see the module docstring)."""
    itos = {i: tok.decode([i], skip_special_tokens=False) for i in range(vocab_size)}
    stoi: dict[str, int] = {}
    for i, s in itos.items():
        stoi.setdefault(s, i)  # tokens that decode alike (partial UTF-8 bytes): the lowest id
    return pickle.dumps({"vocab_size": vocab_size, "itos": itos, "stoi": stoi}, protocol=PICKLE_PROTOCOL)


def export(shards_dir: Path, manifest: dict, out: OutputFolder, verify: bool = True) -> list[Path]:
    require_uint16(manifest, "nanogpt")
    tok = manifest["tokenizer"]
    tokenizer = parse_tokenizer(read_tokenizer(shards_dir, manifest), shards_dir / tok["file"])
    # nanoGPT sizes its embedding from meta.pkl: it must cover every id of the tokens (iter_split_tokens
    # checks them against the manifest's vocab_size) and of the tokenizer, even where ids skip.
    vocab_size = max(tok["vocab_size"], vocab_size_of(tokenizer))
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
    files.append(out.path("meta.pkl"))
    atomic_write_bytes(files[-1], meta_pkl(tokenizer, vocab_size))
    meta = {"vocab_size": vocab_size, "dtype": "uint16", "byteorder": "little", "eot_id": tok["eot_id"],
            "tokenizer": "tokenizer.json", "n_tokens": counts, "bytes_per_token": manifest["bytes_per_token"]}
    files.append(out.path("meta.json"))
    atomic_write_text(files[-1], json.dumps(meta, indent=2) + "\n")
    return files
