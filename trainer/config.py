"""Training configuration: one dataclass with commented defaults, loaded from YAML plus key=value overrides.

A YAML file holds top-level training keys and a `model:` mapping (see configs/default.yaml).
Overrides use the same names, dotted for the model: `lr=1e-3 model.n_layer=6`. Values are parsed
as YAML scalars and checked against the field's type, then against the range or the choices its
annotation declares (checks.py); unknown keys are errors, never ignored.
"""

import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass, field
from typing import Annotated, Literal

import yaml

from .checks import Pattern, Range, check_fields
from .errors import ConfigError

AT_LEAST_0, AT_LEAST_1, POSITIVE = Range(0), Range(1), Range(0, low_open=True)
FRACTION, BETA = Range(0, 1), Range(0, 1, high_open=True)
DEVICE = Pattern(r"auto|cpu|cuda(:\d+)?", "auto, cpu, cuda or cuda:N")  # what train.resolve_device can place a model on


@dataclass
class ModelConfig:
    """Every field's range and every switch's choices are checked here (checks.py), when the
    config is made or loaded, rather than deep inside model construction."""

    arch: Literal["gpt", "lstm"] = "gpt"  # transformer, or the recurrent baseline in lstm.py
    vocab_size: Annotated[int, Range(0)] = 0  # 0: taken from the shard manifest
    block_size: Annotated[int, Range(1)] = 128  # context length in tokens
    n_layer: Annotated[int, Range(1)] = 4
    n_head: Annotated[int, Range(1)] = 4
    n_embd: Annotated[int, Range(1)] = 256
    mlp_hidden: Annotated[int, Range(0)] = 0  # 0: 4*n_embd for gelu and relu2, ~8/3*n_embd (multiple of 32) for swiglu
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0
    bias: bool = False  # biases in Linear and LayerNorm layers
    pos: Literal["rope", "learned"] = "rope"  # rotary, or learned absolute position embeddings
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    mlp: Literal["swiglu", "gelu", "relu2"] = "swiglu"  # relu2: relu(x)^2 without a gate (Primer, nanochat)
    norm_eps: Annotated[float, Range(0, low_open=True)] = 1e-5
    rope_theta: Annotated[float, Range(0, low_open=True)] = 10000.0
    tie_weights: bool = True  # share the token embedding with the output head
    qk_norm: bool = False  # RMSNorm (no weight) of each head's queries and keys, before RoPE; exports as Qwen3
    logit_softcap: Annotated[float, Range(0)] = 0.0  # >0: logits = cap * tanh(logits / cap) (Gemma 2); 0: off

    def __post_init__(self):
        check_fields(self, "model.")
        if self.arch == "gpt" and self.n_embd % self.n_head:
            raise ConfigError(f"model.n_embd {self.n_embd} is not divisible by model.n_head {self.n_head}; "
                              "each head takes n_embd / n_head channels")
        if self.arch == "gpt" and self.pos == "rope" and (self.n_embd // self.n_head) % 2:
            raise ConfigError(f"model: head size {self.n_embd // self.n_head} (n_embd / n_head) must be even "
                              "for pos=rope, which rotates channels in pairs")

    def hidden_size(self):
        """MLP width: mlp_hidden, or the usual default (4C for GELU and ReLU², 8C/3 rounded up to 32 for SwiGLU)."""
        if self.mlp_hidden:
            return self.mlp_hidden
        return 32 * math.ceil(8 * self.n_embd / 3 / 32) if self.mlp == "swiglu" else 4 * self.n_embd


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    # data
    data: str = "data/shards"  # shard directory (manifest.json, tokenizer.json, train/, validation/)
    sampling: Literal["random", "sequential"] = "random"  # random windows, or shuffled non-overlapping windows per epoch
    seed: Annotated[int, AT_LEAST_0] = 1337  # model init, dropout and data order all derive from it
    # optimisation
    batch_size: Annotated[int, AT_LEAST_1] = 32  # sequences per micro-batch per process
    grad_accum: Annotated[int, AT_LEAST_1] = 1  # micro-batches per optimizer step per process
    max_steps: Annotated[int, AT_LEAST_1] = 1000  # optimizer steps; the LR schedule spans exactly this many
    max_time: Annotated[float, AT_LEAST_0] = 0.0  # seconds; >0: max_steps is a cap, the length is fitted and refitted so training ends on time (budget.py)
    min_steps: Annotated[int, AT_LEAST_0] = 0  # max_time only: fewer steps than this fit, halve the batch (timed again); 0: keep it
    score_share: Annotated[float, FRACTION] = 1.0  # max_time only: the scoring after training may take this share of it; beyond, the final validation reads fewer windows and the tasks fewer items (reserve.py)
    lr: Annotated[float, POSITIVE] = 1e-3  # peak learning rate
    min_lr: Annotated[float, AT_LEAST_0] = 1e-4  # floor at the end of the schedule
    schedule: Literal["cosine", "wsd"] = "cosine"  # cosine, or wsd (warmup-stable-decay)
    warmup_steps: Annotated[int, AT_LEAST_0] = 50  # at most a fifth of the run (budget.WARMUP_MAX_FRAC)
    decay_frac: Annotated[float, FRACTION] = 0.2  # wsd only: fraction of steps spent decaying linearly to min_lr
    weight_decay: Annotated[float, AT_LEAST_0] = 0.1  # matrices only; norms, biases and embeddings are not decayed
    optimizer: Literal["adamw", "muon"] = "adamw"  # muon: Muon for hidden matrices, AdamW (at lr) for the rest (optim.py)
    embed_lr: Annotated[float, AT_LEAST_0] = 0.0  # AdamW LR of the input embeddings; 0: lr (optim.py says why it may differ)
    muon_lr: Annotated[float, POSITIVE] = 0.02  # optimizer=muon: peak learning rate of the hidden matrices
    muon_momentum: Annotated[float, BETA] = 0.95  # optimizer=muon: Nesterov momentum of the hidden matrices
    beta1: Annotated[float, BETA] = 0.9
    beta2: Annotated[float, BETA] = 0.95
    grad_clip: Annotated[float, AT_LEAST_0] = 1.0  # max global grad norm; 0 disables clipping
    # systems
    device: Annotated[str, DEVICE] = "auto"  # "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:1", ...
    dtype: Literal["auto", "bfloat16", "bf16", "float32", "fp32"] = "auto"  # auto: bf16 autocast if timed bf16 matmuls are 1.3x faster here (autotune.py)
    compile: Literal["auto", True, False] = "auto"  # torch.compile the model; auto: on CUDA only (autotune.py says why)
    threads: Annotated[int, AT_LEAST_0] = 0  # torch intra-op threads on CPU; 0 keeps torch's default
    # evaluation, logging, checkpoints
    eval_interval: Annotated[int, AT_LEAST_0] = 0  # steps between validation evals during training; 0: only at the end
    eval_batches: Annotated[int, AT_LEAST_1] = 20  # batches per scheduled eval; the final eval reads the whole split
    log_interval: Annotated[int, AT_LEAST_1] = 10  # steps between metric lines in metrics.jsonl
    checkpoint_interval: Annotated[int, AT_LEAST_0] = 0  # steps between checkpoints; 0: only the final one
    halt_at_step: Annotated[int, AT_LEAST_0] = 0  # >0: stop after this step (schedule unchanged), as a preempted job would
    out: str = "runs/default"  # run directory: checkpoints, metrics.jsonl, loss.png
    init_from: str = ""  # checkpoint whose weights and model.* settings (all but dropout) start this run
    tensorboard: bool = False  # also write TensorBoard events (needs the tensorboard package)
    plot: bool = True  # write loss.png at the end (matplotlib)
    progress: bool = True  # a bar on a terminal; false (or stderr not a terminal): a line per log_interval (progress.py)
    heldout: str = ""  # after training: comma-separated UTF-8 text files (.gz allowed) scored in bits per byte; "" none
    eval_tasks: str = ""  # after training: downstream tasks to score (core, quick or NAME[,NAME]; downstream.py); "" none
    sample_tokens: Annotated[int, AT_LEAST_0] = 64  # tokens generated at the end of training; 0 disables
    sample_prompt: str = "The"

    def __post_init__(self):
        check_fields(self)
        if self.min_lr > self.lr:  # the schedule would warm up to lr, then "decay" upwards
            raise ConfigError(f"min_lr {self.min_lr:g} is above lr {self.lr:g}; the schedule decays from lr to min_lr")


def _fields(cls):
    return {f.name: f for f in dataclasses.fields(cls)}


def _check_type(name, value, annotation):
    """`value` converted to `annotation` (int, float, bool, str or a Literal of them), or a ConfigError naming the key."""
    if typing.get_origin(annotation) is typing.Literal:  # which of the choices is for the dataclass to check
        choices = typing.get_args(annotation)
        if any(type(value) is type(c) and value == c for c in choices):
            return value
        annotation = type(choices[0])
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, float) and isinstance(value, str):  # YAML reads 3e-4 (no dot) as a string
        try:
            return annotation(value)
        except ValueError:
            pass
    if annotation is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # e.g. sample_prompt=1984
    if annotation in (int, float, bool, str) and isinstance(value, annotation):
        if annotation is int and isinstance(value, bool):
            raise ConfigError(f"{name}: expected int, got bool {value!r}")
        return value
    raise ConfigError(f"{name}: expected {annotation.__name__}, got {type(value).__name__} {value!r}")


