"""The steps after the document stages: train (or take) a tokenizer, then write shards.

Each step has the shape of a unit of work: `done()` tells whether its outputs exist and
were made from the same inputs (content fingerprint), tokenizer and settings; `run()`
redoes it from scratch and returns its summary line. The runner asks `done()` and skips,
as it does for units; the `tokenizer train` and `shard` commands use the same steps.
Where the outputs go is the caller's choice (under a run folder: `RunPaths`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from corpuskit.io import atomic_write_bytes, atomic_write_text
from corpuskit.layout import OUTPUT_GLOB, RunPaths
from corpuskit.readers import ReaderConfig
from corpuskit.tokenize.bpe import save_tokenizer, train_tokenizer, training_sample
from corpuskit.tokenize.config import ShardConfig, TokenizerConfig
from corpuskit.tokenize.inputs import InputDocuments
from corpuskit.tokenize.manifest import file_sha256, load_manifest
from corpuskit.tokenize.shards import shards_up_to_date, summary_line, write_shards
from corpuskit.tokenize.split import SplitConfig

Log = Callable[[str], None]


@dataclass
class TokenizerStep:
    """Train a tokenizer on the train split of `docs` into `out_file` (or copy `cfg.file` there)."""

    docs: InputDocuments
    out_file: Path
    cfg: TokenizerConfig
    split: SplitConfig
    record_file: Path  # what the tokenizer was trained on, to skip a rerun
    inputs_sha256: str | None = None
    workers: int = 1

    def _record(self) -> dict:
        if self.inputs_sha256 is None:
            self.inputs_sha256 = self.docs.fingerprint()
        return {"inputs_sha256": self.inputs_sha256, "params": self.cfg.training_params(),
                "split": {"validation": self.split.validation, "test": self.split.test}}

    def done(self) -> bool:
        if self.cfg.file:  # a copy: cheap, and always checked by run()
            return False
        if not (self.record_file.is_file() and self.out_file.is_file()):
            return False
        try:
            old = json.loads(self.record_file.read_text(encoding="utf-8"))
        except (ValueError, OSError):  # an unreadable record proves nothing: train again
            return False
        record = self._record()
        return (isinstance(old, dict) and {k: old.get(k) for k in record} == record
                and old.get("tokenizer_sha256") == file_sha256(self.out_file))

    def skipped_line(self) -> str:
        return f"tokenizer: {self.out_file} is up to date, skipped"

    def run(self) -> str:
        if self.cfg.file:
            src = Path(self.cfg.file)
            if src.resolve() != self.out_file.resolve():
                data = src.read_bytes()
                if not self.out_file.is_file() or self.out_file.read_bytes() != data:
                    atomic_write_bytes(self.out_file, data)
            return f"tokenizer: using {src} -> {self.out_file}"
        record = self._record()
        t0 = time.perf_counter()
        sample = training_sample(self.docs, self.split, self.cfg.train_bytes)
        tok = train_tokenizer(sample.texts, self.cfg, workers=self.workers, length=sample.n_documents)
        save_tokenizer(tok, self.out_file)
        record.update(tokenizer_sha256=file_sha256(self.out_file), n_documents=sample.n_documents,
                      n_bytes=sample.n_bytes, train_split_documents=sample.n_train_documents,
                      train_split_bytes=sample.n_train_bytes)
        atomic_write_text(self.record_file, json.dumps(record, indent=2) + "\n")
        note = "" if sample.n_bytes == sample.n_train_bytes else f" (sampled from {sample.n_train_bytes / 1e6:.1f} MB)"
        return (f"tokenizer: trained {tok.get_vocab_size():,}-token byte-level BPE on {sample.n_bytes / 1e6:.1f} MB "
                f"of {sample.n_documents:,} train documents{note} in {time.perf_counter() - t0:.1f}s -> {self.out_file}")


@dataclass
class ShardStep:
    """Write the shard directory `out_dir` from `docs` and `tokenizer_file`."""

    docs: InputDocuments
    tokenizer_file: Path
    out_dir: Path
    cfg: ShardConfig
    eot_token: str
    bos_token: str | None = None
    pad_token: str | None = None
    pipeline_config_sha256: str | None = None
    inputs_sha256: str | None = None
    workers: int = 1
    run_map: Callable | None = None  # an executor's map: one task per input source (shards.write_shards)

    def _inputs(self) -> str:
        if self.inputs_sha256 is None:
            self.inputs_sha256 = self.docs.fingerprint()
        return self.inputs_sha256

    def done(self) -> bool:
        record = {"inputs_sha256": self._inputs(), "pipeline_config_sha256": self.pipeline_config_sha256,
                  "shard_tokens": self.cfg.shard_tokens, "batch_rows": self.cfg.batch_rows,
                  "split": {"method": "blake2b64(doc_id) / 2**64", "validation": self.cfg.validation,
                            "test": self.cfg.test}}
        expect_tok = {"sha256": file_sha256(self.tokenizer_file), "eot_token": self.eot_token,
                      "bos_token": self.bos_token, "pad_token": self.pad_token}
        return shards_up_to_date(self.out_dir, expect_tok, record)

    def skipped_line(self) -> str:
        return f"shards: {self.out_dir} is up to date, skipped"

    def run(self) -> str:
        t0 = time.perf_counter()
        manifest = write_shards(self.docs, self.tokenizer_file, self.out_dir, self.cfg, workers=self.workers,
                                eot_token=self.eot_token, bos_token=self.bos_token, pad_token=self.pad_token,
                                pipeline_config_sha256=self.pipeline_config_sha256,
                                record={"inputs_sha256": self._inputs()}, run_map=self.run_map)
        return summary_line(manifest, time.perf_counter() - t0, self.out_dir)


def _do(step, log: Log, force: bool = False) -> None:
    log(step.skipped_line() if not force and step.done() else step.run())


def tokenizer_step(docs: InputDocuments, out_file: Path, cfg: TokenizerConfig, split: SplitConfig, *,
                   workers: int = 1, record_file: Path, inputs_sha256: str | None = None, force: bool = False,
                   log: Log = print) -> Path:
    """Run the tokenizer step unless it is done (or `force`); returns the tokenizer file."""
    _do(TokenizerStep(docs, Path(out_file), cfg, split, Path(record_file), inputs_sha256, workers), log, force)
    return Path(out_file)


def shard_step(docs: InputDocuments, tokenizer_file: Path, out_dir: Path, cfg: ShardConfig, *, workers: int = 1,
               eot_token: str, bos_token: str | None = None, pad_token: str | None = None,
               pipeline_config_sha256: str | None = None, inputs_sha256: str | None = None,
               force: bool = False, log: Log = print, run_map: Callable | None = None) -> dict:
    """Run the shard step unless it is done (or `force`); returns the manifest. `run_map`: an
    executor's map, for one task per input source."""
    _do(ShardStep(docs, Path(tokenizer_file), Path(out_dir), cfg, eot_token, bos_token, pad_token,
                  pipeline_config_sha256, inputs_sha256, workers, run_map), log, force)
    return load_manifest(out_dir)


def post_steps(cfg, paths: RunPaths, workers: int = 1, run_map: Callable | None = None) -> list:
    """The pipeline's `tokenizer:` and `shards:` sections as steps over the finished run folder;
    the shard step runs one task per `part-*` file through `run_map` (the run's executor)."""
    tcfg: TokenizerConfig | None = cfg.tokenizer
    scfg: ShardConfig | None = cfg.shards
    if tcfg is None:
        return []
    docs = InputDocuments(paths.root.resolve(), ReaderConfig(glob=OUTPUT_GLOB))  # absolute: tasks may run elsewhere
    fingerprint = docs.fingerprint()
    split = (scfg or ShardConfig()).split
    steps: list = [TokenizerStep(docs, paths.tokenizer, tcfg, split, paths.tokenizer_record, fingerprint, workers)]
    if scfg is not None:
        steps.append(ShardStep(docs, paths.tokenizer, paths.shards, scfg, tcfg.eot_token, tcfg.bos_token,
                               tcfg.pad_token, cfg.fingerprint(), fingerprint, workers, run_map))
    return steps
