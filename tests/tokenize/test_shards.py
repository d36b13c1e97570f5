"""Shards are read back here with plain pyarrow / datasets / hashlib, as a trainer would."""

import hashlib
import json
import shutil

import pyarrow as pa
import pytest

from corpuskit.tokenize.bpe import load_tokenizer
from corpuskit.tokenize.inputs import InputDocuments
from corpuskit.tokenize.shards import ShardConfig
from corpuskit.tokenize.steps import shard_step


def _shard(corpus_path, tokenizer_file, out, workers=1, force=False, logs=None, **cfg):
    return shard_step(InputDocuments(corpus_path), tokenizer_file, out, ShardConfig(**cfg), workers=workers,
                      eot_token="<|endoftext|>", force=force, log=(logs.append if logs is not None else lambda m: None))


def _read(path):
    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_stream(src).read_all()


def _split_of(doc_id, validation, test):
    u = int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") / 2**64
    return "validation" if u < validation else "test" if u < validation + test else "train"


@pytest.fixture(scope="module")
def shards(corpus, tokenizer_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "shards"
    _shard(corpus[0], tokenizer_file, out, validation=0.2, test=0.1, shard_tokens=3000, batch_rows=7)
    return out


def test_layout_and_manifest_follow_the_contract(shards, corpus, tokenizer_file):
    m = json.loads((shards / "manifest.json").read_text())
    assert m["format"] == "corpuskit-shards" and m["format_version"] == 1
    assert (shards / "tokenizer.json").read_bytes() == tokenizer_file.read_bytes()
    assert m["tokenizer"]["sha256"] == hashlib.sha256(tokenizer_file.read_bytes()).hexdigest()
    assert m["tokenizer"]["vocab_size"] == 512 and m["tokenizer"]["eot_id"] == 0
    assert m["tokenizer"]["special_tokens"] == {"<|endoftext|>": 0}
    assert m["dtype"] == "uint16"
    assert list(m["splits"]) == ["train", "validation", "test"]
    texts = {r["id"]: r["text"] for r in corpus[1] if r["text"]}
    assert m["dropped"] == {"empty_text": 1}
    total_tokens = total_bytes = 0
    for name, split in m["splits"].items():
        ids = [i for i in texts if _split_of(i, 0.2, 0.1) == name]
        assert split["n_documents"] == len(ids) > 0
        assert split["n_bytes"] == sum(len(texts[i].encode()) for i in ids)
        assert split["n_tokens"] == sum(s["n_tokens"] for s in split["shards"])
        assert split["bytes_per_token"] == pytest.approx(split["n_bytes"] / split["n_tokens"])
        for s in split["shards"]:
            path = shards / s["file"]
            assert path.parent.name == name and path.name.startswith("shard-")
            assert hashlib.sha256(path.read_bytes()).hexdigest() == s["sha256"]
        total_tokens += split["n_tokens"]
        total_bytes += split["n_bytes"]
    assert m["bytes_per_token"] == pytest.approx(total_bytes / total_tokens)
    assert len(m["splits"]["train"]["shards"]) > 1


def test_rows_hold_the_documents_tokens_then_end_of_text(shards, corpus, tokenizer_file):
    m = json.loads((shards / "manifest.json").read_text())
    tok = load_tokenizer(tokenizer_file)
    tok.encode_special_tokens = True
    texts = {r["id"]: r["text"] for r in corpus[1]}
    seen = []
    for name, split in m["splits"].items():
        for s in split["shards"]:
            t = _read(shards / s["file"])
            assert t.schema.field("input_ids").type == pa.list_(pa.uint16())
            assert t.schema.field("doc_id").type == pa.string()
            assert t.schema.field("n_tokens").type == pa.int32()
            assert t.num_rows == s["n_documents"]
            for ids, doc_id, n in zip(*(t.column(c).to_pylist() for c in ("input_ids", "doc_id", "n_tokens"))):
                assert _split_of(doc_id, 0.2, 0.1) == name
                assert len(ids) == n and ids[-1] == 0 and 0 not in ids[:-1]
                assert ids[:-1] == tok.encode(texts[doc_id]).ids
                seen.append(doc_id)
            if s is not split["shards"][-1]:
                assert s["n_tokens"] >= 3000  # a shard closes once it reaches shard_tokens
    assert sorted(seen) == sorted(i for i, t in texts.items() if t)
    assert max(max(_read(shards / s["file"]).column("input_ids").combine_chunks().flatten().to_pylist())
               for s in m["splits"]["train"]["shards"]) > 255


def test_a_literal_special_token_in_text_is_not_a_document_boundary(shards):
    m = json.loads((shards / "manifest.json").read_text())
    for split in m["splits"].values():
        for s in split["shards"]:
            for row in _read(shards / s["file"]).to_pylist():
                if row["doc_id"] == "doc-special":
                    assert row["input_ids"].count(0) == 1
                    return
    raise AssertionError("doc-special not found")


def test_datasets_reads_every_shard(shards):
    from datasets import Dataset

    m = json.loads((shards / "manifest.json").read_text())
    for split in m["splits"].values():
        for s in split["shards"]:
            ds = Dataset.from_file(str(shards / s["file"]))
            assert len(ds) == s["n_documents"]
            assert ds[0]["input_ids"] == _read(shards / s["file"]).column("input_ids")[0].as_py()
            assert sum(ds["n_tokens"]) == s["n_tokens"]


def test_one_and_two_workers_give_byte_identical_directories(corpus, tokenizer_file, tmp_path):
    _shard(corpus[0], tokenizer_file, tmp_path / "w1", workers=1, shard_tokens=2000)
    _shard(corpus[0], tokenizer_file, tmp_path / "w2", workers=2, shard_tokens=2000)
    files = sorted(p.relative_to(tmp_path / "w1") for p in (tmp_path / "w1").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "w2") for p in (tmp_path / "w2").rglob("*") if p.is_file())
    assert len(files) > 4
    for f in files:
        assert (tmp_path / "w1" / f).read_bytes() == (tmp_path / "w2" / f).read_bytes(), f


