import json
import math
import os
import re
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from trainer.autotune import decide_dtype
from trainer.checkpoint import load_training_state
from trainer.config import apply_overrides
from trainer.train import Schedule, steps_within_time, train

# every option of the modern recipe at once (each one on its own is covered by test_model.py)
RECIPE = ["optimizer=muon", "muon_lr=0.02", "embed_lr=0.05", "beta1=0.8", "beta2=0.99", "schedule=wsd",
          "model.qk_norm=true", "model.mlp=relu2", "model.tie_weights=false", "model.logit_softcap=15"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_gpt_loss_falls_and_checkpoint_is_complete(tiny_config, losses, tmp_path, capsys):
    book = tmp_path / "book.txt.gz"
    book.write_bytes(__import__("gzip").compress(b"The cat sat on the mat. The dog ran under a big red house.\n" * 20))
    result = train(tiny_config(tmp_path / "run", "max_steps=40", "plot=true", "sample_tokens=8", "eval_tasks=copa",
                               f"heldout={book}"))
    curve = losses(tmp_path / "run")
    assert len(curve) == 40
    assert sum(curve[-5:]) / 5 < sum(curve[:5]) / 5 - 1.0
    assert result["val_loss"] < curve[0] - 1.0
    assert math.isclose(result["val_perplexity"], math.exp(result["val_loss"]))
    ckpt = result["checkpoint"]
    assert sorted(os.listdir(ckpt)) == ["config.json", "manifest.json", "model.safetensors", "scores.json",
                                        "tokenizer.json", "training_state.pt"]
    scores = json.load(open(os.path.join(ckpt, "scores.json")))  # what export-hf's card and the report show
    assert scores["validation"]["bits_per_byte"] == result["val_bits_per_byte"] and scores["step"] == 40
    assert scores["tasks"]["copa"]["n"] == 100 and scores["tasks_spec"] == "copa"
    assert scores["core"] == result["core"] == scores["tasks"]["copa"]["centered"]
    assert scores["heldout"] == result["heldout"] and 0 < scores["heldout"]["book"] == scores["heldout"]["mean"] < 4
    rows = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert rows[-1] == {"step": 40, "heldout": scores["heldout"], "tasks": scores["tasks"], "core": scores["core"]}
    out = capsys.readouterr().out
    assert f"held-out bits per byte: book {scores['heldout']['book']:.4f} | mean " in out
    assert f"tasks (copa): copa {scores['tasks']['copa']['accuracy']:.3f} | mean centered" in out
    assert json.load(open(os.path.join(ckpt, "config.json")))["model"]["vocab_size"] > 256
    assert "lm_head.weight" not in load_file(os.path.join(ckpt, "model.safetensors"))  # tied: stored once
    state = load_training_state(ckpt)  # torch.load(weights_only=True)
    assert state["step"] == 40 and isinstance(state["rng"][0]["torch"], torch.Tensor)
    assert os.path.getsize(tmp_path / "run" / "loss.png") > 1000
    assert not [d for d in os.listdir(tmp_path / "run") if d.startswith(".tmp")]  # no half-written checkpoint
    assert isinstance(result["sample"], str) and result["sample"].startswith("The")


@pytest.mark.parametrize("options", [["dtype=bfloat16"], ["dtype=bfloat16", *RECIPE]])
def test_bf16_autocast_trains(tiny_config, losses, tmp_path, options):
    result = train(tiny_config(tmp_path, *options, "max_steps=30"))
    curve = losses(tmp_path)
    assert sum(curve[-5:]) / 5 < sum(curve[:5]) / 5 - 1.0 and math.isfinite(result["val_loss"])


def test_dtype_auto_is_measured_and_kept_on_resume(tiny_config, tmp_path, capsys):
    halted = train(tiny_config(tmp_path / "run", "dtype=auto", "max_steps=6", "halt_at_step=3"))
    note = capsys.readouterr().out
    assert re.search(r"dtype auto: (bfloat16|float32) \(matmul 256x32x128, median of 7: float32 [\d.]+ ms, "
                     r"bfloat16 [\d.]+ ms; bf16 [\d.]+x (>=|<) 1.3x\)", note)
    assert "compile auto: off" in note
    chosen = load_training_state(halted["checkpoint"])["dtype"]
    record = json.load(open(os.path.join(halted["checkpoint"], "config.json")))["autotune"]
    assert record["dtype"]["dtype"] == chosen
    resumed = train(None, resume=halted["checkpoint"])
    assert f"dtype {chosen} (as the run began)" in capsys.readouterr().out
    assert json.load(open(os.path.join(resumed["checkpoint"], "config.json")))["autotune"] == record  # as measured


@pytest.mark.parametrize("fp32, bf16, choice", [
    ([2.0] * 7, [1.0] * 7, "bfloat16"),
    ([1.3] * 7, [1.0] * 7, "bfloat16"),  # exactly the margin
    ([1.2] * 7, [1.0] * 7, "float32"),  # faster, but within what noise and precision are worth
    ([1.0] * 7, [0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1], "float32"),  # three freak fast bf16 timings do not decide
    ([1.0, 1.0, 1.0, 1.0, 9.0, 9.0, 9.0], [1.0] * 7, "float32"),  # nor three slowed fp32 ones
    ([2.0, 2.2, 1.9, 2.1, 2.0, 0.4, 2.0], [1.0, 1.1, 1.0, 1.0, 1.0, 1.0, 1.2], "bfloat16"),
])
def test_dtype_auto_decision_is_a_function_of_the_timings(fp32, bf16, choice):
    times = {"float32": fp32, "bfloat16": bf16}
    assert decide_dtype(times)[0] == choice
    assert decide_dtype(times) == decide_dtype({k: list(v) for k, v in times.items()})


def test_plot_is_skipped_with_a_warning_without_matplotlib(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.warns(UserWarning, match="matplotlib is not installed"):
        train(tiny_config(tmp_path, "max_steps=2", "plot=true"))
    assert not os.path.exists(tmp_path / "loss.png") and os.path.exists(tmp_path / "metrics.jsonl")


def test_lstm_baseline_loss_falls(tiny_config, losses, tmp_path):
    train(tiny_config(tmp_path, "model.arch=lstm", "max_steps=40", "lr=1e-2"))
    curve = losses(tmp_path)
    assert sum(curve[-5:]) / 5 < sum(curve[:5]) / 5 - 1.0


@pytest.mark.parametrize("options", [["sampling=random"], ["sampling=sequential"],
                                     ["sampling=random", "dtype=bfloat16", *RECIPE]])
def test_resume_is_bitwise_identical(tiny_config, losses, tmp_path, options):
    common = [*options, "model.dropout=0.1", "max_steps=16", "grad_accum=2"]
    train(tiny_config(tmp_path / "straight", *common))
    halted = train(tiny_config(tmp_path / "first", *common, "halt_at_step=8"))
    assert halted["step"] == 8 and losses(tmp_path / "first") == losses(tmp_path / "straight")[:8]
    train(None, resume=halted["checkpoint"], overrides=[f"out={tmp_path / 'second'}"])
    assert losses(tmp_path / "second") == losses(tmp_path / "straight")[8:]


def test_resume_changes_length_only_when_overrides_ask(tiny_config, tmp_path):
    halted = train(tiny_config(tmp_path / "first", "max_steps=16", "halt_at_step=8"))["checkpoint"]
    longer = train(None, resume=halted, overrides=[f"out={tmp_path / 'longer'}", "max_steps=20"])
    assert longer["step"] == 20
    assert load_training_state(longer["checkpoint"])["scheduler"]["lr_lambdas"][0]["max_steps"] == 20
    # A config given whole (as with --config) carries max_steps as a cap: the checkpoint's length stands.
    same = train(tiny_config(tmp_path / "same", "max_steps=99"), resume=halted)
    assert same["step"] == 16


def test_time_budget_refit():
    # 20 steps in 2.05 s at 0.1 s a step; validating 2000 tokens at 100 tokens a step costs 0.7 s,
    # which leaves 7.25 s: 72 more steps.
    assert steps_within_time(20, 1000, 0.1, 2.05, 10.0, 2000, 100) == 92
    assert steps_within_time(20, 50, 0.1, 2.05, 10.0, 2000, 100) == 50  # max_steps stays a cap
    assert steps_within_time(20, 1000, 0.1, 12.0, 10.0, 2000, 100) == 21  # over budget: one more step


@pytest.fixture
def fake_clock(monkeypatch):
    """The time budget's clock, advanced only by the batches drawn: seconds(batch_size) a micro-batch.
    A run's length then depends on this arithmetic, not on the machine's speed or load."""
    import trainer.budget as budget_module
    import trainer.train as train_module

    clock = {"t": 0.0, "seconds": lambda b: 0.05}
    real_next = train_module.Batches.next

    def next_batch(self):
        clock["t"] += clock["seconds"](self.B)
        return real_next(self)

    monkeypatch.setattr(train_module.Batches, "next", next_batch)
    monkeypatch.setattr(budget_module, "now", lambda: clock["t"])
    return clock


def test_wsd_time_budget_is_refitted_and_decays_in_full(tiny_config, tmp_path, fake_clock):
    fake_clock["seconds"] = lambda b: 0.5 if fake_clock["t"] < 4 else 0.05  # a busy start, then 10x faster
    result = train(tiny_config(tmp_path, "max_steps=100000", "max_time=10", "warmup_steps=10", "schedule=wsd",
                               "decay_frac=0.3", "min_lr=0", "log_interval=5"))
    state = load_training_state(result["checkpoint"])["scheduler"]
    # 8 slow steps (4 s), then ~6 s minus the final validation's share at 0.05 s a step: far more
    # than the 20 steps the slow start alone would have planned
    assert 8 + 80 < result["step"] <= 8 + 120 and fake_clock["t"] <= 10
    assert state["lr_lambdas"][0]["max_steps"] == result["step"]
    assert state["_last_lr"][0] == 0.0  # the decay ran in full, to min_lr
    lrs = [r["lr"] for r in map(json.loads, open(tmp_path / "metrics.jsonl")) if "lr" in r]
    assert max(lrs) == 3e-3 and lrs[-1] < 3e-3 * 0.3  # warmed up, then decayed toward min_lr by the end


def test_a_budget_too_short_for_min_steps_halves_the_batch(tiny_config, tmp_path, fake_clock, capsys):
    fake_clock["seconds"] = lambda b: 0.002 * b  # compute bound: half the batch, half the time
    # batch 8: 1.5 s hold ~90 steps, fewer than 100; batch 4: ~180
    result = train(tiny_config(tmp_path, "max_steps=100000", "max_time=1.5", "min_steps=100", "schedule=wsd",
                               "min_lr=0"))
    assert "fewer than min_steps=100 steps of batch 8 fit in max_time=1.5s: batch 4 from here" in capsys.readouterr().out
    ckpt = result["checkpoint"]
    assert json.load(open(os.path.join(ckpt, "config.json")))["batch_size"] == 4
    assert load_training_state(ckpt)["data"]["batch_size"] == 4
    assert 100 <= result["step"] <= 190 and fake_clock["t"] <= 1.5
    assert load_training_state(ckpt)["scheduler"]["_last_lr"][0] == 0.0
    resumed = train(None, resume=ckpt, overrides=[f"out={tmp_path / 'more'}", f"max_steps={result['step'] + 2}"])
    assert resumed["step"] == result["step"] + 2  # the checkpoint resumes with the batch it ended on


def test_schedules():
    cfg = apply_overrides(__import__("trainer").TrainConfig(), ["lr=1.0", "min_lr=0.1", "warmup_steps=10",
                                                                "max_steps=110", "decay_frac=0.5"])
    cos, wsd = Schedule(cfg), Schedule(apply_overrides(cfg, ["schedule=wsd"]))
    assert cos(0) == pytest.approx(0.1) and cos(9) == pytest.approx(1.0)
    assert cos(60) == pytest.approx(0.55) and cos(110) == pytest.approx(0.1)
    # wsd: stable until step 55 (= 110 - 0.5 * 110), then linear to min_lr
    assert wsd(30) == 1.0 and wsd(55) == 1.0 and wsd(66) == pytest.approx(0.82) and wsd(110) == pytest.approx(0.1)


def test_init_from_transfers_weights(other_shards, tiny_config, losses, tmp_path):
    base = train(tiny_config(tmp_path / "base", "max_steps=30"))
    tuned = train(tiny_config(tmp_path / "tuned", "max_steps=3", f"init_from={base['checkpoint']}",
                              "model.n_layer=5"))  # architecture comes from the checkpoint
    assert json.load(open(os.path.join(tuned["checkpoint"], "config.json")))["model"]["n_layer"] == 2
    assert losses(tmp_path / "tuned")[0] < losses(tmp_path / "base")[0] - 1.0
    with pytest.raises(ValueError, match="different tokenizer"):  # another tokenizer, of the same vocabulary size
        train(tiny_config(tmp_path / "bad", f"data={other_shards}", f"init_from={base['checkpoint']}"))


def test_ddp_two_processes_match_one_with_double_accumulation(shards, losses, tmp_path):
    args = ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.block_size=32", "batch_size=4",
            "max_steps=8", "warmup_steps=2", "log_interval=1", "progress=false", "plot=false", "sample_tokens=0",
            "threads=1", "dtype=float32", "optimizer=muon", "embed_lr=0.05", "model.qk_norm=true"]
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    config = tmp_path / "tiny.yaml"
    config.write_text("{}\n")
    base = [sys.executable, "-m", "trainer", "train", "--config", str(config), "--data", shards]
    subprocess.run(base + ["--out", str(tmp_path / "one"), "grad_accum=2", *args], check=True, env=env,
                   cwd=tmp_path, timeout=300)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "trainer", "train", "--config", str(config), "--data", shards,
                    "--out", str(tmp_path / "two"), "grad_accum=1", *args], check=True, env=env, cwd=tmp_path,
                   timeout=300)
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(one) == len(two) == 8 and one[-1] < one[0]
    assert one == pytest.approx(two, rel=1e-4, abs=1e-4)


