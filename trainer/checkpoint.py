"""Checkpoints: one directory per checkpoint, written atomically (temp dir, then rename).

    CKPT/
      model.safetensors    weights (a tied output head is stored once, as the embedding)
      config.json          the resolved TrainConfig (model settings under "model")
      manifest.json        the shard set's manifest: tokenizer ids and bytes per token
      tokenizer.json       copied from the shard set, so the checkpoint stands alone
      training_state.pt    step, optimizer, scheduler, RNG states, data cursor: tensors and
                           plain containers only, read back with torch.load(weights_only=True)
"""

import json
import os
import re
import shutil

import torch
from safetensors.torch import load_file, save_file

from .config import from_dict, to_dict
from .model import build_model

STATE_FILE = "training_state.pt"


def save_checkpoint(path, model, cfg, shards, state=None):
    """Write checkpoint directory `path`; an existing one of that name is replaced only once the new one is complete."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".tmp-{os.path.basename(path)}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if cfg.model.tie_weights:
        tensors.pop("lm_head.weight", None)  # same storage as wte.weight; safetensors refuses aliases
    save_file(tensors, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
        json.dump(to_dict(cfg), f, indent=2)
    with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(shards.manifest, f, indent=2)
    shutil.copyfile(shards.tokenizer_path, os.path.join(tmp, "tokenizer.json"))
    if state is not None:
        torch.save(state, os.path.join(tmp, STATE_FILE))
    if os.path.exists(path):  # rename cannot replace a non-empty directory: move the old one aside first
        old = f"{tmp}.old"
        os.rename(path, old)
        os.rename(tmp, path)
        shutil.rmtree(old)
    else:
        os.rename(tmp, path)
    return path


def resolve_checkpoint(path):
    """`path` itself if it is a checkpoint, else the newest `ckpt-*` checkpoint inside run directory `path`."""
    if os.path.isfile(os.path.join(path, "model.safetensors")):
        return path
    found = sorted(d for d in os.listdir(path) if re.fullmatch(r"ckpt-\d+", d)) if os.path.isdir(path) else []
    if not found:
        raise FileNotFoundError(f"{path}: not a checkpoint directory and holds no ckpt-* checkpoints")
    return os.path.join(path, found[-1])


def load_config_from(path):
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        return from_dict(json.load(f))


def load_manifest(path):
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def load_weights(model, path):
    """Load model.safetensors from checkpoint `path` into `model` (tied heads re-tied by construction)."""
    tensors = load_file(os.path.join(path, "model.safetensors"))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and model.cfg.tie_weights)]
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not fit the model (missing {missing}, unexpected {unexpected})")


def load_model(path, device="cpu"):
    """(model in eval mode, TrainConfig) from a checkpoint directory."""
    path = resolve_checkpoint(path)
    cfg = load_config_from(path)
    model = build_model(cfg.model)
    load_weights(model, path)
    return model.to(device).eval(), cfg


def load_training_state(path):
    return torch.load(os.path.join(path, STATE_FILE), map_location="cpu", weights_only=True)