def test_rerun_skips_and_repairs(corpus, tokenizer_file, tmp_path):
    logs = []
    out = tmp_path / "s"
    _shard(corpus[0], tokenizer_file, out, logs=logs, shard_tokens=2000)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _shard(corpus[0], tokenizer_file, out, logs=logs, shard_tokens=2000)
    assert "up to date" in logs[-1]
    (out / "train" / "shard-00000-00001.arrow").unlink()
    _shard(corpus[0], tokenizer_file, out, logs=logs, shard_tokens=2000)
    assert "up to date" not in logs[-1]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # fewer, larger shards: the old extra files are removed
    _shard(corpus[0], tokenizer_file, out, logs=logs, shard_tokens=10**9)
    assert sorted(p.name for p in (out / "train").iterdir()) == ["dataset_info.json", "shard-00000-00000.arrow", "state.json"]
    assert not list(out.rglob(".*tmp*"))


@pytest.mark.parametrize("damage", ["shard bytes", "shard link", "tokenizer bytes", "tokenizer link"])
def test_a_rerun_verifies_the_files_instead_of_assuming_them(corpus, tokenizer_file, tmp_path, damage):
    """A shard or tokenizer changed after the manifest was written makes the directory stale: the rerun
    rewrites it to the same bytes instead of calling it up to date."""
    logs = []
    out = tmp_path / "s"
    _shard(corpus[0], tokenizer_file, out, logs=logs, shard_tokens=2000)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    victim = out / ("train/shard-00000-00001.arrow" if damage.startswith("shard") else "tokenizer.json")
    data = victim.read_bytes()
    if damage.endswith("bytes"):
        victim.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    else:
        (tmp_path / "elsewhere").write_bytes(data)
        victim.unlink()
        victim.symlink_to(tmp_path / "elsewhere")
    _shard(corpus[0], tokenizer_file, out, logs=logs, shard_tokens=2000)
    assert "up to date" not in logs[-1]
    assert not victim.is_symlink()
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_vocabulary_over_65536_tokens_gives_uint32(corpus, tokenizer_file, tmp_path):
    tok = load_tokenizer(tokenizer_file)
    tok.add_tokens([f"<zz{i}>" for i in range(65100)])
    big = tmp_path / "big.json"
    tok.save(str(big))
    m = _shard(corpus[0], big, tmp_path / "s")
    assert m["dtype"] == "uint32" and m["tokenizer"]["vocab_size"] > 65536
    t = _read(tmp_path / "s" / m["splits"]["train"]["shards"][0]["file"])
    assert t.schema.field("input_ids").type == pa.list_(pa.uint32())


