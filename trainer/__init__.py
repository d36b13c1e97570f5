"""corpuskit's compact pretraining module. Reads a shard directory (docs/SHARDS.md); imports no corpuskit."""

from .config import TrainConfig, load_config
from .lstm import LSTMLM
from .model import GPT, ModelConfig, build_model

__all__ = ["GPT", "LSTMLM", "ModelConfig", "TrainConfig", "build_model", "load_config"]
