"""corpuskit's compact pretraining module. Reads a shard directory (docs/SHARDS.md); imports no corpuskit.

The configuration imports without torch (so `python -m trainer -h` is instant); the model
classes are imported on first use."""

from .config import ModelConfig, TrainConfig, load_config

__all__ = ["GPT", "LSTMLM", "ModelConfig", "TrainConfig", "build_model", "load_config"]


def __getattr__(name):
    if name in ("GPT", "build_model"):
        from . import model

        return getattr(model, name)
    if name == "LSTMLM":
        from .lstm import LSTMLM

        return LSTMLM
    raise AttributeError(f"module 'trainer' has no attribute {name!r}")
