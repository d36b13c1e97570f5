"""Each exported format is read back by a reader written here from the format's description
(struct / numpy only, never the writer's code) and compared token for token with the shards."""

import json
import struct

import numpy as np
import pyarrow as pa
import pytest

from corpuskit.export import ExportError, export_shards
from corpuskit.tokenize.manifest import ShardsError


def _docs(shards_dir, split):
    """Every document's token ids of a split, read with plain pyarrow."""
    m = json.loads((shards_dir / "manifest.json").read_text())
    docs = []
    for s in m["splits"][split]["shards"]:
        with pa.memory_map(str(shards_dir / s["file"])) as src:
            docs += pa.ipc.open_stream(src).read_all().column("input_ids").to_pylist()
    return docs


def _flat(docs):
    return [t for d in docs for t in d]


def test_fixture_has_ids_that_need_two_bytes(shards_dir):
    assert max(_flat(_docs(shards_dir, "train"))) > 255


def test_nanogpt(shards_dir, tmp_path):
    export_shards(shards_dir, tmp_path, "nanogpt")
    for split, name in (("train", "train.bin"), ("validation", "val.bin"), ("test", "test.bin")):
        raw = (tmp_path / name).read_bytes()
        expected = _flat(_docs(shards_dir, split))
        assert len(raw) == 2 * len(expected)
        assert list(struct.unpack(f"<{len(raw) // 2}H", raw)) == expected
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["vocab_size"] == 400 and meta["eot_id"] == 0
    assert (tmp_path / "tokenizer.json").read_bytes() == (shards_dir / "tokenizer.json").read_bytes()


def _read_llmc(path):
    raw = path.read_bytes()
    header = struct.unpack("<256i", raw[:1024])
    assert header[0] == 20240520 and header[1] == 1 and not any(header[3:])
    assert len(raw) == 1024 + 2 * header[2]
    return list(struct.unpack(f"<{header[2]}H", raw[1024:]))


@pytest.mark.parametrize("shard_tokens", [10**8, 3000])
def test_llmc(shards_dir, tmp_path, shard_tokens):
    export_shards(shards_dir, tmp_path, "llmc", prefix="fw", shard_tokens=shard_tokens)
    assert _read_llmc(tmp_path / "fw_val_000000.bin") == _flat(_docs(shards_dir, "validation"))
    assert _read_llmc(tmp_path / "fw_test_000000.bin") == _flat(_docs(shards_dir, "test"))
    train_files = sorted(tmp_path.glob("fw_train_*.bin"))
    assert train_files[0].name == "fw_train_000001.bin"
    parts = [_read_llmc(p) for p in train_files]
    assert _flat(parts) == _flat(_docs(shards_dir, "train"))
    if shard_tokens == 3000:
        assert len(parts) > 2
        for p in parts[:-1]:
            assert len(p) >= 3000 and p[-1] == 0  # closed at a document end, once full
    else:
        assert len(parts) == 1


def test_megatron(shards_dir, tmp_path):
    export_shards(shards_dir, tmp_path, "megatron")
    for split in ("train", "validation", "test"):
        docs = _docs(shards_dir, split)
        idx = (tmp_path / f"{split}.idx").read_bytes()
        assert idx[:9] == b"MMIDIDX\x00\x00"
        version, = struct.unpack_from("<Q", idx, 9)
        code, = struct.unpack_from("<B", idx, 17)
        n_seq, n_doc = struct.unpack_from("<QQ", idx, 18)
        assert (version, code, n_seq, n_doc) == (1, 8, len(docs), len(docs) + 1)
        off = 34
        lengths = struct.unpack_from(f"<{n_seq}i", idx, off)
        pointers = struct.unpack_from(f"<{n_seq}q", idx, off + 4 * n_seq)
        doc_idx = struct.unpack_from(f"<{n_doc}q", idx, off + 12 * n_seq)
        assert len(idx) == off + 12 * n_seq + 8 * n_doc
        assert list(doc_idx) == list(range(len(docs) + 1))
        binary = (tmp_path / f"{split}.bin").read_bytes()
        assert len(binary) == 2 * sum(lengths)
        for doc, n, ptr in zip(docs, lengths, pointers):
            assert n == len(doc) and doc[-1] == 0
            assert list(struct.unpack_from(f"<{n}H", binary, ptr)) == doc


