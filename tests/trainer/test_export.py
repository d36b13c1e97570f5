import json
import os

import pytest
import torch
from tokenizers import Tokenizer

from trainer.checkpoint import save_checkpoint
from trainer.config import load_config
from trainer.data import Shards
from trainer.export_hf import ExportError, export
from trainer.model import build_model
from trainer.sample import complete, generate

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
    (["model.qk_norm=true", "model.tie_weights=false"], "Qwen3ForCausalLM"),
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


@pytest.mark.parametrize("overrides, arch", [([], "LlamaForCausalLM"), (["model.qk_norm=true"], "Qwen3ForCausalLM"),
                                             (["model.pos=learned", "model.norm=layernorm", "model.mlp=gelu"],
                                              "GPT2LMHeadModel")])
def test_export_is_usable_as_is_and_generate_matches_our_greedy_sample(shards, tmp_path, overrides, arch):
    ckpt, model = make_checkpoint(shards, tmp_path / "ckpt", *overrides)
    export(ckpt, str(tmp_path / "hf"))
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "model.safetensors"):
        assert os.path.exists(tmp_path / "hf" / name), name
    tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf")).eval()
    eot = Shards(shards).eot_id
    assert tok.eos_token_id == tok.pad_token_id == eot == hf.generation_config.eos_token_id
    assert hf.generation_config.pad_token_id == eot
    prompt = tok("the cat sat", return_tensors="pt")
    theirs = hf.generate(**prompt, max_new_tokens=12, do_sample=False)[0].tolist()
    ours = generate(model.eval(), prompt["input_ids"], 12, temperature=0, eot_id=eot)[0].tolist()
    n = len(theirs)  # generate() stops at eos; ours pads with it
    assert theirs == ours[:n] and all(t == eot for t in ours[n:])
    text = complete(model, Tokenizer.from_file(str(tmp_path / "hf" / "tokenizer.json")), "the cat sat", eot, 12,
                    temperature=0)[0]
    assert tok.decode(theirs, skip_special_tokens=True) == text


@pytest.mark.parametrize("overrides", [["model.pos=rope", "model.norm=layernorm", "model.mlp=gelu"],
                                       ["model.mlp=relu2"], ["model.logit_softcap=30"],
                                       ["model.qk_norm=true", "model.bias=true"],
                                       ["model.pos=learned", "model.norm=rmsnorm", "model.mlp=swiglu"],
                                       ["model.arch=lstm"]])
def test_export_refuses_nonstandard_combinations(shards, tmp_path, overrides):
    ckpt, _ = make_checkpoint(shards, tmp_path / "ckpt", *overrides)
    with pytest.raises(ExportError, match="no standard Hugging Face"):
        export(ckpt, str(tmp_path / "hf"))
    assert not os.path.exists(tmp_path / "hf")


@pytest.mark.parametrize("overrides", [["model.qk_norm=true"],
                                       ["model.pos=learned", "model.norm=layernorm", "model.mlp=gelu"]])
def test_generate_on_the_export_does_not_warn_about_lengths(shards, tmp_path, overrides):
    import logging
    import warnings

    ckpt, _ = make_checkpoint(shards, tmp_path / "ckpt", *overrides)
    export(ckpt, str(tmp_path / "hf"))
    tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf")).eval()
    prompt = tok("the cat sat", return_tensors="pt")
    n = prompt["input_ids"].shape[1]
    logged = logging.Handler()  # transformers' own logger does not propagate: listen to it directly
    logged.emit = lambda record: said.append(record.getMessage())
    said = []
    logging.getLogger("transformers").addHandler(logged)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # the usual calls, each as the caller asked (eos never ends these: min_new_tokens holds it off)
            assert hf.generate(**prompt, max_new_tokens=5, min_new_tokens=5, do_sample=False).shape[1] == n + 5
            assert hf.generate(**prompt, max_length=n + 7, min_new_tokens=7, do_sample=False).shape[1] == n + 7
    finally:
        logging.getLogger("transformers").removeHandler(logged)
    said += [str(w.message) for w in caught]
    assert not [m for m in said if "length" in m or "max_new_tokens" in m], said


def test_export_card_lists_the_recorded_scores(shards, tmp_path):
    ckpt, model = make_checkpoint(shards, tmp_path / "plain")
    export(ckpt, str(tmp_path / "hf-plain"))
    assert "recorded no scores; `python -m trainer eval" in (tmp_path / "hf-plain" / "README.md").read_text()
    from trainer.checkpoint import load_config_from

    cfg = load_config_from(ckpt)
    scores = {"step": 7, "validation": {"loss": 3.5, "perplexity": 33.1, "bits_per_byte": 1.2345},
              "tasks_spec": "quick", "tasks": {"copa": {"accuracy": 0.56, "chance": 0.5, "centered": 0.12, "n": 100}},
              "core": 0.12, "heldout": {"books": 2.5, "web": 2.75, "mean": 2.625}}
    save_checkpoint(str(tmp_path / "scored"), model, cfg, Shards(shards), scores=scores)
    export(str(tmp_path / "scored"), str(tmp_path / "hf"))
    card = (tmp_path / "hf" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers\n")
    assert "After 7 steps, on the shard set's validation split (documents held out from training): 1.2345 bits per byte" in card
    assert "bits per byte: books 2.5000, web 2.7500, mean 2.6250." in card
    assert "| copa | 100 | 0.5600 | 0.500 | 0.1200 |" in card and "Mean centered accuracy (CORE-style): 0.1200" in card
