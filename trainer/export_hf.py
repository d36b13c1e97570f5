"""Export to a Hugging Face `transformers` directory, usable as is: config.json (with pad and eos
ids), generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
special_tokens_map.json (the end-of-text token is bos, eos and pad, as for GPT-2) and a model card,
README.md, with the scores the run recorded.

Three standard architectures match our GPT exactly:
  pos=rope,    norm=rmsnorm,   mlp=swiglu             -> LlamaForCausalLM
  pos=rope,    norm=rmsnorm,   mlp=swiglu, qk_norm    -> Qwen3ForCausalLM (per-head q_norm / k_norm)
  pos=learned, norm=layernorm, mlp=gelu               -> GPT2LMHeadModel (activation "gelu", exact erf)
Any other combination (relu2, a logit soft-cap), and the LSTM, is refused rather than exported
approximately. Nothing here imports transformers: the files are written directly and read back by tests.
"""

import dataclasses
import json
import os
import re
import shutil

import torch
from safetensors.torch import save

from .checkpoint import load_manifest, load_model, resolve_checkpoint, tokenizer_file
from .errors import TrainerError
from .files import folder_lock, write_atomic


class ExportError(TrainerError, ValueError):
    """The checkpoint has no exact Hugging Face equivalent."""


def hf_architecture(m):
    """The Hugging Face architecture for ModelConfig `m`, or ExportError saying why there is none."""
    if m.arch != "gpt":
        raise ExportError(f"model.arch={m.arch!r} has no standard Hugging Face equivalent; only arch=gpt exports")
    combo = (m.pos, m.norm, m.mlp, m.qk_norm)
    if m.logit_softcap == 0 and combo == ("rope", "rmsnorm", "swiglu", False):
        return "LlamaForCausalLM"
    if m.logit_softcap == 0 and combo == ("rope", "rmsnorm", "swiglu", True) and not m.bias:
        return "Qwen3ForCausalLM"
    if m.logit_softcap == 0 and combo == ("learned", "layernorm", "gelu", False):
        return "GPT2LMHeadModel"
    raise ExportError(
        f"no standard Hugging Face architecture matches pos={m.pos}, norm={m.norm}, mlp={m.mlp}, qk_norm={m.qk_norm}, "
        f"bias={m.bias}, logit_softcap={m.logit_softcap:g}; export supports pos=rope norm=rmsnorm mlp=swiglu "
        "(LlamaForCausalLM; with qk_norm and no bias: Qwen3ForCausalLM) or pos=learned norm=layernorm mlp=gelu "
        "(GPT2LMHeadModel), all with logit_softcap=0")


