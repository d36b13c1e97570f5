"""The steps after the document stages: a BPE tokenizer, hash splits and Arrow shards.

    config.py    TokenizerConfig, ShardConfig: the pipeline's `tokenizer:` and `shards:` sections
    split.py     train / validation / test by a stable hash of the document id
    inputs.py    the documents of a run (or any input), re-iterable, with a content fingerprint
    bpe.py       byte-level BPE training, deterministic
    shards.py    Arrow shards by split; manifest.py reads and checks a shard directory
    steps.py     the tokenizer and shard steps, each skipped when already done
    standalone.py  the same steps from plain option values (`corpuskit tokenizer train`, `corpuskit shard`)

Nothing is imported here, so that reading a config does not import numpy or pyarrow.
"""