def _unknown(name, known):
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return ConfigError(f"unknown config key {name!r}{hint}")


def _known_keys():
    return [k for k in _fields(TrainConfig) if k != "model"] + [f"model.{k}" for k in _fields(ModelConfig)]


def from_dict(d):
    """A TrainConfig from a nested dict (as in YAML or a checkpoint's config.json), type-checked."""
    if d is not None and not isinstance(d, dict):
        raise ConfigError(f"expected a mapping of config keys, got {type(d).__name__}")
    d = dict(d or {})
    model_d = d.pop("model", None) or {}
    if not isinstance(model_d, dict):
        raise ConfigError("model: expected a mapping of model settings")
    hints = typing.get_type_hints(TrainConfig)
    top = {}
    for k, v in d.items():
        if k not in hints or k == "model":
            raise _unknown(k, _known_keys())
        top[k] = _check_type(k, v, hints[k])
    mhints = typing.get_type_hints(ModelConfig)
    m = {}
    for k, v in model_d.items():
        if k not in mhints:
            raise _unknown(f"model.{k}", _known_keys())
        m[k] = _check_type(f"model.{k}", v, mhints[k])
    return TrainConfig(model=ModelConfig(**m), **top)


def to_dict(cfg):
    return dataclasses.asdict(cfg)


