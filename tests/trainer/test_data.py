import hashlib
import json
import os

import numpy as np
import pyarrow as pa
import pytest

from trainer.data import Batches, Shards, eval_batches, eval_windows


def all_tokens(path, split):
    files = sorted(os.listdir(os.path.join(path, split)))
    tables = [pa.ipc.open_stream(pa.memory_map(os.path.join(path, split, f))).read_all() for f in files]
    return np.concatenate([t.column("input_ids").combine_chunks().flatten().to_numpy() for t in tables]).astype(np.int64)


def test_stream_matches_shards_across_chunk_boundaries(shards):
    stream, expected = Shards(shards).tokens("train"), all_tokens(shards, "train")
    assert len(stream) == len(expected) and len(stream._chunks) > 4  # several files and record batches
    for start in list(stream._starts[1:-1]) + [0, len(expected) - 50]:
        start = int(start) - 3 if start > 3 else int(start)
        np.testing.assert_array_equal(stream.window(start, 50), expected[start : start + 50])


def test_manifest_errors_are_clear(shards, tmp_path):
    from trainer.errors import ShardsError

    with pytest.raises(ShardsError, match="manifest.json"):
        Shards(str(tmp_path))
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ShardsError, match=f"{tmp_path / 'manifest.json'}: invalid JSON"):
        Shards(str(tmp_path))
    manifest = json.load(open(os.path.join(shards, "manifest.json")))
    manifest["format_version"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="v99"):
        Shards(str(tmp_path))


def test_random_batches_are_deterministic_and_shifted(shards):
    stream = Shards(shards).tokens("train")
    a, b = Batches(stream, 4, 16, seed=1), Batches(stream, 4, 16, seed=1)
    for _ in range(3):
        (xa, ya), (xb, yb) = a.next(), b.next()
        assert xa.shape == (4, 16) and xa.dtype.is_floating_point is False
        assert (xa == xb).all() and (ya == yb).all()
        assert (xa[:, 1:] == ya[:, :-1]).all()
    assert not (Batches(stream, 4, 16, seed=2).next()[0] == Batches(stream, 4, 16, seed=1).next()[0]).all()


def test_sequential_epoch_visits_every_window_once(shards):
    stream = Shards(shards).tokens("train")
    b = Batches(stream, 5, 16, seed=0, mode="sequential")
    starts = [b._window_start(k) for k in range(b.n_windows)]
    assert sorted(starts) == [i * 16 for i in range(b.n_windows)]
    assert starts != sorted(starts)  # shuffled
    assert [b._window_start(b.n_windows + k) for k in range(5)] != starts[:5]  # reshuffled next epoch


def test_cursor_restores_position_and_rejects_other_settings(shards):
    stream = Shards(shards).tokens("train")
    a = Batches(stream, 4, 16, seed=3, mode="sequential")
    for _ in range(7):
        a.next()
    b = Batches(stream, 4, 16, seed=3, mode="sequential")
    b.load_state_dict(a.state_dict())
    assert (a.next()[0] == b.next()[0]).all()
    with pytest.raises(ValueError, match="seed"):
        Batches(stream, 4, 16, seed=4, mode="sequential").load_state_dict(a.state_dict())


def test_ranks_split_the_same_global_batches(shards):
    stream = Shards(shards).tokens("train")
    single = Batches(stream, 4, 16, seed=0)
    ranks = [Batches(stream, 4, 16, seed=0, rank=r, world_size=2) for r in range(2)]
    for _ in range(3):
        one = [single.next()[0] for _ in range(2)]
        assert (ranks[0].next()[0] == one[0]).all() and (ranks[1].next()[0] == one[1]).all()


def test_eval_windows_cover_every_predicted_token_once(shards):
    stream = Shards(shards).tokens("validation")
    ys = [y for _, y in eval_batches(stream, 16, 4, eval_windows(stream, 16))]
    assert sum(y.numel() for y in ys) == len(stream) - 1
    assert len(eval_windows(stream, 16, max_windows=3)) == 3


def _rename_validation(m):
    m["splits"]["../../../../victim"] = m["splits"].pop("validation")


def _set_first_train_file(value):
    return lambda m: m["splits"]["train"]["shards"][0].__setitem__("file", value)


@pytest.mark.parametrize("edit, key", [
    (_rename_validation, "splits['../../../../victim']"),
    (lambda m: m["tokenizer"].__setitem__("file", "../../../../etc/passwd"), "tokenizer.file"),
    (lambda m: m["tokenizer"].__setitem__("file", "/etc/passwd"), "tokenizer.file"),
    (_set_first_train_file("train/../../../../outside.arrow"), "splits.train.shards[0].file"),
    (_set_first_train_file("/etc/passwd"), "splits.train.shards[0].file"),
    (_set_first_train_file("validation/shard-00000.arrow"), "splits.train.shards[0].file"),
])
def test_manifest_names_must_be_plain(copy_shards, edit, key):
    from trainer.errors import ShardsError

    path = copy_shards(edit)
    with pytest.raises(ShardsError) as err:
        Shards(path)
    assert os.path.join(path, "manifest.json") in str(err.value) and key in str(err.value)