def test_training_into_an_existing_run_is_refused_unless_asked(tiny_config, losses, tmp_path):
    from trainer.errors import RunDirError

    out = tmp_path / "run"
    train(tiny_config(out, "max_steps=4"))
    (out / "notes.txt").write_text("mine")
    before = sorted(os.listdir(out))
    with pytest.raises(RunDirError, match=f"{out} already holds a training run .*--overwrite"):
        train(tiny_config(out, "max_steps=3"))
    assert sorted(os.listdir(out)) == before and len(losses(out)) == 4  # nothing touched
    train(tiny_config(out, "max_steps=3"), overwrite=True)
    assert sorted(os.listdir(out)) == ["ckpt-000003", "metrics.jsonl", "notes.txt", "train.log"]  # notes stay
    assert len(losses(out)) == 3


def test_resume_continues_in_its_own_run_folder_only(tiny_config, losses, tmp_path):
    from trainer.errors import RunDirError

    halted = train(tiny_config(tmp_path / "run", "max_steps=12", "halt_at_step=6"))["checkpoint"]
    train(None, resume=halted)  # into the run's own folder (its config's out)
    assert sorted(os.listdir(tmp_path / "run")) == ["ckpt-000006", "ckpt-000012", "metrics.jsonl", "train.log"]
    assert len(losses(tmp_path / "run")) == 12
    train(tiny_config(tmp_path / "other", "max_steps=2"))
    with pytest.raises(RunDirError, match="--overwrite"):  # continuing into another run's folder
        train(None, resume=halted, overrides=[f"out={tmp_path / 'other'}"])
    with pytest.raises(RunDirError, match="would delete"):  # --overwrite must not delete what it resumes
        train(None, resume=halted, overwrite=True)


