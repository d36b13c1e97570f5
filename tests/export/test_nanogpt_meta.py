"""`corpuskit export --format nanogpt` read back by nanoGPT's own data-loading code.

The lines marked "nanoGPT" are copied from karpathy/nanoGPT (train.py: the meta.pkl lookup
and `get_batch`; sample.py: `decode`), with torch.randint/torch.stack replaced by their
numpy equivalents so that the test needs no torch. Loading the pickle here is what
nanoGPT's train.py does with the file this test has just written.
"""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from corpuskit.cli import cli


def _export(shards_dir, out):
    result = CliRunner().invoke(cli, ["export", str(shards_dir), str(out), "--format", "nanogpt"])
    assert result.exit_code == 0, result.output


def test_nanogpt_train_py_finds_the_vocab_size_and_reads_batches(shards_dir, tmp_path):
    data_dir = tmp_path / "nanogpt"
    _export(shards_dir, data_dir)
    manifest = json.loads((shards_dir / "manifest.json").read_text())

    # nanoGPT train.py: attempt to derive vocab_size from the dataset
    meta_path = os.path.join(data_dir, "meta.pkl")
    meta_vocab_size = None
    if os.path.exists(meta_path):
        with open(meta_path, "rb") as f:
            meta = pickle.load(f)
        meta_vocab_size = meta["vocab_size"]
    assert meta_vocab_size == manifest["tokenizer"]["vocab_size"] == 400  # not nanoGPT's fallback 50304

    # nanoGPT train.py: get_batch
    block_size, batch_size = 32, 8
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        data = np.memmap(os.path.join(data_dir, f"{split}.bin"), dtype=np.uint16, mode="r")
        ix = rng.integers(0, len(data) - block_size, size=batch_size)
        x = np.stack([(data[i:i + block_size]).astype(np.int64) for i in ix])
        y = np.stack([(data[i + 1:i + 1 + block_size]).astype(np.int64) for i in ix])
        assert x.shape == y.shape == (batch_size, block_size)
        assert 0 <= x.min() and x.max() < meta_vocab_size  # every id fits nn.Embedding(meta_vocab_size, ...)
    n_val = manifest["splits"]["validation"]["n_tokens"]
    assert len(np.memmap(data_dir / "val.bin", dtype=np.uint16, mode="r")) == n_val


def test_nanogpt_sample_py_decodes_the_text_back(shards_dir, tmp_path):
    data_dir = tmp_path / "nanogpt"
    _export(shards_dir, data_dir)
    with open(data_dir / "meta.pkl", "rb") as f:
        meta = pickle.load(f)
    stoi, itos = meta["stoi"], meta["itos"]
    decode = lambda l: "".join([itos[i] for i in l])  # nanoGPT sample.py  # noqa: E731
    encode = lambda s: [stoi[c] for c in s]  # nanoGPT sample.py (one id per character)  # noqa: E731

    docs = {json.loads(line)["id"]: json.loads(line)["text"]
            for line in (shards_dir.parent / "docs.jsonl").read_text(encoding="utf-8").splitlines()}
    val = np.memmap(data_dir / "val.bin", dtype=np.uint16, mode="r").tolist()
    eot = stoi["<|endoftext|>"]
    first = val[:val.index(eot)]
    text = decode(first)
    assert text in docs.values()
    ascii_text = "the first time"
    assert decode(encode(ascii_text)) == ascii_text  # a prompt encodes to valid ids


def test_meta_pkl_is_byte_identical_across_exports(shards_dir, tmp_path):
    _export(shards_dir, tmp_path / "a")
    _export(shards_dir, tmp_path / "b")
    assert (tmp_path / "a" / "meta.pkl").read_bytes() == (tmp_path / "b" / "meta.pkl").read_bytes()


def test_meta_vocab_size_covers_every_id_when_the_tokenizer_skips_ids(skipping_ids_shards_dir, tmp_path):
    from tokenizers import Tokenizer

    shards = skipping_ids_shards_dir
    tok = Tokenizer.from_file(str(shards / "tokenizer.json"))
    assert tok.get_vocab_size(with_added_tokens=True) == 400 and max(tok.get_vocab().values()) == 5000
    _export(shards, tmp_path / "ng")
    with open(tmp_path / "ng" / "meta.pkl", "rb") as f:
        meta = pickle.load(f)  # what nanoGPT's train.py does with the file just written
    top = max(int(np.fromfile(tmp_path / "ng" / name, dtype="<u2").max()) for name in ("train.bin", "val.bin"))
    assert top == 5000  # the fixture's ids really reach past the count of tokens
    assert top < meta["vocab_size"] == json.loads((tmp_path / "ng" / "meta.json").read_text())["vocab_size"] == 5001
    assert json.loads((shards / "manifest.json").read_text())["tokenizer"]["vocab_size"] == 5001


def test_shards_whose_ids_pass_the_manifest_vocab_size_are_refused(skipping_ids_shards_dir, tmp_path):
    """A shard directory written before the fix (vocab_size = count of tokens) is refused, naming the shard."""
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(skipping_ids_shards_dir, copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["tokenizer"]["vocab_size"] = 400
    (copy / "manifest.json").write_text(json.dumps(m))
    result = CliRunner().invoke(cli, ["export", str(copy), str(tmp_path / "ng"), "--format", "nanogpt"])
    assert result.exit_code == 1 and "holds token id 5,000, beyond the manifest's tokenizer.vocab_size 400" in result.output


def _documented_sample_py_lines():
    """The Python block docs/SHARDS.md gives for nanoGPT's sample.py (its nanoGPT section)."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "SHARDS.md").read_text(encoding="utf-8")
    section = doc[doc.index("### nanoGPT"):]
    block = re.search(r"```python\n(.*?)```", section, re.S)[1]
    return "\n".join(line.strip() for line in block.splitlines())


def test_a_non_ascii_prompt_through_sample_py_with_the_documented_encode(shards_dir, tmp_path):
    import pytest

    data_dir = tmp_path / "nanogpt"
    _export(shards_dir, data_dir)
    meta_path = os.path.join(data_dir, "meta.pkl")  # nanoGPT sample.py's variable
    with open(meta_path, "rb") as f:
        meta = pickle.load(f)
    stoi, itos = meta["stoi"], meta["itos"]  # nanoGPT sample.py
    encode = lambda s: [stoi[c] for c in s]  # nanoGPT sample.py  # noqa: E731
    prompt = "Le café 😀 était naïve — Ω"
    with pytest.raises(KeyError, match="é"):
        encode(prompt)  # why the docs replace it: 'é' is only ever merged (into 'fé'), never a token alone

    # The documented lines, as sample.py would run them: in a Python process of their own,
    # after sample.py's own `meta_path` and `stoi, itos`.
    script = tmp_path / "sample_encode.py"
    script.write_text("import json, os, pickle, sys\n"
                      f"meta_path = {meta_path!r}\n"
                      "with open(meta_path, 'rb') as f:\n    meta = pickle.load(f)\n"
                      "stoi, itos = meta['stoi'], meta['itos']\n"
                      + _documented_sample_py_lines() + "\n"
                      "ids = encode(sys.argv[1])\n"
                      "print(json.dumps({'ids': ids, 'text': decode(ids)}))\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), prompt], capture_output=True, text=True, check=True)
    ids, text = (json.loads(done.stdout)[k] for k in ("ids", "text"))
    assert all(0 <= i < meta["vocab_size"] for i in ids)  # ids the model's embedding covers
    assert text == prompt
    assert "\ufffd" in "".join([itos[i] for i in ids])  # nanoGPT's own decode of the same ids loses bytes
