import json
import math
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from trainer.__main__ import cli
from trainer.train import train

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def checkpoint(shards, tmp_path_factory):
    from trainer.config import load_config

    out = tmp_path_factory.mktemp("cli_run")
    cfg = load_config(None, ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.block_size=32",
                             "batch_size=8", "lr=3e-3", "warmup_steps=5", "max_steps=40", "progress=false",
                             "plot=false", "sample_tokens=0", f"data={shards}", f"out={out}"])
    return train(cfg)["checkpoint"]


def test_eval_prints_json_on_validation_split(checkpoint):
    result = CliRunner().invoke(cli, ["eval", "--checkpoint", checkpoint])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    manifest = json.load(open(os.path.join(checkpoint, "manifest.json")))
    bpt = manifest["splits"]["validation"]["bytes_per_token"]
    assert {"loss", "perplexity", "bits_per_byte"} <= set(metrics)
    assert metrics["bits_per_byte"] == pytest.approx(metrics["loss"] / math.log(2) / bpt)


def test_eval_on_text_file_uses_its_byte_count(checkpoint, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("The cat sat on the mat. The old bird saw a green tree. Émile walked.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "--checkpoint", checkpoint, "--text", str(text)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["bytes"] == os.path.getsize(text)
    total_bits = metrics["loss"] * metrics["tokens"] / math.log(2)
    assert metrics["bits_per_byte"] == pytest.approx(total_bits / metrics["bytes"])
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["loss"]))


def test_sample_produces_text(checkpoint):
    args = ["sample", "--checkpoint", checkpoint, "--prompt", "The cat", "--max-new-tokens", "20", "--seed", "1"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("The cat") and len(first.output.split()) > 3
    assert CliRunner().invoke(cli, args).output == first.output  # seeded
    greedy = CliRunner().invoke(cli, args[:-2] + ["--temperature", "0", "--num-samples", "2"])
    assert greedy.exit_code == 0
    a, b = greedy.output.split("-" * 40)
    assert a.strip() == b.strip()


def test_train_rejects_unknown_override(tmp_path, shards):
    config = tmp_path / "c.yaml"
    config.write_text("max_steps: 1\n")
    result = CliRunner().invoke(cli, ["train", "--config", str(config), "--data", shards, "learning_rate=1"])
    assert result.exit_code != 0 and "unknown config key 'learning_rate'" in result.output


def test_export_cli_refuses_lstm(shards, tmp_path):
    from trainer.config import load_config

    cfg = load_config(None, ["model.arch=lstm", "model.n_layer=1", "model.n_embd=16", "model.block_size=16",
                             "batch_size=2", "max_steps=1", "warmup_steps=1", "progress=false", "plot=false",
                             "sample_tokens=0", f"data={shards}", f"out={tmp_path}"])
    ckpt = train(cfg)["checkpoint"]
    result = CliRunner().invoke(cli, ["export-hf", "--checkpoint", ckpt, str(tmp_path / "hf")])
    assert result.exit_code == 1 and "no standard Hugging Face" in result.output


def test_every_command_has_help_with_example():
    for name, command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, name


def test_help_and_config_checks_do_not_import_torch():
    code = ("import sys; from click.testing import CliRunner; import trainer.__main__ as m; "
            "codes = [CliRunner().invoke(m.cli, args).exit_code for args in (['-h'], ['train', '-h'], ['eval', '-h'])]; "
            "import trainer; trainer.load_config(None, ['lr=1e-3', 'model.n_layer=2']); "
            "print(codes, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.split() == ["[0,", "0,", "0]", "False"]


def test_sweep_prints_table_best_first(shards, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model: {n_layer: 1, n_head: 2, n_embd: 16, block_size: 16}\nbatch_size: 4\nmax_steps: 12\n"
                      "warmup_steps: 2\nmin_lr: 0\nprogress: false\nplot: false\nsample_tokens: 0\n")  # min_lr <= every lr
    result = CliRunner().invoke(cli, ["sweep", "--config", str(config), "--data", shards, "--out", str(tmp_path / "sw"),
                                      "--lr", "1e-5,1e-2", "--dropout", "0,0.1"])
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index("lr  "):].strip().splitlines()
    assert len(table) == 5 and table[0].split()[:3] == ["lr", "dropout", "val_loss"]
    val_losses = [float(line.split()[2]) for line in table[1:]]
    assert val_losses == sorted(val_losses)
    assert table[1].split()[0] == "0.01"  # a 1000x larger learning rate wins in 12 steps
    assert sorted(os.listdir(tmp_path / "sw")) == ["lr=0.01_dropout=0", "lr=0.01_dropout=0.1",
                                                  "lr=1e-05_dropout=0", "lr=1e-05_dropout=0.1"]


def fails_cleanly(result, *needles):
    """A user's mistake: exit 1 or 2 through click (no traceback), the last line an error naming `needles`."""
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an uncaught exception
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and all(n in last for n in needles), result.output


TINY_YAML = ("model: {n_layer: 1, n_head: 2, n_embd: 16, block_size: 16}\nbatch_size: 4\nmax_steps: 2\n"
             "warmup_steps: 1\nprogress: false\nplot: false\nsample_tokens: 0\n")


@pytest.fixture
def train_args(tmp_path, shards):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_YAML)
    return lambda *extra, data=shards, out=tmp_path / "run": (
        ["train", "--config", str(config), "--data", str(data), "--out", str(out), *extra])