def test_resume_or_eval_on_shards_of_another_tokenizer_is_refused(shards, other_shards, tiny_config, tmp_path):
    from trainer.data import Shards
    from trainer.errors import CheckpointError
    from trainer.evaluate import eval_checkpoint

    run, other = tmp_path / "run", other_shards
    first = train(tiny_config(run, "max_steps=8", "checkpoint_interval=4"))
    assert Shards(other).vocab_size == Shards(shards).vocab_size  # only the tokenizer's hash tells them apart
    before = {p: open(run / "ckpt-000008" / p, "rb").read() for p in os.listdir(run / "ckpt-000008")}
    rows = open(run / "metrics.jsonl").read()
    with pytest.raises(CheckpointError, match=f"{run / 'ckpt-000004'} was trained with a different tokenizer than "
                                              f"{other} .tokenizer.sha256 differs."):
        train(None, resume=str(run / "ckpt-000004"), overrides=[f"data={other}"])
    assert {p: open(run / "ckpt-000008" / p, "rb").read() for p in os.listdir(run / "ckpt-000008")} == before
    assert open(run / "metrics.jsonl").read() == rows
    with pytest.raises(CheckpointError, match="different tokenizer"):
        eval_checkpoint(first["checkpoint"], data=other)


@pytest.mark.parametrize("options, message", [
    (["checkpoint_interval=0"], r"step \d: training loss is (nan|inf); training diverged and stopped without a checkpoint"),
    # the weights themselves are checked before each save, logged loss or not
    (["checkpoint_interval=1"], "step 2: the weights are no longer finite .NaN or inf.; training diverged and "
                                "ckpt-000002 was not written: lower lr .now 1e.30."),
    (["log_interval=100", "halt_at_step=3"], "step 3: the weights are no longer finite"),
])
def test_a_diverged_run_stops_without_a_nan_checkpoint(tiny_config, tmp_path, options, message):
    from trainer.errors import DivergedError

    with pytest.raises(DivergedError, match=message):
        train(tiny_config(tmp_path, "max_steps=6", "lr=1e30", "warmup_steps=0", "min_lr=0", *options))
    saved = [n for n in os.listdir(tmp_path) if "ckpt" in n]
    assert saved == (["ckpt-000001"] if "checkpoint_interval=1" in options else [])  # step 1's weights: huge, finite
    for name in saved:
        assert all(torch.isfinite(t).all() for t in load_file(tmp_path / name / "model.safetensors").values())
    assert all(math.isfinite(r["loss"]) for r in map(json.loads, open(tmp_path / "metrics.jsonl")))


def test_unknown_eval_task_is_refused_before_training(tiny_config, tmp_path):
    from trainer.errors import InputError

    with pytest.raises(InputError, match="--tasks: unknown task copaa"):
        train(tiny_config(tmp_path / "run", "eval_tasks=copaa"))
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # refused before the first step