def llama_weights(sd, m):
    C, out = m.n_embd, {"model.embed_tokens.weight": sd["wte.weight"], "model.norm.weight": sd["ln_f.weight"]}
    for i in range(m.n_layer):
        p, q = f"blocks.{i}.", f"model.layers.{i}."
        out[q + "input_layernorm.weight"] = sd[p + "ln_1.weight"]
        out[q + "post_attention_layernorm.weight"] = sd[p + "ln_2.weight"]
        for name, w in zip(("q_proj", "k_proj", "v_proj"), sd[p + "attn.c_attn.weight"].split(C, dim=0)):
            out[q + f"self_attn.{name}.weight"] = w
        out[q + "self_attn.o_proj.weight"] = sd[p + "attn.c_proj.weight"]
        if m.qk_norm:  # Qwen3's per-head RMSNorms have a weight; ours have none, i.e. ones
            out[q + "self_attn.q_norm.weight"] = torch.ones(C // m.n_head)
            out[q + "self_attn.k_norm.weight"] = torch.ones(C // m.n_head)
        gate, up = sd[p + "mlp.c_fc.weight"].chunk(2, dim=0)  # our SwiGLU: silu(first half) * second half
        out[q + "mlp.gate_proj.weight"], out[q + "mlp.up_proj.weight"] = gate, up
        out[q + "mlp.down_proj.weight"] = sd[p + "mlp.c_proj.weight"]
        if m.bias:
            for name, b in zip(("q_proj", "k_proj", "v_proj"), sd[p + "attn.c_attn.bias"].split(C, dim=0)):
                out[q + f"self_attn.{name}.bias"] = b
            out[q + "self_attn.o_proj.bias"] = sd[p + "attn.c_proj.bias"]
            gate_b, up_b = sd[p + "mlp.c_fc.bias"].chunk(2, dim=0)
            out[q + "mlp.gate_proj.bias"], out[q + "mlp.up_proj.bias"] = gate_b, up_b
            out[q + "mlp.down_proj.bias"] = sd[p + "mlp.c_proj.bias"]
    return out


def llama_config(m, eot_id):
    """LlamaForCausalLM's config; with qk_norm, Qwen3ForCausalLM's (the same keys, plus head_dim)."""
    if m.qk_norm:
        return {**llama_config(dataclasses.replace(m, qk_norm=False), eot_id),
                "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "head_dim": m.n_embd // m.n_head,
                "use_sliding_window": False, "layer_types": ["full_attention"] * m.n_layer}
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": m.vocab_size,
            "hidden_size": m.n_embd, "intermediate_size": m.hidden_size(), "num_hidden_layers": m.n_layer,
            "num_attention_heads": m.n_head, "num_key_value_heads": m.n_head, "hidden_act": "silu",
            "max_position_embeddings": m.block_size, "rms_norm_eps": m.norm_eps,
            "rope_theta": m.rope_theta, "rope_parameters": {"rope_type": "default", "rope_theta": m.rope_theta},
            "attention_bias": m.bias, "mlp_bias": m.bias, "tie_word_embeddings": m.tie_weights,
            **special_ids(eot_id), "torch_dtype": "float32"}


def special_ids(eot_id):
    # one end-of-text token delimits documents in our shards: it is bos, eos and (for batched generate) pad
    return {"bos_token_id": eot_id, "eos_token_id": eot_id, "pad_token_id": eot_id}


def generation_config(eot_id):
    """generation_config.json: the special ids and no length, as GPT-2's and Llama's own have none.
    A max_length here made transformers warn on every generate(max_new_tokens=N) (the usual call);
    a max_new_tokens here would override a caller's max_length. The context length is in
    config.json (max_position_embeddings / n_positions) and tokenizer_config.json."""
    return special_ids(eot_id)


def gpt2_weights(sd, m):
    def bias(key, n):  # GPT-2 always has biases: zeros reproduce a bias-free model exactly
        return sd.get(key, torch.zeros(n))

    C, H = m.n_embd, m.hidden_size()
    out = {"transformer.wte.weight": sd["wte.weight"], "transformer.wpe.weight": sd["wpe.weight"],
           "transformer.ln_f.weight": sd["ln_f.weight"], "transformer.ln_f.bias": bias("ln_f.bias", C)}
    for i in range(m.n_layer):
        p, q = f"blocks.{i}.", f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            out[q + f"{ln}.weight"] = sd[p + f"{ln}.weight"]
            out[q + f"{ln}.bias"] = bias(p + f"{ln}.bias", C)
        # GPT-2's Conv1D stores (in, out): the transpose of nn.Linear's (out, in)
        for ours, theirs, n in (("attn.c_attn", "attn.c_attn", 3 * C), ("attn.c_proj", "attn.c_proj", C),
                                ("mlp.c_fc", "mlp.c_fc", H), ("mlp.c_proj", "mlp.c_proj", C)):
            out[q + f"{theirs}.weight"] = sd[p + f"{ours}.weight"].t()
            out[q + f"{theirs}.bias"] = bias(p + f"{ours}.bias", n)
    return out


def gpt2_config(m, eot_id):
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": m.vocab_size,
            "n_positions": m.block_size, "n_embd": m.n_embd, "n_layer": m.n_layer, "n_head": m.n_head,
            "n_inner": m.hidden_size(), "activation_function": "gelu", "layer_norm_epsilon": m.norm_eps,
            "resid_pdrop": m.dropout, "embd_pdrop": m.dropout, "attn_pdrop": m.dropout,
            "tie_word_embeddings": m.tie_weights, **special_ids(eot_id), "torch_dtype": "float32"}


MARKER = ".trainer-export"  # in a folder export() created or found empty: the folder is ours to write
NAMES = ("model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "special_tokens_map.json",
         "tokenizer_config.json", "README.md")  # what export() writes, and all that --force replaces


def export(checkpoint, out_dir, force=False):
    """Write checkpoint `checkpoint` as a Hugging Face model directory; returns the architecture name.

    `out_dir` must be new, empty, or an earlier export (marked MARKER), and neither the checkpoint's
    folder nor inside it nor around it. An earlier export's files are replaced only with `force`,
    and only the NAMES export writes; a user's other files there stay. Everything is checked before
    anything is written, and each file is renamed into place whole.
    """
    path = resolve_checkpoint(checkpoint)
    _refuse_overlap(path, out_dir)
    model, cfg = load_model(path)
    m = cfg.model
    arch = hf_architecture(m)
    manifest = load_manifest(path)
    eot_id = manifest["tokenizer"]["eot_id"]
    tokenizer = tokenizer_file(path)  # a regular file, the one the checkpoint's manifest records
    sd = {k: v.detach().float() for k, v in model.state_dict().items()}
    if arch != "GPT2LMHeadModel":
        tensors, config = llama_weights(sd, m), llama_config(m, eot_id)
    else:
        tensors, config = gpt2_weights(sd, m), gpt2_config(m, eot_id)
    if not m.tie_weights:
        tensors["lm_head.weight"] = sd["lm_head.weight"]
    specials = manifest["tokenizer"].get("special_tokens", {})
    eot = next((t for t, i in specials.items() if i == eot_id), None)
    tokens = {} if eot is None else {"bos_token": eot, "eos_token": eot, "pad_token": eot}
    _claim(out_dir)
    with folder_lock(out_dir, "export"):
        present = [n for n in NAMES if os.path.lexists(os.path.join(out_dir, n))]
        if present and not force:
            raise ExportError(f"{out_dir} already holds an export ({', '.join(present[:3])}); pass --force to "
                              "replace it, or choose another folder")
        for name in os.listdir(out_dir):  # what an export killed mid-write left
            if re.fullmatch(r"\.(" + "|".join(map(re.escape, NAMES)) + r")\.tmp-\d+", name):
                os.unlink(os.path.join(out_dir, name))
        with write_atomic(os.path.join(out_dir, "model.safetensors"), "wb") as f:
            f.write(save({k: v.contiguous() for k, v in tensors.items()}, metadata={"format": "pt"}))
        write_json(out_dir, "config.json", config)
        write_json(out_dir, "generation_config.json", generation_config(eot_id))
        with open(tokenizer, "rb") as src, write_atomic(os.path.join(out_dir, "tokenizer.json"), "wb") as f:
            shutil.copyfileobj(src, f)
        write_json(out_dir, "special_tokens_map.json", tokens)
        write_json(out_dir, "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast",
                                                      "model_max_length": m.block_size, "add_bos_token": False,
                                                      "add_eos_token": False, "clean_up_tokenization_spaces": False,
                                                      **tokens})
        with write_atomic(os.path.join(out_dir, "README.md")) as f:
            f.write(model_card(path, cfg, arch, manifest, sum(t.numel() for t in tensors.values())))
    return arch