def test_datatrove(shards_dir, tmp_path):
    export_shards(shards_dir, tmp_path, "datatrove", tokenizer_name="my-tok")
    m = json.loads((shards_dir / "manifest.json").read_text())
    for split in ("train", "validation", "test"):
        files = sorted((tmp_path / split).glob("*.ds"))
        assert len(files) == len(m["splits"][split]["shards"])
        docs = []
        for f in files:
            raw = f.read_bytes()
            tokens = list(struct.unpack(f"<{len(raw) // 2}H", raw))
            index = (f.parent / (f.name + ".index")).read_bytes()
            ends = struct.unpack(f"<{len(index) // 8}Q", index)
            assert ends[-1] == len(tokens)
            starts = (0,) + ends[:-1]
            docs += [tokens[a:b] for a, b in zip(starts, ends)]
            lines = (f.parent / (f.name + ".metadata")).read_text().split("\n")
            assert lines[0] == "my-tok|2" and int(lines[1]) == len(tokens)
        assert docs == _docs(shards_dir, split)


def test_uint16_formats_refuse_a_large_vocabulary(big_vocab_shards_dir, tmp_path):
    for fmt in ("nanogpt", "llmc"):
        with pytest.raises(ExportError, match="uint16.*65,536"):
            export_shards(big_vocab_shards_dir, tmp_path / fmt, fmt)


def test_large_vocabulary_in_megatron_and_datatrove(big_vocab_shards_dir, tmp_path):
    export_shards(big_vocab_shards_dir, tmp_path / "mg", "megatron")
    idx = (tmp_path / "mg" / "validation.idx").read_bytes()
    assert struct.unpack_from("<B", idx, 17)[0] == 4  # int32
    n = struct.unpack_from("<Q", idx, 18)[0]
    tokens = np.frombuffer((tmp_path / "mg" / "validation.bin").read_bytes(), dtype="<i4")
    assert tokens.tolist() == _flat(_docs(big_vocab_shards_dir, "validation"))
    assert n == len(_docs(big_vocab_shards_dir, "validation"))
    export_shards(big_vocab_shards_dir, tmp_path / "dt", "datatrove")
    f = tmp_path / "dt" / "validation" / "00000.ds"
    assert (f.parent / "00000.ds.metadata").read_text().split("\n")[0].endswith("|4")
    assert np.frombuffer(f.read_bytes(), dtype="<u4").tolist() == _flat(_docs(big_vocab_shards_dir, "validation"))


def test_a_corrupt_shard_is_never_exported(shards_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(shards_dir, copy)
    victim = copy / json.loads((copy / "manifest.json").read_text())["splits"]["train"]["shards"][0]["file"]
    data = bytearray(victim.read_bytes())
    data[-100] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(ShardsError, match="sha256"):
        export_shards(copy, tmp_path / "out", "nanogpt")
    assert not (tmp_path / "out" / "train.bin").exists()


def _fewer_train_shards(shards_dir, tmp_path):
    """A copy of the shard directory whose manifest lists one train shard less."""
    import shutil

    copy = tmp_path / "fewer"
    shutil.copytree(shards_dir, copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["splits"]["train"]["shards"].pop()
    (copy / "manifest.json").write_text(json.dumps(m))
    return copy


@pytest.mark.parametrize("fmt, folder, theirs, options", [
    ("datatrove", "train", ["mine.ds", "00099.ds", "notes.ds.txt"], {}),
    ("llmc", ".", ["corpus_train_000099.bin", "corpus_train_notes.bin"], {"shard_tokens": 1000}),
])
def test_an_export_deletes_only_stale_files_it_wrote_itself(shards_dir, tmp_path, fmt, folder, theirs, options):
    out = tmp_path / "out"
    (out / folder).mkdir(parents=True)
    for name in theirs:  # files of the user's (or of another tool) that look like ours
        (out / folder / name).write_bytes(b"not corpuskit's")
    first = export_shards(shards_dir, out, fmt, **options)
    second = export_shards(_fewer_train_shards(shards_dir, tmp_path), out, fmt, **options)
    stale = set(first) - set(second)
    assert stale and not any(p.exists() for p in stale)  # an earlier export's extra shards are removed
    assert all(p.exists() for p in second)
    for name in theirs:
        assert (out / folder / name).read_bytes() == b"not corpuskit's"
