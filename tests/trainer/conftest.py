"""A tiny shard set built from scratch, exactly per docs/SHARDS.md (no corpuskit, no network)."""

import hashlib
import json
import os
import random
import shutil

import numpy as np
import pyarrow as pa
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from trainer.config import load_config
from trainer.metrics import read_metrics

WORDS = ("the cat dog sat ran on under a mat big small red house garden river quickly slowly and "
         "then saw heard old young bird tree green blue morning evening walked over near").split()


def make_docs(n, seed):
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        sentences = []
        for _ in range(rng.randint(2, 5)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(4, 9))]
            sentences.append(" ".join(words).capitalize() + ".")
        docs.append((f"doc-{seed}-{i}", " ".join(sentences)))
    return docs


def write_shards(out, docs, vocab_size=320, shards_per_split=2):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([t for _, t in docs], trainer)
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))

    def sha(p):
        return hashlib.sha256(open(p, "rb").read()).hexdigest()

    is_val = lambda doc_id: int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) % 10 == 0
    splits = {"train": [d for d in docs if not is_val(d[0])], "validation": [d for d in docs if is_val(d[0])]}
    manifest = {"format": "corpuskit-shards", "format_version": 1,
                "tokenizer": {"file": "tokenizer.json", "sha256": sha(os.path.join(out, "tokenizer.json")),
                              "vocab_size": tok.get_vocab_size(), "eot_id": 0, "bos_id": None, "pad_id": None,
                              "special_tokens": {"<|endoftext|>": 0}},
                "dtype": "uint16", "pipeline_config_sha256": "0" * 64, "splits": {}}
    all_bytes = all_tokens = 0
    for split, split_docs in splits.items():
        os.makedirs(os.path.join(out, split), exist_ok=True)
        ids = [tok.encode(t).ids + [0] for _, t in split_docs]
        n_bytes, n_tokens = sum(len(t.encode()) for _, t in split_docs), sum(map(len, ids))
        entries, per = [], -(-len(split_docs) // shards_per_split)
        for k in range(shards_per_split):
            rows = slice(k * per, (k + 1) * per)
            part_ids, part_docs = ids[rows], split_docs[rows]
            table = pa.table({"input_ids": pa.array(part_ids, type=pa.list_(pa.uint16())),
                              "doc_id": [d for d, _ in part_docs],
                              "n_tokens": pa.array([len(i) for i in part_ids], type=pa.int32())})
            name = f"{split}/shard-{k:05d}.arrow"
            with pa.OSFile(os.path.join(out, name), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
                for batch in table.to_batches(max_chunksize=7):  # several record batches per file
                    w.write_batch(batch)
            entries.append({"file": name, "n_documents": len(part_docs), "n_tokens": sum(map(len, part_ids)),
                            "sha256": sha(os.path.join(out, name))})
        manifest["splits"][split] = {"n_documents": len(split_docs), "n_tokens": n_tokens, "n_bytes": n_bytes,
                                     "bytes_per_token": n_bytes / n_tokens, "shards": entries}
        all_bytes, all_tokens = all_bytes + n_bytes, all_tokens + n_tokens
    manifest["bytes_per_token"] = all_bytes / all_tokens
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return out


@pytest.fixture(scope="session")
def shards(tmp_path_factory):
    path = write_shards(str(tmp_path_factory.mktemp("shards")), make_docs(300, seed=0))
    tokens = np.concatenate([pa.ipc.open_stream(pa.memory_map(os.path.join(path, "train", f))).read_all()
                             .column("input_ids").combine_chunks().flatten().to_numpy()
                             for f in sorted(os.listdir(os.path.join(path, "train")))])
    assert tokens.max() > 255  # real BPE merges, not just bytes
    return path


@pytest.fixture(scope="session")
def other_shards(tmp_path_factory):
    """Shards of other documents: a tokenizer of the same vocabulary size, with other merges."""
    return write_shards(str(tmp_path_factory.mktemp("other_shards")), make_docs(300, seed=1))


TINY = ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.block_size=32", "batch_size=8",
        "lr=3e-3", "min_lr=3e-4", "warmup_steps=5", "max_steps=30", "log_interval=1", "progress=false",
        "plot=false", "sample_tokens=0", "eval_interval=0", "dtype=float32"]


@pytest.fixture
def tiny_config(shards):
    """tiny_config(out_dir, "key=value", ...) -> a TrainConfig for a seconds-long run on the fixture shards."""
    return lambda out, *overrides: load_config(None, TINY + [f"data={shards}", f"out={out}", *overrides])


@pytest.fixture
def losses():
    """losses(run_dir) -> the training losses logged in run_dir/metrics.jsonl, in order."""
    return lambda run_dir: [r["loss"] for r in read_metrics(os.path.join(run_dir, "metrics.jsonl")) if "loss" in r]


@pytest.fixture
def copy_shards(shards, tmp_path):
    """copy_shards(edit=None) -> a copy of the fixture shards, deep enough that '../../../..' stays under
    tmp_path; `edit(manifest)` changes its manifest."""
    def copy(edit=None):
        path = tmp_path / "a" / "b" / "c" / "shards"
        shutil.copytree(shards, path)
        if edit:
            manifest = json.loads((path / "manifest.json").read_text())
            edit(manifest)
            (path / "manifest.json").write_text(json.dumps(manifest))
        return str(path)
    return copy


@pytest.fixture
def rewrite_tokens():
    """rewrite_tokens(path): replace a shard by a well-formed one holding other tokens (same counts),
    as an overwritten shard would be: only its checksum tells."""
    def rewrite(path):
        with open(path, "rb") as f:  # into memory: the file is rewritten below
            table = pa.ipc.open_stream(f.read()).read_all()
        ids = [[(t + 1) % 256 for t in row] for row in table.column("input_ids").to_pylist()]
        table = table.set_column(0, "input_ids", pa.array(ids, type=table.schema.field("input_ids").type))
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    return rewrite
