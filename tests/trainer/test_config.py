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
    ("compile=maybe", "compile: expected bool"),
    ("novalue", "key=value"),
    ("model.norm=batchnorm", "unknown norm 'batchnorm'; expected 'rmsnorm' or 'layernorm'"),
    ("model.mlp=relu", "unknown mlp 'relu'; expected 'swiglu' or 'gelu'"),
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
                                                   ("mlp", "relu", "'swiglu' or 'gelu'")])
def test_unknown_switch_in_yaml_or_checkpoint_config_is_rejected(tmp_path, field, value, allowed):
    path = tmp_path / "c.yaml"
    path.write_text(f"model:\n  {field}: {value}\n")
    with pytest.raises(ValueError, match=f"unknown {field} '{value}'; expected {allowed}"):
        load_config(str(path))
    with pytest.raises(ValueError, match=f"unknown {field} '{value}'"):  # as read from a checkpoint's config.json
        from_dict({"model": {field: value}})


CONFIGS = os.path.join(os.path.dirname(trainer.__file__), "configs")


def test_shipped_configs_load_and_export():
    for name in ("default", "gpt2-small"):
        cfg = load_config(os.path.join(CONFIGS, f"{name}.yaml"))
        assert hf_architecture(cfg.model) in ("LlamaForCausalLM", "GPT2LMHeadModel")
    big = load_config(os.path.join(CONFIGS, "gpt2-small.yaml"))
    assert (big.model.n_layer, big.model.n_embd, big.model.block_size, big.compile) == (12, 768, 1024, True)