def model_card(path, cfg, arch, manifest, n_params):
    """README.md of an export: what the model is, what it was trained on, and the scores the run
    recorded in the checkpoint's scores.json (validation bits per byte, downstream tasks)."""
    m = cfg.model
    train = manifest.get("splits", {}).get("train", {})
    lines = ["---", "library_name: transformers", "pipeline_tag: text-generation", "---", "",
             f"# {os.path.basename(os.path.normpath(path))}", "",
             f"A {arch} exported by corpuskit's trainer (`python -m trainer export-hf`) from checkpoint "
             f"`{os.path.basename(os.path.normpath(path))}`: {n_params / 1e6:.2f}M parameters, {m.n_layer} layers, "
             f"width {m.n_embd}, {m.n_head} heads, context {m.block_size} tokens, vocabulary {m.vocab_size}.",
             f"Trained on a corpuskit shard set of {train.get('n_tokens', 0):,} training tokens "
             f"({train.get('n_documents', 0):,} documents).", "", "## Scores", ""]
    scores_path = os.path.join(path, "scores.json")
    if not os.path.isfile(scores_path):
        lines.append("This checkpoint recorded no scores; `python -m trainer eval --checkpoint CKPT --tasks quick` "
                     "scores it.")
        return "\n".join(lines) + "\n"
    with open(scores_path, encoding="utf-8") as f:
        scores = json.load(f)
    val = scores["validation"]
    lines.append(f"After {scores['step']} steps, on the shard set's validation split (documents held out from "
                 f"training): {val['bits_per_byte']:.4f} bits per byte (loss {val['loss']:.4f} nats per token).")
    if "heldout" in scores:
        lines += ["", "Held-out text (files the shard set never saw), bits per byte: "
                  + ", ".join(f"{k} {v:.4f}" for k, v in scores["heldout"].items()) + "."]
    if "tasks" in scores:
        lines += ["", f"Downstream tasks (`--tasks {scores.get('tasks_spec', '?')}`; accuracy by log-likelihood, "
                      "centered = (accuracy - chance) / (1 - chance)):", "",
                  "| task | items | accuracy | chance | centered |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {name} | {r['n']} | {r['accuracy']:.4f} | {r['chance']:.3f} | {r['centered']:.4f} |"
                  for name, r in scores["tasks"].items()]
        lines += ["", f"Mean centered accuracy (CORE-style): {scores['core']:.4f}"]
    return "\n".join(lines) + "\n"


def _refuse_overlap(checkpoint, out_dir):
    """ExportError if `out_dir` is checkpoint folder `checkpoint`, inside it or around it: the export
    would overwrite the checkpoint's own files (config.json, model.safetensors) or write into it."""
    ck, out = os.path.realpath(checkpoint), os.path.realpath(out_dir)
    if ck == out or os.path.commonpath([ck, out]) in (ck, out):
        where = "is" if ck == out else "is inside" if os.path.commonpath([ck, out]) == ck else "holds"
        raise ExportError(f"{out_dir} {where} the checkpoint {checkpoint}; export to a folder of its own")


def _claim(folder):
    """Make `folder` an export folder: create it, or take it if empty, and mark it; refuse a
    non-empty folder without the mark, whose files are someone else's."""
    marker = os.path.join(folder, MARKER)
    if os.path.isfile(marker) and not os.path.islink(marker):
        return
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise ExportError(f"{folder} is a file, not a folder; choose a folder for the export")
    if os.path.isdir(folder) and os.listdir(folder):
        raise ExportError(f"{folder} is not empty and was not made by export-hf; refusing to write there "
                          "(choose a new or empty folder)")
    os.makedirs(folder, exist_ok=True)
    write_json(folder, MARKER, {"trainer": "export-hf"})


def write_json(folder, name, obj):
    with write_atomic(os.path.join(folder, name)) as f:
        json.dump(obj, f, indent=2)
