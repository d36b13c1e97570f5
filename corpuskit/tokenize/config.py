"""The `tokenizer:` and `shards:` sections of a pipeline: one dataclass each, stdlib only.

The CLI reads its option defaults from these fields, so the defaults live here only.
Types are checked by `corpuskit.schema` when a pipeline is loaded; `__post_init__`
checks ranges and relations between fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated

from corpuskit.schema import NonEmptyStr, Positive, Range, check_fields, from_mapping
from corpuskit.tokenize.split import SplitConfig

EOT = "<|endoftext|>"


@dataclass(frozen=True)
class TokenizerConfig:
    # including the 256 byte symbols and the special tokens; sized for the demo corpus.
    # At least 256 bytes + special tokens; at most what a uint32 token id (the shards' widest) holds.
    vocab_size: Annotated[int, Range(260, 2**32)] = 8192
    min_frequency: Positive = 2  # a pair must occur this often to be merged
    train_bytes: Positive = 256_000_000  # at most this many UTF-8 bytes of the train split are used for training
    eot_token: NonEmptyStr = EOT  # appended to every document by the shards; id 0 when trained here
    bos_token: NonEmptyStr | None = None  # optional, reserved as a special token (for example "<|bos|>")
    pad_token: NonEmptyStr | None = None  # optional, reserved as a special token (for example "<|pad|>")
    file: NonEmptyStr | None = None  # use this existing tokenizer.json instead of training one

    def __post_init__(self) -> None:
        check_fields(self)
        specials = self.special_tokens
        if len(set(specials)) != len(specials) or not all(isinstance(t, str) and t for t in specials):
            raise ValueError(f"special tokens must be distinct non-empty strings; got {specials}")

    @property
    def special_tokens(self) -> list[str]:
        return [t for t in (self.eot_token, self.bos_token, self.pad_token) if t is not None]

    @classmethod
    def from_dict(cls, d: dict | None) -> "TokenizerConfig":
        return from_mapping(cls, d, "tokenizer")

    def training_params(self) -> dict:
        """What decides the trained tokenizer's bytes (not `file`)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "file"}


@dataclass(frozen=True)
class ShardConfig:
    validation: float = 0.05  # fraction of documents in the validation split (by hash of the id)
    test: float = 0.0  # fraction in a test split; 0 = no test split
    shard_tokens: Positive = 10_000_000  # start a new shard once one holds this many tokens (documents are never cut)
    batch_rows: Positive = 1024  # documents per Arrow record batch

    def __post_init__(self) -> None:
        self.split  # validates the fractions (SplitConfig states their rule)
        check_fields(self)

    @property
    def split(self) -> SplitConfig:
        return SplitConfig(self.validation, self.test)

    @classmethod
    def from_dict(cls, d: dict | None) -> "ShardConfig":
        return from_mapping(cls, d, "shards")