def test_overwritten_tokens_are_refused(copy_shards, rewrite_tokens):
    from trainer.errors import ShardsError

    path = copy_shards()
    victim = os.path.join(path, "train", "shard-00001.arrow")
    rewrite_tokens(victim)
    assert Shards(path).tokens("validation")  # the other splits are unaffected
    with pytest.raises(ShardsError, match=f"{victim}: sha256 differs from the manifest"):
        Shards(path).tokens("train")


@pytest.mark.parametrize("damage, fix_checksum, message", [
    ("truncate", False, "sha256 differs"), ("random", False, "sha256 differs"),
    ("truncate", True, "not a readable shard"), ("random", True, "not a readable shard"),
])
def test_a_damaged_shard_is_named(copy_shards, damage, fix_checksum, message):
    from trainer.errors import ShardsError

    path = copy_shards()
    victim = os.path.join(path, "train", "shard-00001.arrow")
    data = open(victim, "rb").read()
    with open(victim, "wb") as f:
        f.write(data[: len(data) // 2] if damage == "truncate" else np.random.default_rng(0).bytes(len(data)))
    if fix_checksum:  # as if the manifest had been rewritten to match: the reader must still name the file
        manifest = json.loads(open(os.path.join(path, "manifest.json")).read())
        manifest["splits"]["train"]["shards"][1]["sha256"] = hashlib.sha256(open(victim, "rb").read()).hexdigest()
        with open(os.path.join(path, "manifest.json"), "w") as f:
            json.dump(manifest, f)
    with pytest.raises(ShardsError, match=f"{victim}: {message}"):
        Shards(path).tokens("train")


def _drop(*keys):
    def edit(manifest):
        *parents, last = keys
        for k in parents:
            manifest = manifest[k]
        del manifest[last]
    return edit


@pytest.mark.parametrize("edit, message", [
    (_drop("tokenizer", "vocab_size"), "tokenizer.vocab_size: expected an integer >= 1, got nothing"),
    (_drop("tokenizer", "eot_id"), r"tokenizer.eot_id: expected an integer in \[0, 320\), got nothing"),
    (_drop("tokenizer", "sha256"), "tokenizer.sha256: expected the tokenizer file's sha256"),
    (_drop("dtype"), "dtype: expected 'uint16' or 'uint32', got nothing"),
    (_drop("splits", "validation", "bytes_per_token"), "splits.validation.bytes_per_token: expected a number > 0, "
                                                       "got nothing"),
    (lambda m: m["tokenizer"].__setitem__("vocab_size", "320"), "tokenizer.vocab_size: expected an integer >= 1, got '320'"),
    (lambda m: m["tokenizer"].__setitem__("eot_id", 320), r"tokenizer.eot_id: expected an integer in \[0, 320\), got 320"),
    (lambda m: m.__setitem__("dtype", "int8"), "dtype: expected 'uint16' or 'uint32', got 'int8'"),
    (lambda m: m["splits"]["train"].__setitem__("bytes_per_token", -1.0), "splits.train.bytes_per_token"),
    (_drop("splits", "train", "shards", 1, "n_tokens"), r"splits.train.shards\[1\].n_tokens: expected an integer"),
])
def test_a_manifest_field_missing_or_wrong_is_named_on_read(copy_shards, edit, message):
    from trainer.errors import ShardsError

    path = copy_shards(edit)
    with pytest.raises(ShardsError, match=f"^{os.path.join(path, 'manifest.json')}: {message}"):
        Shards(path)


@pytest.mark.parametrize("name", ["tokenizer.json", "manifest.json", "train/shard-00001.arrow"])
def test_a_symlink_where_a_file_is_expected_is_refused(copy_shards, tmp_path, name):
    from trainer.errors import ShardsError

    path = copy_shards()
    target = tmp_path / "elsewhere"
    os.rename(os.path.join(path, name), target)  # the same bytes, so only the link itself is wrong
    os.symlink(target, os.path.join(path, name))
    with pytest.raises(ShardsError, match=f"^{os.path.join(path, name)}: is a symbolic link"):
        Shards(path).tokens("train")


def test_a_split_folder_that_is_a_symlink_is_refused(copy_shards, tmp_path):
    from trainer.errors import ShardsError

    path = copy_shards()
    os.rename(os.path.join(path, "train"), tmp_path / "train")
    os.symlink(tmp_path / "train", os.path.join(path, "train"))
    with pytest.raises(ShardsError, match=f"^{os.path.join(path, 'train')}: is a symbolic link"):
        Shards(path).tokens("train")


def test_a_tokenizer_other_than_the_manifests_is_refused(copy_shards, other_shards):
    from trainer.errors import ShardsError

    path = copy_shards()
    with open(os.path.join(other_shards, "tokenizer.json"), "rb") as src:  # same vocabulary size, other merges
        open(os.path.join(path, "tokenizer.json"), "wb").write(src.read())
    with pytest.raises(ShardsError, match=f"^{os.path.join(path, 'tokenizer.json')}: sha256 differs from the "
                                          "manifest's tokenizer.sha256"):
        Shards(path)