def _parse(raw, annotation):
    if annotation is str or (typing.get_origin(annotation) is typing.Literal
                             and all(isinstance(c, str) for c in typing.get_args(annotation))):
        return raw  # strings are taken verbatim: prompt="true" stays a string
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw  # reported by the type check with the key's name


def apply_overrides(cfg, overrides):
    """A copy of `cfg` with `key=value` strings applied; values are YAML scalars (1e-3, true, rope)."""
    d = to_dict(cfg)
    hints, mhints = typing.get_type_hints(TrainConfig), typing.get_type_hints(ModelConfig)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "model" and parts[1] in d["model"]:
            d["model"][parts[1]] = _parse(raw, mhints[parts[1]])
        elif len(parts) == 1 and key in d and key != "model":
            d[key] = _parse(raw, hints[key])
        else:
            err = _unknown(key, _known_keys())
            if len(parts) == 1 and key in d["model"]:
                err = ConfigError(f"unknown config key {key!r}; model settings are dotted: model.{key}={raw}")
            raise err
    return from_dict(d)


def load_config(path=None, overrides=()):
    """The resolved config: defaults, then the YAML file at `path` (if any), then `overrides`."""
    d = {}
    if path:
        with open(path, encoding="utf-8") as f:
            try:
                d = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                raise ConfigError(f"{path}: invalid YAML: {' '.join(str(e).split())}") from None
        if not isinstance(d, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
    return apply_overrides(from_dict(d), list(overrides))
