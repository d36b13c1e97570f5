import os

import pytest

import trainer

from trainer.config import from_dict, load_config
from trainer.export_hf import hf_architecture


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.01\nmodel:\n  n_layer: 3\n")
    cfg = load_config(str(path), ["model.n_embd=48", "lr=3e-4", "compile=true", "sample_prompt=42"])
    assert (cfg.lr, cfg.model.n_layer, cfg.model.n_embd, cfg.compile) == (3e-4, 3, 48, True)
    assert cfg.sample_prompt == "42" and cfg.batch_size == 32  # strings verbatim, defaults kept


@pytest.mark.parametrize("override, message", [
    ("lrr=1", "did you mean lr"),
    ("n_layer=2", "model.n_layer"),
    ("model.n_layer=two", "model.n_layer: expected int"),
    ("compile=maybe", "unknown compile 'maybe'; expected 'auto' or True or False"),
    ("optimizer=sgd", "unknown optimizer 'sgd'; expected 'adamw' or 'muon'"),
    ("model.logit_softcap=-1", "model.logit_softcap: must be >= 0"),
    ("muon_momentum=1", "muon_momentum: must be in"),
    ("novalue", "key=value"),
    ("model.norm=batchnorm", "unknown norm 'batchnorm'; expected 'rmsnorm' or 'layernorm'"),
    ("model.mlp=relu", "unknown mlp 'relu'; expected 'swiglu' or 'gelu' or 'relu2'"),
    ("sampling=shuffled", "unknown sampling 'shuffled'; expected 'random' or 'sequential'"),
    ("schedule=linear", "unknown schedule 'linear'; expected 'cosine' or 'wsd'"),
    ("dtype=fp16", "unknown dtype 'fp16'"),
])
def test_bad_overrides_are_rejected(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_unknown_yaml_key_is_rejected(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  n_layers: 3\n")
    with pytest.raises(ValueError, match="model.n_layers"):
        load_config(str(path))


@pytest.mark.parametrize("field, value, allowed", [("norm", "batchnorm", "'rmsnorm' or 'layernorm'"),
                                                   ("mlp", "relu", "'swiglu' or 'gelu' or 'relu2'")])
def test_unknown_switch_in_yaml_or_checkpoint_config_is_rejected(tmp_path, field, value, allowed):
    path = tmp_path / "c.yaml"
    path.write_text(f"model:\n  {field}: {value}\n")
    with pytest.raises(ValueError, match=f"unknown {field} '{value}'; expected {allowed}"):
        load_config(str(path))
    with pytest.raises(ValueError, match=f"unknown {field} '{value}'"):  # as read from a checkpoint's config.json
        from_dict({"model": {field: value}})


CONFIGS = os.path.join(os.path.dirname(trainer.__file__), "configs")


def test_shipped_configs_load_and_export():
    for name in ("default", "gpt2-small", "adamw-baseline"):
        cfg = load_config(os.path.join(CONFIGS, f"{name}.yaml"))
        assert hf_architecture(cfg.model) in ("LlamaForCausalLM", "Qwen3ForCausalLM", "GPT2LMHeadModel")
    big = load_config(os.path.join(CONFIGS, "gpt2-small.yaml"))
    assert (big.model.n_layer, big.model.n_embd, big.model.block_size, big.compile) == (12, 768, 1024, True)


@pytest.mark.parametrize("override", [
    "batch_size=0", "grad_accum=0", "max_steps=0", "max_time=-1", "lr=0", "lr=-1e-3", "min_lr=-1e-4",
    "warmup_steps=-1", "decay_frac=1.5", "weight_decay=-0.1", "beta1=1", "beta2=-0.5", "grad_clip=-1",
    "seed=-1", "threads=-2", "eval_interval=-1", "eval_batches=0", "log_interval=0", "checkpoint_interval=-5",
    "halt_at_step=-1", "sample_tokens=-1", "model.vocab_size=-1", "model.block_size=0", "model.n_layer=0",
    "model.n_head=0", "model.n_embd=0", "model.mlp_hidden=-1", "model.dropout=1", "model.dropout=-0.1",
    "model.norm_eps=0", "model.rope_theta=-1",
])
def test_every_number_is_range_checked_at_load(override):
    from trainer.errors import ConfigError

    key, value = override.split("=")
    with pytest.raises(ConfigError, match=rf"^{key}: must be .+, got -?[0-9.e-]+$"):
        load_config(None, [override])
    if not key.startswith("model."):  # a checkpoint's config.json goes through the same check
        with pytest.raises(ConfigError, match=key):
            from_dict({key: float(value) if "." in value or "e" in value else int(value)})


def test_heads_must_divide_the_width():
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError, match=r"model.n_embd 192 is not divisible by model.n_head 5"):
        load_config(None, ["model.n_head=5", "model.n_embd=192"])
    assert load_config(None, ["model.n_head=3", "model.n_embd=192"]).model.n_head == 3  # 3 heads of 64
    with pytest.raises(ConfigError, match=r"head size 15 .* even"):  # rotary embeddings rotate pairs
        load_config(None, ["model.n_head=2", "model.n_embd=30"])
    assert load_config(None, ["model.n_head=2", "model.n_embd=30", "model.pos=learned"]).model.n_embd == 30
    assert load_config(None, ["model.arch=lstm", "model.n_head=5", "model.n_embd=192"]).model.n_head == 5


@pytest.mark.parametrize("override", ["lr=.inf", "lr=.nan", "muon_lr=.inf", "max_time=.inf", "grad_clip=.inf",
                                      "weight_decay=.nan", "model.rope_theta=.inf", "model.norm_eps=.nan"])
def test_a_number_that_is_not_finite_is_refused_at_load(override):
    from trainer.errors import ConfigError

    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=rf"^{key}: must be a finite number, got (inf|nan)$"):
        load_config(None, [override])


def test_min_lr_above_lr_is_refused_at_load():
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^min_lr 0.01 is above lr 0.001; the schedule decays from lr to min_lr$"):
        load_config(None, ["lr=1e-3", "min_lr=1e-2"])
    with pytest.raises(ConfigError, match="min_lr"):  # a checkpoint's config.json too
        from_dict({"lr": 1e-3, "min_lr": 1e-2})
    assert load_config(None, ["lr=1e-3", "min_lr=1e-3"]).min_lr == 1e-3  # a constant LR after warmup


@pytest.mark.parametrize("device, ok", [("tpu", False), ("cuda:", False), ("cuda:x", False), ("CPU", False),
                                        ("", False), ("auto", True), ("cpu", True), ("cuda", True), ("cuda:1", True)])
def test_device_is_checked_at_load(device, ok):
    from trainer.errors import ConfigError

    if ok:
        assert load_config(None, [f"device={device}"]).device == device
    else:
        with pytest.raises(ConfigError, match=rf"^device: must be auto, cpu, cuda or cuda:N, got '{device}'$"):
            load_config(None, [f"device={device}"])
