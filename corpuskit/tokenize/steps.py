"""The steps after the document stages: train (or take) a tokenizer, then write shards.

Both are resumable: a step whose outputs exist and were made from the same inputs
(content fingerprint), tokenizer and settings is skipped; otherwise it is redone
from scratch. Each prints one summary line.

    OUTPUT/tokenizer.json                    the tokenizer (trained here, or a copy of `tokenizer.file`)
    OUTPUT/shards/                           the shard directory (docs/SHARDS.md)
    OUTPUT/_work/tokenizer/training.json     what the tokenizer was trained on, to skip a rerun
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

from corpuskit.io import atomic_write_bytes, atomic_write_text
from corpuskit.readers import ReaderConfig
from corpuskit.tokenize.bpe import TokenizerConfig, save_tokenizer, train_tokenizer, training_sample
from corpuskit.tokenize.inputs import InputDocuments
from corpuskit.tokenize.manifest import file_sha256
from corpuskit.tokenize.shards import ShardConfig, shards_up_to_date, summary_line, write_shards
from corpuskit.tokenize.split import SplitConfig

Log = Callable[[str], None]


def check_post_config(tokenizer: dict | None, shards: dict | None) -> tuple[TokenizerConfig | None, ShardConfig | None]:
    """Validate the pipeline's `tokenizer:` and `shards:` sections (ValueError naming the key)."""
    tcfg = TokenizerConfig.from_dict(tokenizer) if tokenizer is not None else None
    scfg = ShardConfig.from_dict(shards) if shards is not None else None
    if scfg is not None and tcfg is None:
        raise ValueError("shards: needs a 'tokenizer:' section (vocab_size to train one, or file: an existing tokenizer.json)")
    if tcfg is not None and tcfg.file and not Path(tcfg.file).is_file():
        raise ValueError(f"tokenizer: file: not found: {tcfg.file}")
    return tcfg, scfg


def tokenizer_step(docs: InputDocuments, out_file: Path, cfg: TokenizerConfig, split: SplitConfig, *,
                   workers: int = 1, record_file: Path, inputs_sha256: str | None = None, log: Log = print) -> Path:
    """Train a tokenizer on the train split of `docs` into `out_file` (or copy `cfg.file` there)."""
    out_file = Path(out_file)
    if cfg.file:
        src = Path(cfg.file)
        if src.resolve() != out_file.resolve():
            data = src.read_bytes()
            if not out_file.is_file() or out_file.read_bytes() != data:
                atomic_write_bytes(out_file, data)
        log(f"tokenizer: using {src} -> {out_file}")
        return out_file
    record = {
        "inputs_sha256": inputs_sha256 or docs.fingerprint(),
        "params": cfg.training_params(),
        "split": {"validation": split.validation, "test": split.test},
    }
    if record_file.is_file() and out_file.is_file():
        old = json.loads(record_file.read_text())
        if {k: old.get(k) for k in record} == record and old.get("tokenizer_sha256") == file_sha256(out_file):
            log(f"tokenizer: {out_file} is up to date, skipped")
            return out_file
    t0 = time.perf_counter()
    sample = training_sample(docs, split, cfg.train_bytes)
    tok = train_tokenizer(sample.texts, cfg, workers=workers, length=sample.n_documents)
    save_tokenizer(tok, out_file)
    record.update(tokenizer_sha256=file_sha256(out_file), n_documents=sample.n_documents, n_bytes=sample.n_bytes,
                  train_split_documents=sample.n_train_documents, train_split_bytes=sample.n_train_bytes)
    atomic_write_text(record_file, json.dumps(record, indent=2) + "\n")
    note = "" if sample.n_bytes == sample.n_train_bytes else f" (sampled from {sample.n_train_bytes / 1e6:.1f} MB)"
    log(f"tokenizer: trained {tok.get_vocab_size():,}-token byte-level BPE on {sample.n_bytes / 1e6:.1f} MB "
        f"of {sample.n_documents:,} train documents{note} in {time.perf_counter() - t0:.1f}s -> {out_file}")
    return out_file


def shard_step(docs: InputDocuments, tokenizer_file: Path, out_dir: Path, cfg: ShardConfig, *, workers: int = 1,
               eot_token: str, bos_token: str | None = None, pad_token: str | None = None,
               pipeline_config_sha256: str | None = None, inputs_sha256: str | None = None,
               force: bool = False, log: Log = print) -> dict:
    """Write the shard directory `out_dir` unless it is already up to date; returns its manifest."""
    from corpuskit.tokenize.manifest import load_manifest

    out_dir = Path(out_dir)
    record = {"inputs_sha256": inputs_sha256 or docs.fingerprint(), "pipeline_config_sha256": pipeline_config_sha256,
              "shard_tokens": cfg.shard_tokens, "batch_rows": cfg.batch_rows,
              "split": {"method": "blake2b64(doc_id) / 2**64", "validation": cfg.validation, "test": cfg.test}}
    expect_tok = {"sha256": file_sha256(tokenizer_file), "eot_token": eot_token, "bos_token": bos_token,
                  "pad_token": pad_token}
    if not force and shards_up_to_date(out_dir, expect_tok, record):
        log(f"shards: {out_dir} is up to date, skipped")
        return load_manifest(out_dir)
    t0 = time.perf_counter()
    manifest = write_shards(docs, tokenizer_file, out_dir, cfg, workers=workers, eot_token=eot_token,
                            bos_token=bos_token, pad_token=pad_token, pipeline_config_sha256=pipeline_config_sha256,
                            record={"inputs_sha256": record["inputs_sha256"]})
    log(summary_line(manifest, time.perf_counter() - t0, out_dir))
    return manifest


def run_post_steps(cfg, paths, workers: int | None = None, quiet: bool = False, log: Log | None = None) -> None:
    """The pipeline's `tokenizer:` and `shards:` sections, run over the finished run directory."""
    log = log or (lambda msg: None if quiet else print(msg, file=sys.stderr))
    workers = workers or os.cpu_count() or 1
    tcfg, scfg = check_post_config(cfg.tokenizer, cfg.shards)
    if tcfg is None:
        return
    root = Path(paths.root)
    docs = InputDocuments(root, ReaderConfig(glob="part-*"))
    fingerprint = docs.fingerprint()
    split = (scfg or ShardConfig()).split
    tok_file = tokenizer_step(docs, root / "tokenizer.json", tcfg, split, workers=workers,
                              record_file=root / "_work" / "tokenizer" / "training.json",
                              inputs_sha256=fingerprint, log=log)
    if scfg is not None:
        shard_step(docs, tok_file, root / "shards", scfg, workers=workers, eot_token=tcfg.eot_token,
                   bos_token=tcfg.bos_token, pad_token=tcfg.pad_token, pipeline_config_sha256=cfg.fingerprint(),
                   inputs_sha256=fingerprint, log=log)
