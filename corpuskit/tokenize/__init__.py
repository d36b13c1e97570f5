"""Tokenizer training, splits and Arrow shards: the steps after the document stages."""

from corpuskit.tokenize.bpe import EOT, TokenizerConfig, load_tokenizer, train_tokenizer
from corpuskit.tokenize.manifest import ShardsError, iter_split_tokens, load_manifest, read_shard
from corpuskit.tokenize.shards import ShardConfig, write_shards
from corpuskit.tokenize.split import SplitConfig, split_point

__all__ = [
    "EOT", "TokenizerConfig", "load_tokenizer", "train_tokenizer", "ShardsError", "iter_split_tokens",
    "load_manifest", "read_shard", "ShardConfig", "write_shards", "SplitConfig", "split_point",
]
