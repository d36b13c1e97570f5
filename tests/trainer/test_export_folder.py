"""Where `export-hf` may write: never over its checkpoint, never into a folder it does not own."""

import os

import pytest
from click.testing import CliRunner

from trainer.__main__ import cli
from trainer.checkpoint import load_model, save_checkpoint
from trainer.config import load_config
from trainer.data import Shards
from trainer.export_hf import MARKER, NAMES, ExportError, export
from trainer.model import build_model


@pytest.fixture
def ckpt(shards, tmp_path):
    """A checkpoint at tmp_path/run/ckpt-000001 (a tiny Llama-style model)."""
    cfg = load_config(None, ["model.n_layer=1", "model.n_head=2", "model.n_embd=16", "model.block_size=16",
                             f"data={shards}"])
    data = Shards(shards)
    cfg.model.vocab_size = data.vocab_size
    return save_checkpoint(str(tmp_path / "run" / "ckpt-000001"), build_model(cfg.model), cfg, data)


def contents(folder):
    return {name: open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))}


@pytest.mark.parametrize("where, out", [("is", "."), ("is inside", "hf"), ("holds", ".."), ("holds", "../..")])
def test_export_over_or_into_its_own_checkpoint_is_refused_before_writing(ckpt, where, out):
    before = contents(ckpt)
    target = os.path.normpath(os.path.join(ckpt, out))
    result = CliRunner().invoke(cli, ["export-hf", "--checkpoint", ckpt, target])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.strip() == f"Error: {target} {where} the checkpoint {ckpt}; export to a folder of its own"
    assert contents(ckpt) == before and load_model(ckpt)  # untouched, and it still loads
    assert not os.path.exists(os.path.join(ckpt, "hf"))


def test_export_through_a_link_to_its_checkpoint_is_refused(ckpt, tmp_path):
    os.symlink(ckpt, tmp_path / "link")
    with pytest.raises(ExportError, match="is the checkpoint"):
        export(ckpt, str(tmp_path / "link"))


def test_export_folder_ownership(ckpt, tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("mine")  # a user's folder: never written to
    with pytest.raises(ExportError, match=f"^{hf} is not empty and was not made by export-hf"):
        export(ckpt, str(hf))
    assert contents(hf) == {"config.json": b"mine"}

    fresh = tmp_path / "fresh"
    export(ckpt, str(fresh))
    assert sorted(os.listdir(fresh)) == sorted([MARKER, *NAMES])
    (fresh / "notes.txt").write_text("mine")
    (fresh / ".config.json.tmp-4242").write_text("half")  # a killed export's temporary
    first = contents(fresh)
    with pytest.raises(ExportError, match=f"^{fresh} already holds an export .*; pass --force"):
        export(ckpt, str(fresh))
    assert contents(fresh) == first
    result = CliRunner().invoke(cli, ["export-hf", "--checkpoint", ckpt, "--force", str(fresh)])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(fresh)) == sorted([MARKER, "notes.txt", *NAMES])  # only its own names replaced
    assert (fresh / "notes.txt").read_text() == "mine"

    empty = tmp_path / "empty"
    empty.mkdir()
    export(ckpt, str(empty))  # an empty folder is taken, and marked
    assert (empty / MARKER).is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="is a file, not a folder"):
        export(ckpt, str(tmp_path / "file"))


def test_a_checkpoint_tokenizer_that_is_a_link_or_another_file_is_not_exported(ckpt, tmp_path):
    from trainer.errors import CheckpointError

    tok = os.path.join(ckpt, "tokenizer.json")
    os.rename(tok, tmp_path / "tokenizer.json")
    os.symlink("/etc/passwd", tok)
    with pytest.raises(CheckpointError, match=f"^{tok}: is a symbolic link"):
        export(ckpt, str(tmp_path / "hf"))
    assert not os.path.exists(tmp_path / "hf")  # refused before anything was written
    os.unlink(tok)
    with open(tok, "w") as f:
        f.write('{"version": "1.0"}')
    with pytest.raises(CheckpointError, match=f"^{tok}: sha256 differs from the checkpoint's manifest.json"):
        export(ckpt, str(tmp_path / "hf"))
    assert not os.path.exists(tmp_path / "hf")
