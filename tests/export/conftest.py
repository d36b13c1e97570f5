"""A shard directory (several train shards, validation and test) built offline for the exporters."""

from __future__ import annotations

import json
import random

import pytest

WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
         "an they you were her she there had been one all we their has would when if so no will more what up out "
         "about into than them can only other time new some could these two may first").split() + ["café", "😀"]


def _corpus(path, n=200, seed=7):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 150)))
            fh.write(json.dumps({"id": f"e{i}", "text": text}, ensure_ascii=False) + "\n")


def _build(tmp, tokenizer_edit=None, json_edit=None):
    from corpuskit.tokenize.bpe import TokenizerConfig, load_tokenizer
    from corpuskit.tokenize.inputs import InputDocuments
    from corpuskit.tokenize.shards import ShardConfig
    from corpuskit.tokenize.steps import shard_step, tokenizer_step

    _corpus(tmp / "docs.jsonl")
    cfg = ShardConfig(validation=0.2, test=0.1, shard_tokens=2500)
    tok_file = tokenizer_step(InputDocuments(tmp / "docs.jsonl"), tmp / "tokenizer.json", TokenizerConfig(vocab_size=400),
                              cfg.split, record_file=tmp / "r.json", log=lambda m: None)
    if tokenizer_edit:
        tok = load_tokenizer(tok_file)
        tokenizer_edit(tok)
        tok.save(str(tok_file))
    if json_edit:
        tok = json.loads(tok_file.read_text())
        json_edit(tok)
        tok_file.write_text(json.dumps(tok))
    shard_step(InputDocuments(tmp / "docs.jsonl"), tok_file, tmp / "shards", cfg, eot_token="<|endoftext|>",
               log=lambda m: None)
    return tmp / "shards"


@pytest.fixture(scope="session")
def shards_dir(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="session")
def big_vocab_shards_dir(tmp_path_factory):
    """Shards whose tokenizer has more than 65,536 tokens (uint32)."""
    return _build(tmp_path_factory.mktemp("export_big"),
                  lambda tok: tok.add_tokens([f"<zz{i}>" for i in range(65200)]))


def _skip_ids(tok):
    """Move the last merged token to id 5000: a tokenizer.json whose ids skip 399..4999, as a
    hand-made or converted one can (it counts 400 tokens, its largest id is 5000)."""
    vocab = tok["model"]["vocab"]
    vocab[max(vocab, key=vocab.get)] = 5000


@pytest.fixture(scope="session")
def skipping_ids_shards_dir(tmp_path_factory):
    """Shards whose tokenizer's ids skip: the id 5000 occurs in the tokens, with 400 tokens in all."""
    return _build(tmp_path_factory.mktemp("export_skip"), json_edit=_skip_ids)
