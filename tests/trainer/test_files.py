import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from trainer.__main__ import cli
from trainer.errors import RunDirError
from trainer.files import LOCK, folder_lock, remove_temporaries
from trainer.metrics import read_metrics
from trainer.train import train

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
LONG_RUN = ["model.n_layer=1", "model.n_head=2", "model.n_embd=16", "model.block_size=16", "batch_size=2",
            "max_steps=100000", "warmup_steps=1", "log_interval=1", "progress=false", "plot=false", "sample_tokens=0",
            "threads=1", "dtype=float32"]


def start_training(shards, out, tmp_path):
    """A real `python -m trainer train` in another process, returned once it holds `out`'s lock."""
    config = tmp_path / "c.yaml"
    config.write_text("{}\n")
    proc = subprocess.Popen([sys.executable, "-m", "trainer", "train", "--config", str(config), "--data", shards,
                             "--out", str(out), *LONG_RUN], env=ENV, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists():  # the lock is taken before the first metrics line
        assert proc.poll() is None and time.time() < deadline, "the training process did not start"
        time.sleep(0.2)
    return proc


def test_a_second_run_on_the_same_out_is_refused_and_a_killed_or_zombie_owner_is_not_a_holder(shards, tiny_config,
                                                                                              losses, tmp_path):
    out = tmp_path / "run"
    proc = start_training(shards, out, tmp_path)
    try:
        owner = json.loads((out / LOCK).read_text())
        assert owner["pid"] == proc.pid
        result = CliRunner().invoke(cli, ["train", "--config", str(tmp_path / "c.yaml"), "--data", shards,
                                          "--out", str(out), "--overwrite", *LONG_RUN])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert result.output.strip() == (f"Error: {out} is in use by another training run (pid {proc.pid} on "
                                         f"{owner['host']}); wait for it, or delete {out / LOCK} if it is gone")
        with pytest.raises(RunDirError, match="in use by another training run"):  # in this process too
            train(tiny_config(out, "max_steps=2"), resume=None, overwrite=True)
        assert proc.poll() is None  # the first run goes on, its files untouched
    finally:
        proc.send_signal(signal.SIGKILL)
    # Not waited for: the killed run is a zombie (state Z) until reaped, and its pid still answers
    # kill(pid, 0). Its lock is stale all the same.
    time.sleep(0.5)
    assert open(f"/proc/{proc.pid}/stat").read().rpartition(")")[2].split()[0] == "Z"
    train(tiny_config(out, "max_steps=3"), overwrite=True)
    assert len(losses(out)) == 3 and not (out / LOCK).exists()
    proc.wait()  # reaped: now no such process at all
    (out / LOCK).write_text(json.dumps({"pid": proc.pid, "host": owner["host"]}))
    train(tiny_config(out, "max_steps=2"), overwrite=True)
    assert len(losses(out)) == 2 and not (out / LOCK).exists()


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    (tmp_path / LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    with pytest.raises(RunDirError, match="pid 1 on elsewhere"):
        with folder_lock(str(tmp_path)):
            pass
    assert json.loads((tmp_path / LOCK).read_text())["host"] == "elsewhere"


def test_a_refused_run_leaves_no_folder(tmp_path):
    with pytest.raises(ValueError):
        with folder_lock(str(tmp_path / "new")):
            raise ValueError("refused before writing")
    assert not (tmp_path / "new").exists()


def test_only_the_trainers_own_temporaries_are_removed(tmp_path):
    for name in (".tmp-ckpt-000012-4242", ".tmp-ckpt-000006-77.old", ".tmp-ckpt-000003-5.old", "ckpt-000003"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(name.encode())
    for name in (".metrics.jsonl.tmp-99", ".loss.png.tmp-1", ".train.log.tmp-7", ".my.tmp-123", "notes.tmp-5",
                 ".tmp-ckpt-mine"):
        (tmp_path / name).write_text("x")
    remove_temporaries(str(tmp_path))
    # .old whose checkpoint is missing: killed between save_checkpoint's renames, so it is put back
    assert (tmp_path / "ckpt-000006" / "model.safetensors").read_bytes() == b".tmp-ckpt-000006-77.old"
    assert (tmp_path / "ckpt-000003" / "model.safetensors").read_bytes() == b"ckpt-000003"
    assert sorted(os.listdir(tmp_path)) == [".my.tmp-123", ".tmp-ckpt-mine", "ckpt-000003", "ckpt-000006",
                                            "notes.tmp-5"]


def test_resume_after_a_kill_mid_checkpoint_leaves_no_temporary_and_no_duplicate_rows(tiny_config, tmp_path):
    out = tmp_path / "run"
    train(tiny_config(out, "max_steps=12", "checkpoint_interval=6", "eval_interval=6", "eval_batches=1"))
    # The state a kill during ckpt-000012's write leaves: the checkpoint complete under its temporary
    # name, every metrics row of steps 7-12 written, and a last line cut short.
    os.rename(out / "ckpt-000012", out / ".tmp-ckpt-000012-4242")
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 13, "lo')
    train(None, resume=str(out / "ckpt-000006"))
    rows = read_metrics(out / "metrics.jsonl")
    steps = [r["step"] for r in rows if "loss" in r]
    assert steps == list(range(1, 13))  # each step once
    assert [r["step"] for r in rows if "val_loss" in r] == [6, 12]
    assert sorted(os.listdir(out)) == ["ckpt-000006", "ckpt-000012", "metrics.jsonl", "train.log"]