def test_train_mistakes_are_one_line_errors(train_args, checkpoint, copy_shards, rewrite_tokens, tmp_path):
    run = CliRunner().invoke
    empty = tmp_path / "empty"
    empty.mkdir()
    fails_cleanly(run(cli, train_args(data=empty)), str(empty), "manifest.json")
    fails_cleanly(run(cli, train_args("model.n_head=5", "model.n_embd=192")), "model.n_head 5", "192")
    fails_cleanly(run(cli, train_args("batch_size=0")), "batch_size", "0")
    fails_cleanly(run(cli, train_args("model.dropout=2")), "model.dropout", "2")
    damaged = copy_shards()
    rewrite_tokens(os.path.join(damaged, "train", "shard-00000.arrow"))
    fails_cleanly(run(cli, train_args(data=damaged)), os.path.join(damaged, "train", "shard-00000.arrow"), "sha256")
    existing = os.path.dirname(checkpoint)
    fails_cleanly(run(cli, train_args(out=existing)), existing, "--overwrite")
    assert not (tmp_path / "run").exists()


def test_eval_and_sample_mistakes_are_one_line_errors(checkpoint, tmp_path):
    import shutil

    run = CliRunner().invoke
    damaged = tmp_path / "ckpt"
    shutil.copytree(checkpoint, damaged)
    (damaged / "config.json").write_text('{"model": {"n_layer": 2,')
    fails_cleanly(run(cli, ["eval", "--checkpoint", str(damaged)]), str(damaged / "config.json"))
    (damaged / "config.json").write_text('{"batch_size": 0}')
    fails_cleanly(run(cli, ["eval", "--checkpoint", str(damaged)]), str(damaged / "config.json"), "batch_size")
    fails_cleanly(run(cli, ["eval", "--checkpoint", checkpoint, "--split", "test"]), "'test'", "validation")
    bad_utf8, empty = tmp_path / "latin1.txt", tmp_path / "empty.txt"
    bad_utf8.write_bytes("caf\u00e9 au lait".encode("latin-1"))
    empty.write_bytes(b"")
    fails_cleanly(run(cli, ["eval", "--checkpoint", checkpoint, "--text", str(bad_utf8)]), str(bad_utf8), "UTF-8")
    fails_cleanly(run(cli, ["eval", "--checkpoint", checkpoint, "--text", str(empty)]), str(empty), "empty")
    fails_cleanly(run(cli, ["eval", "--checkpoint", checkpoint, "--batch-size", "0"]), "batch_size")
    for option, value in (("--temperature", "-1"), ("--top-p", "0"), ("--top-k", "-1"), ("--num-samples", "0")):
        fails_cleanly(run(cli, ["sample", "--checkpoint", checkpoint, option, value]), option.lstrip("-").replace("-", "_"))