def test_a_missing_eot_token_is_a_clear_error(corpus, tokenizer_file, tmp_path):
    with pytest.raises(ValueError, match="no eot token '<eos>'"):
        shard_step(InputDocuments(corpus[0]), tokenizer_file, tmp_path / "s", ShardConfig(), eot_token="<eos>",
                   log=lambda m: None)


def test_copying_a_shard_dir_keeps_it_valid(shards, tmp_path):
    from corpuskit.tokenize.manifest import iter_split_tokens, load_manifest

    copy = tmp_path / "copy"
    shutil.copytree(shards, copy)
    m = load_manifest(copy)
    assert sum(len(t) for t, _ in iter_split_tokens(copy, m, "train")) == m["splits"]["train"]["n_tokens"]


@pytest.mark.parametrize("damage", ["truncated", "random bytes"])
def test_an_unreadable_shard_is_named_even_when_its_checksum_matches(shards, tmp_path, damage):
    from corpuskit.tokenize.manifest import ShardsError, iter_split_tokens, load_manifest

    copy = tmp_path / "copy"
    shutil.copytree(shards, copy)
    victim = copy / "train" / "shard-00000-00001.arrow"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2] if damage == "truncated" else bytes(range(256)) * 8)
    m = json.loads((copy / "manifest.json").read_text())
    m["splits"]["train"]["shards"][1]["sha256"] = hashlib.sha256(victim.read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ShardsError, match=f"{victim}: not a readable shard"):
        list(iter_split_tokens(copy, load_manifest(copy), "train"))


def test_one_task_per_source_on_worker_processes_gives_the_same_bytes(corpus, tokenizer_file, tmp_path):
    """Each input file is a task of its own (here on two real worker processes, finishing in
    any order); shards are named after their unit, the directory is byte-identical to an
    in-process run, and each split's tokens, read in manifest order, follow the input order."""
    from corpuskit.execute.local import LocalExecutor
    from corpuskit.tokenize.manifest import iter_split_tokens, load_manifest
    from corpuskit.tokenize.shards import ShardTask

    records = [r for r in corpus[1] if r["text"]]
    folder = tmp_path / "in"
    folder.mkdir()
    third = len(records) // 3
    for k, part in enumerate([records[:third], records[third:2 * third], records[2 * third:]]):
        (folder / f"part-{k:05d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    _shard(folder, tokenizer_file, tmp_path / "here", shard_tokens=2000)
    seen = []
    with LocalExecutor(2) as executor:
        def recording_map(fn, tasks):
            seen.extend(tasks)
            return reversed(list(executor.map(fn, tasks)))

        shard_step(InputDocuments(folder), tokenizer_file, tmp_path / "pool", ShardConfig(shard_tokens=2000),
                   workers=2, eot_token="<|endoftext|>", log=lambda m: None, run_map=recording_map)
    assert [t.unit for t in seen] == ["00000", "00001", "00002"] and all(isinstance(t, ShardTask) for t in seen)
    files = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "pool") for p in (tmp_path / "pool").rglob("*") if p.is_file())
    for f in files:
        assert (tmp_path / "here" / f).read_bytes() == (tmp_path / "pool" / f).read_bytes(), f
    m = load_manifest(tmp_path / "pool")
    assert {s["file"].split("/")[1][:11] for s in m["splits"]["train"]["shards"]} == {
        "shard-00000", "shard-00001", "shard-00002"}
    tok = load_tokenizer(tokenizer_file)
    tok.encode_special_tokens = True  # as the shard writer: "<|endoftext|>" in a text is text
    expected = []
    for r in records:
        if _split_of(r["id"], 0.05, 0.0) == "train":
            expected += tok.encode(r["text"], add_special_tokens=False).ids + [0]
    got = [int(t) for tokens, _ in iter_split_tokens(tmp_path / "pool", m, "train") for t in tokens]
    assert got == expected
