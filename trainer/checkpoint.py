"""Checkpoints: one directory per checkpoint, written atomically (temp dir, then rename), and
the run directory that holds them, which a new run does not take over unasked (`check_out`).

    CKPT/
      model.safetensors    weights (a tied output head is stored once, as the embedding)
      config.json          the resolved TrainConfig (model settings under "model"); under
                           "autotune", what `dtype: auto` measured and chose (autotune.py)
      manifest.json        the shard set's manifest: tokenizer ids and bytes per token
      tokenizer.json       copied from the shard set, so the checkpoint stands alone
      training_state.pt    step, optimizer, scheduler, RNG states, data cursor: tensors and
                           plain containers only, read back with torch.load(weights_only=True)
"""

import json
import os
import pickle  # only for its error type: torch.load(weights_only=True) raises UnpicklingError
import re
import shutil

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import from_dict, to_dict
from .errors import CheckpointError, RunDirError
from .files import TEMPORARY, regular_file, sha256
from .model import build_model

STATE_FILE = "training_state.pt"
SCORES_FILE = "scores.json"  # a finished run's final checkpoint: validation and downstream task scores


def save_checkpoint(path, model, cfg, shards, state=None, autotune=None, scores=None):
    """Write checkpoint directory `path`; an existing one of that name is replaced only once the new one is complete.
    `autotune`, if given, is recorded in config.json next to the config it resolved; `scores` (a run's
    final validation and task scores) in scores.json."""
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
        json.dump({**to_dict(cfg), **({"autotune": autotune} if autotune else {})}, f, indent=2)
    with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(shards.manifest, f, indent=2)
    shutil.copyfile(shards.tokenizer_path, os.path.join(tmp, "tokenizer.json"))
    if scores is not None:
        with open(os.path.join(tmp, SCORES_FILE), "w", encoding="utf-8") as f:
            json.dump(scores, f, indent=2)
    if state is not None:
        torch.save(state, os.path.join(tmp, STATE_FILE))
    if os.path.exists(path):  # rename cannot replace a non-empty directory: move the old one aside first
        old = f"{tmp}.old"
        os.rename(path, old)
        os.rename(tmp, path)
        if os.path.islink(old):  # a link the user put there: drop the link, never what it points to
            os.unlink(old)
        else:
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
        raise CheckpointError(f"{path}: not a checkpoint directory and holds no ckpt-* checkpoints")
    return os.path.join(path, found[-1])


def _read_json(path):
    regular_file(path, CheckpointError)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:  # missing, unreadable, not UTF-8, not JSON
        raise CheckpointError(f"{path}: cannot read this checkpoint file: {e}") from None


def load_config_from(path):
    file = os.path.join(path, "config.json")
    try:
        saved = _read_json(file)
        if isinstance(saved, dict):
            saved = {k: v for k, v in saved.items() if k != "autotune"}  # a record of the run, not a setting
        return from_dict(saved)
    except CheckpointError:
        raise
    except ValueError as e:  # a setting out of range or of the wrong type
        raise CheckpointError(f"{file}: {e}") from None


def load_autotune(path):
    """What `dtype: auto` measured and chose for the run of checkpoint `path` (config.json's "autotune"), or None."""
    saved = _read_json(os.path.join(path, "config.json"))
    return saved.get("autotune") if isinstance(saved, dict) else None


def load_manifest(path):
    manifest = _read_json(os.path.join(path, "manifest.json"))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tokenizer"), dict):
        raise CheckpointError(f"{os.path.join(path, 'manifest.json')}: expected a shard manifest with a tokenizer")
    return manifest


def tokenizer_file(path):
    """Checkpoint `path`'s tokenizer.json, checked against the sha256 its manifest records (a regular
    file, the tokenizer the ids were made with), before it is read or copied into an export."""
    file = regular_file(os.path.join(path, "tokenizer.json"), CheckpointError)
    if sha256(file) != load_manifest(path)["tokenizer"].get("sha256"):
        raise CheckpointError(f"{file}: sha256 differs from the checkpoint's manifest.json (another tokenizer)")
    return file


def check_same_tokenizer(path, shards):
    """CheckpointError unless checkpoint `path` was trained with the tokenizer of Shards `shards`:
    with another tokenizer the ids mean other strings, whatever the vocabulary size."""
    if load_manifest(path)["tokenizer"].get("sha256") != shards.manifest["tokenizer"]["sha256"]:
        raise CheckpointError(f"{path} was trained with a different tokenizer than {shards.path} "
                              "(tokenizer.sha256 differs); ids would not match")


def load_weights(model, path):
    """Load model.safetensors from checkpoint `path` into `model` (tied heads re-tied by construction)."""
    file = regular_file(os.path.join(path, "model.safetensors"), CheckpointError)
    try:
        tensors = load_file(file)
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"{file}: cannot read the weights: {e}") from None
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and model.cfg.tie_weights)]
    if missing or unexpected:
        raise CheckpointError(f"{path}: weights do not fit the model (missing {missing}, unexpected {unexpected})")


def load_model(path, device="cpu"):
    """(model in eval mode, TrainConfig) from a checkpoint directory."""
    path = resolve_checkpoint(path)
    cfg = load_config_from(path)
    model = build_model(cfg.model)
    load_weights(model, path)
    return model.to(device).eval(), cfg


def load_training_state(path):
    file = regular_file(os.path.join(path, STATE_FILE), CheckpointError)
    try:
        return torch.load(file, map_location="cpu", weights_only=True)  # tensors and containers only: no code runs
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise CheckpointError(f"{file}: cannot read the training state: {' '.join(str(e).split())[:300]}") from None


# What a run writes into its `out` folder (save_checkpoint, metrics.py, loss.png, progress.py's train.log):
# the only names --overwrite deletes.
RUN_NAMES = re.compile(rf"ckpt-\d+|metrics\.jsonl|loss\.png|train\.log|tb|{TEMPORARY.pattern}")


def previous_run(out):
    """The names in folder `out` that a training run wrote there, sorted (empty: no run there)."""
    return sorted(n for n in os.listdir(out) if RUN_NAMES.fullmatch(n)) if os.path.isdir(out) else []


def _inside(path, folder):
    return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) == os.path.realpath(folder)


def check_out(out, resume=None, init_from="", overwrite=False):
    """Refuse (RunDirError) to train into a folder holding another run, unless `overwrite`; a resumed
    run may continue in the folder of its own checkpoint. Runs in every process before any writes."""
    found = previous_run(out)
    if not found:
        return
    if overwrite:
        kept = [p for p in (resume, init_from) if p and _inside(p, out)]
        if kept:
            raise RunDirError(f"--overwrite would delete {kept[0]}, which this run starts from; "
                              "copy it elsewhere first, or choose another --out")
        return
    if resume and os.path.realpath(os.path.dirname(os.path.abspath(resume))) == os.path.realpath(out):
        return  # continuing its own run
    shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
    raise RunDirError(f"{out} already holds a training run ({shown}); pass --overwrite to replace it, "
                      "--resume to continue it, or choose another --out")


def remove_previous_run(out):
    """Delete what an earlier run wrote into `out` (RUN_NAMES only: a user's own files stay)."""
    for name in previous_run(out):
        path = os.path.join(out, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