def test_eval_on_other_shards_and_a_bad_device_are_one_line_errors(checkpoint, other_shards, train_args):
    import torch

    run = CliRunner().invoke
    fails_cleanly(run(cli, ["eval", "--checkpoint", checkpoint, "--data", other_shards]), checkpoint, other_shards,
                  "different tokenizer")
    fails_cleanly(run(cli, ["eval", "--checkpoint", checkpoint, "--device", "tpu"]), "device", "'tpu'")
    fails_cleanly(run(cli, ["sample", "--checkpoint", checkpoint, "--device", "tpu"]), "device", "'tpu'")
    fails_cleanly(run(cli, train_args("device=tpu")), "device: must be auto, cpu, cuda or cuda:N, got 'tpu'")
    if not torch.cuda.is_available():  # a device this machine lacks: refused before any tensor meets it
        fails_cleanly(run(cli, train_args("device=cuda")), "device 'cuda': no CUDA device is available here")
        fails_cleanly(run(cli, ["eval", "--checkpoint", checkpoint, "--device", "cuda:0"]), "no CUDA device")
    else:
        fails_cleanly(run(cli, train_args(f"device=cuda:{torch.cuda.device_count()}")), "CUDA device(s)")


def test_without_torch_every_command_that_needs_it_says_how_to_install_it(tmp_path, checkpoint):
    fake = tmp_path / "no_torch" / "torch"  # the data-side install (`pip install .`): no torch to import
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "no_torch")}
    config = tmp_path / "c.yaml"
    config.write_text("max_steps: 1\n")

    def trainer(*args):
        return subprocess.run([sys.executable, "-m", "trainer", *args], capture_output=True, text=True, cwd=REPO,
                              env=env, timeout=120)

    for args in (["train", "--config", str(config), "--out", str(tmp_path / "run")],
                 ["eval", "--checkpoint", checkpoint], ["sample", "--checkpoint", checkpoint],
                 ["export-hf", "--checkpoint", checkpoint, str(tmp_path / "hf")],
                 ["sweep", "--config", str(config), "--out", str(tmp_path / "sweep"), "--lr", "1e-3"]):
        result = trainer(*args)
        assert (result.returncode, result.stdout, result.stderr) == (
            1, "", "Error: the trainer needs torch: pip install 'corpuskit[train]'\n"), args
    assert not (tmp_path / "run").exists() and not (tmp_path / "hf").exists()
    for args in (["--help"], ["train", "--help"], ["train", "--config", str(config), "--print-config"]):
        result = trainer(*args)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr)


def test_export_hf_help_names_every_architecture_it_writes():
    from trainer.config import ModelConfig
    from trainer.export_hf import hf_architecture

    written = {hf_architecture(ModelConfig(**settings)) for settings in (
        {}, {"qk_norm": True}, {"pos": "learned", "norm": "layernorm", "mlp": "gelu"})}
    assert written == {"LlamaForCausalLM", "Qwen3ForCausalLM", "GPT2LMHeadModel"}
    text = " ".join(CliRunner().invoke(cli, ["export-hf", "--help"]).output.split())
    assert all(arch in text for arch in written)
    assert "qk_norm Qwen3ForCausalLM (the default recipe)" in text
    import yaml
    with open(os.path.join(REPO, "trainer", "configs", "default.yaml")) as f:
        assert hf_architecture(ModelConfig(**yaml.safe_load(f)["model"])) == "Qwen3ForCausalLM"


def test_no_key_turns_a_switch_off():
    from trainer.__main__ import _key_values

    assert _key_values(["--no-progress", "--no-plot", "--no-model.bias", "--no-compile", "--lr", "1e-3"]) == [
        "progress=false", "plot=false", "model.bias=false", "compile=false", "lr=1e-3"]
    with pytest.raises(Exception, match="--no-lr needs a value"):  # not a switch: the usual error
        _key_values(["--no-lr"])


def test_a_long_eval_reports_progress_on_stderr_and_keeps_stdout_json(checkpoint, monkeypatch):
    from trainer import progress

    monkeypatch.setattr(progress, "EVAL_EVERY", 0.0)  # a line after every batch instead of every 10 s
    result = CliRunner().invoke(cli, ["eval", "--checkpoint", checkpoint, "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) >= {"loss", "bits_per_byte"}
    lines = [re.fullmatch(r"eval (\d+)/(\d+) batches \| \d+s", line) for line in result.stderr.splitlines()]
    n = int(lines[0][2])
    assert n > 2 and [int(m[1]) for m in lines] == list(range(1, n)) and {int(m[2]) for m in lines} == {n}
