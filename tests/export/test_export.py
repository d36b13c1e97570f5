"""Each exported format is read back by a reader written here from the format's description
(struct / numpy only, never the writer's code) and compared token for token with the shards."""

import json
import re
import struct

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from corpuskit.cli import cli
from corpuskit.export import ExportError, export_shards
from corpuskit.layout import RunError
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
    first = export_shards(shards_dir, out, fmt, **options)
    (out / folder).mkdir(parents=True, exist_ok=True)
    for name in theirs:  # files the user (or another tool) put into the export folder that look like ours
        (out / folder / name).write_bytes(b"not corpuskit's")
    second = export_shards(_fewer_train_shards(shards_dir, tmp_path), out, fmt, **options)
    stale = set(first) - set(second)
    assert stale and not any(p.exists() for p in stale)  # an earlier export's extra shards are removed
    assert all(p.exists() for p in second)
    for name in theirs:
        assert (out / folder / name).read_bytes() == b"not corpuskit's"


FORMATS = ["nanogpt", "llmc", "megatron", "datatrove"]


def _copy(shards_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(shards_dir, copy)
    return copy


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_refuses_a_folder_it_did_not_create(shards_dir, tmp_path, fmt):
    out = tmp_path / "mine"
    out.mkdir()
    for name in ("tokenizer.json", "train.bin", "meta.json", "train.idx"):  # names an export would write
        (out / name).write_bytes(b"the user's own " + name.encode())
    before = _files(out)
    with pytest.raises(RunError, match=f"{out} is not empty and was not created by corpuskit.*export"):
        export_shards(shards_dir, out, fmt)
    assert _files(out) == before  # nothing overwritten, nothing recorded as corpuskit's
    r = CliRunner().invoke(cli, ["export", str(shards_dir), str(out), "--format", fmt])
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "not created by corpuskit" in r.output
    assert _files(out) == before


def test_an_export_writes_into_an_empty_folder_and_again_into_its_own(shards_dir, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    first = export_shards(shards_dir, out, "megatron")
    assert json.loads((out / ".corpuskit-export.json").read_text())["corpuskit"] == "export"
    assert export_shards(shards_dir, out, "megatron") == first  # a rerun into its own folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_symlinked_tokenizer_is_never_copied_into_an_export(shards_dir, tmp_path, fmt):
    copy = _copy(shards_dir, tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (copy / "tokenizer.json").unlink()
    (copy / "tokenizer.json").symlink_to(secret)
    with pytest.raises(ShardsError, match=f"{copy / 'tokenizer.json'}: is a symbolic link"):
        export_shards(copy, tmp_path / "out", fmt)
    assert not (tmp_path / "out").exists() or not any(b"root:x" in b for b in _files(tmp_path / "out").values())


@pytest.mark.parametrize("target", ["tokenizer.json", "manifest.json", "shard", "split folder"])
def test_a_symlink_where_a_file_is_expected_is_refused_even_to_identical_bytes(shards_dir, tmp_path, target):
    """A link to a file with the right bytes is still refused: what it points to can change after the check."""
    import shutil

    copy = _copy(shards_dir, tmp_path)
    shard = json.loads((copy / "manifest.json").read_text())["splits"]["train"]["shards"][0]["file"]
    link = {"tokenizer.json": copy / "tokenizer.json", "manifest.json": copy / "manifest.json",
            "shard": copy / shard, "split folder": copy / "train"}[target]
    elsewhere = tmp_path / "elsewhere"
    shutil.move(link, elsewhere)
    link.symlink_to(elsewhere)
    with pytest.raises(ShardsError, match=f"{link}: is a symbolic link"):
        export_shards(copy, tmp_path / "out", "megatron")
    r = CliRunner().invoke(cli, ["export", str(copy), str(tmp_path / "out2"), "--format", "megatron"])
    assert r.exit_code == 1 and r.output == f"Error: {link}: is a symbolic link; a shard directory's files must be regular files\n"


def test_a_replaced_tokenizer_is_refused_by_its_sha256(shards_dir, tmp_path):
    copy = _copy(shards_dir, tmp_path)
    tok = json.loads((copy / "tokenizer.json").read_text())
    tok["model"]["vocab"]["zzz"] = tok["model"]["vocab"].pop(next(iter(tok["model"]["vocab"])))  # another tokenizer
    (copy / "tokenizer.json").write_text(json.dumps(tok))
    for fmt in FORMATS:
        with pytest.raises(ShardsError, match=f"{copy / 'tokenizer.json'}: sha256 differs from the manifest's "
                                              "tokenizer.sha256"):
            export_shards(copy, tmp_path / fmt, fmt)
        assert not (tmp_path / fmt).exists()


@pytest.mark.parametrize("field, edit, message", [
    ("tokenizer.vocab_size", lambda m: m["tokenizer"].pop("vocab_size"), r"an integer from 1 to 2\*\*32, missing"),
    ("tokenizer.vocab_size", lambda m: m["tokenizer"].__setitem__("vocab_size", "400"), "got '400'"),
    ("tokenizer.eot_id", lambda m: m["tokenizer"].pop("eot_id"), "missing"),
    ("tokenizer.eot_id", lambda m: m["tokenizer"].__setitem__("eot_id", 400), r"below vocab_size \(400\), got 400"),
    ("tokenizer.sha256", lambda m: m["tokenizer"].pop("sha256"), "missing"),
    ("dtype", lambda m: m.pop("dtype"), "one of uint16, uint32, missing"),
    ("dtype", lambda m: m.__setitem__("dtype", "int8"), "got 'int8'"),
    ("bytes_per_token", lambda m: m.pop("bytes_per_token"), "null or a positive number, missing"),
    ("bytes_per_token", lambda m: m.__setitem__("bytes_per_token", -1), "got -1"),
    ("splits.train.shards[0].n_tokens", lambda m: m["splits"]["train"]["shards"][0].__setitem__("n_tokens", None),
     "got None"),
])
def test_a_manifest_missing_a_field_is_refused_on_load_naming_it(shards_dir, tmp_path, field, edit, message):
    copy = _copy(shards_dir, tmp_path)
    m = json.loads((copy / "manifest.json").read_text())
    edit(m)
    (copy / "manifest.json").write_text(json.dumps(m))
    for fmt in FORMATS:
        r = CliRunner().invoke(cli, ["export", str(copy), str(tmp_path / fmt), "--format", fmt])
        assert r.exit_code == 1 and r.output.count("\n") == 1, r.output  # one line, no traceback
        assert r.output.startswith(f"Error: {copy / 'manifest.json'}: {field}: expected ")
        assert re.search(message, r.output), r.output


def _lock_held_by_a_live_process(folder):
    """The folder's lock, held by a process that is alive (a sleeping child): another corpuskit writer."""
    import socket
    import subprocess

    child = subprocess.Popen(["sleep", "60"])
    (folder / ".corpuskit-lock").write_text(json.dumps({"pid": child.pid, "host": socket.gethostname()}))
    return child


def test_a_second_export_into_a_folder_in_use_is_refused(shards_dir, tmp_path):
    out = tmp_path / "out"
    first = export_shards(shards_dir, out, "nanogpt")
    child = _lock_held_by_a_live_process(out)
    before = _files(out)
    try:
        with pytest.raises(RunError, match=f"{out} is in use by another corpuskit export \\(pid {child.pid}"):
            export_shards(shards_dir, out, "megatron")
    finally:
        child.kill()
        child.wait()
    assert _files(out) == before  # the refused export wrote nothing and left the holder's lock
    assert export_shards(shards_dir, out, "nanogpt") == first  # its holder gone, the lock is taken over
    assert not (out / ".corpuskit-lock").exists()


def test_an_export_removes_a_killed_exports_temporaries_and_keeps_the_users(shards_dir, tmp_path):
    out = tmp_path / "out"
    export_shards(shards_dir, out, "nanogpt")
    (out / ".train.bin.tmp-99999").write_bytes(b"half")  # what a killed export leaves
    (out / ".my.tmp-123").write_bytes(b"the user's")
    export_shards(shards_dir, out, "nanogpt")
    assert not (out / ".train.bin.tmp-99999").exists()
    assert (out / ".my.tmp-123").read_bytes() == b"the user's"


def test_megatron_refuses_ids_that_int32_cannot_hold(shards_dir, tmp_path):
    copy = _copy(shards_dir, tmp_path)
    m = json.loads((copy / "manifest.json").read_text())
    m["tokenizer"]["vocab_size"], m["dtype"] = 2**31 + 1, "uint32"
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ExportError, match="megatron stores tokens as int32, but this tokenizer has 2,147,483,649"):
        export_shards(copy, tmp_path / "out", "megatron")
