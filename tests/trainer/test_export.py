import json
import os

import pytest
import torch

from trainer.checkpoint import save_checkpoint
from trainer.config import load_config
from trainer.data import Shards
from trainer.export_hf import ExportError, export
from trainer.model import build_model

transformers = pytest.importorskip("transformers")


def make_checkpoint(shards, path, *overrides):
    cfg = load_config(None, ["model.n_layer=2", "model.n_head=4", "model.n_embd=32", "model.block_size=24",
                             f"data={shards}", *overrides])
    data = Shards(shards)
    cfg.model.vocab_size = data.vocab_size
    torch.manual_seed(0)
    model = build_model(cfg.model)
    with torch.no_grad():  # move norms and biases off their 1/0 init so a mapping mistake shows
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    return save_checkpoint(str(path), model, cfg, data), model


@pytest.mark.parametrize("overrides, arch", [
    ([], "LlamaForCausalLM"),
    (["model.bias=true", "model.tie_weights=false", "model.mlp_hidden=40"], "LlamaForCausalLM"),
    (["model.pos=learned", "model.norm=layernorm", "model.mlp=gelu", "model.bias=true"], "GPT2LMHeadModel"),
    (["model.pos=learned", "model.norm=layernorm", "model.mlp=gelu", "model.tie_weights=false"], "GPT2LMHeadModel"),
])
def test_export_round_trip_logits_match(shards, tmp_path, overrides, arch):
    ckpt, model = make_checkpoint(shards, tmp_path / "ckpt", *overrides)
    assert export(ckpt, str(tmp_path / "hf")) == arch
    assert json.load(open(tmp_path / "hf" / "config.json"))["architectures"] == [arch]
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf")).eval()
    assert type(hf).__name__ == arch
    idx = torch.randint(0, model.cfg.vocab_size, (2, 24))
    with torch.no_grad():
        ours = model.eval()(idx)[0]
        theirs = hf(idx).logits
    torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=1e-4)
    tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    assert tok.decode(tok("the cat sat")["input_ids"]) == "the cat sat"


@pytest.mark.parametrize("overrides", [["model.pos=rope", "model.norm=layernorm", "model.mlp=gelu"],
                                       ["model.pos=learned", "model.norm=rmsnorm", "model.mlp=swiglu"],
                                       ["model.arch=lstm"]])
def test_export_refuses_nonstandard_combinations(shards, tmp_path, overrides):
    ckpt, _ = make_checkpoint(shards, tmp_path / "ckpt", *overrides)
    with pytest.raises(ExportError, match="no standard Hugging Face"):
        export(ckpt, str(tmp_path / "hf"))
    assert not os.path.exists(tmp_path / "hf")
