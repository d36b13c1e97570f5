"""The tokenizer and shard steps on their own, outside a pipeline: `corpuskit tokenizer train` and `corpuskit shard`.

Each function takes plain option values, builds the config objects from them (a bad value
is a ConfigError with the config's own message) and runs the step, which is skipped when
its outputs are already up to date. The defaults are the config dataclasses' fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from corpuskit.errors import ConfigError
from corpuskit.layout import RunPaths, claim_folder, folder_lock, remove_temporaries
from corpuskit.tokenize.config import ShardConfig, TokenizerConfig
from corpuskit.tokenize.split import SplitConfig

Log = Callable[[str], None]
TOKENIZER_MARKER = ".corpuskit-tokenizer"  # marks a `tokenizer train` OUT_DIR as corpuskit's (layout.claim_folder)


def _config(cls, values: dict):
    try:
        return cls(**values)
    except ValueError as err:  # the dataclass's range checks in __post_init__
        raise ConfigError(str(err)) from None


def _documents(input_path: str | Path, glob: str | None):
    from corpuskit.readers import ReaderConfig
    from corpuskit.tokenize.inputs import InputDocuments

    return InputDocuments(input_path, ReaderConfig(glob=glob) if glob else ReaderConfig())


def train_tokenizer(input_path: str | Path, out_dir: str | Path, tokenizer: dict, split: dict, *,
                    glob: str | None = None, workers: int = 1, force: bool = False, log: Log = print) -> Path:
    """Train a tokenizer on the train split of `input_path`; returns OUT_DIR/tokenizer.json.

    OUT_DIR must be new, empty, or an earlier `tokenizer train`'s folder (RunError otherwise).

    `tokenizer`: `TokenizerConfig` fields; `split`: `SplitConfig` fields (the documents held
    out here are the ones `shard_corpus` with the same fractions puts in validation and test).
    """
    from corpuskit.tokenize.steps import tokenizer_step

    cfg, split_cfg = _config(TokenizerConfig, tokenizer), _config(SplitConfig, split)
    out = Path(out_dir)
    # OUT_DIR is ours only if we made it (or found it empty): a user's own tokenizer.json there
    # is never overwritten, with or without `force` (which retrains into corpuskit's own names).
    claim_folder(out, TOKENIZER_MARKER, "tokenizer")
    names = ("tokenizer.json", "tokenizer.training.json")
    with folder_lock(out, "tokenizer training"):  # a second `tokenizer train` into OUT_DIR: refused, not raced
        remove_temporaries(out, lambda rel: rel in names)  # a killed training's half-written files
        return tokenizer_step(_documents(input_path, glob), out / names[0], cfg, split_cfg, workers=workers,
                              record_file=out / names[1], force=force, log=log)


def shard_corpus(input_path: str | Path, out_dir: str | Path, tokenizer_file: str | Path, shards: dict, *,
                 eot_token: str, bos_token: str | None = None, pad_token: str | None = None,
                 glob: str | None = None, workers: int = 1, force: bool = False, log: Log = print) -> dict:
    """Tokenize `input_path` into a shard directory `out_dir`; returns its manifest.

    `shards`: `ShardConfig` fields. When the input is a corpuskit run folder, the manifest
    records the fingerprint of the configuration that made it.
    """
    from corpuskit.io import is_url
    from corpuskit.tokenize.steps import shard_step

    cfg = _config(ShardConfig, shards)
    docs = _documents(input_path, glob)
    url = str(out_dir) if is_url(out_dir) else None
    if url:  # object storage: write in a local working folder, then publish (corpuskit/publish.py)
        from corpuskit.publish import work_dir

        out_dir = work_dir(url)
    manifest = shard_step(docs, Path(tokenizer_file), Path(out_dir), cfg, workers=workers, eot_token=eot_token,
                          bos_token=bos_token, pad_token=pad_token,
                          pipeline_config_sha256=RunPaths(Path(input_path)).fingerprint(), force=force, log=log)
    if url:
        from corpuskit.layout import SHARDS_MARKER, owned_name
        from corpuskit.publish import publish
        from corpuskit.tokenize.manifest import MANIFEST

        publish(Path(out_dir), url, log, marker=SHARDS_MARKER, last=(MANIFEST,),
                owned=lambda rel: owned_name(f"shards/{rel}"))
    return manifest
