"""Shard reading and batching. The shard directory (docs/SHARDS.md) is the only contract with the
data pipeline: this module reads `manifest.json` and the Arrow IPC stream files, nothing else.

Every split is served as one flat token sequence (documents already end with the end-of-text
token) straight from memory-mapped Arrow buffers. Batches are a pure function of
(seed, micro-batch index), so the data cursor is one integer and any process can compute any
batch: resuming, or splitting a step's micro-batches across DDP ranks, changes nothing.
"""

import json
import math
import os
import re

import numpy as np
import pyarrow as pa
import torch

from .errors import ConfigError, ShardsError
from .files import regular_file, sha256

FORMAT, FORMAT_VERSION = "corpuskit-shards", 1
NAME = re.compile(r"[A-Za-z0-9_.-]+")  # a split or file name: one path component


class TokenStream:
    """The concatenated `input_ids` of some Arrow shard files, without copying them into memory."""

    def __init__(self, paths):
        self._maps, self._chunks, self.file_tokens = [], [], []
        for path in paths:
            n = 0
            try:
                source = pa.memory_map(path)  # kept open: the arrays below point into it
                for batch in pa.ipc.open_stream(source):
                    ids = batch.column("input_ids").flatten()  # zero-copy view of the list values
                    if len(ids):
                        self._chunks.append(ids.to_numpy(zero_copy_only=True))
                        n += len(ids)
            except (pa.ArrowException, OSError, KeyError, AttributeError) as e:
                raise ShardsError(f"{path}: not a readable shard (an Arrow IPC stream with an input_ids list "
                                  f"column): {e}") from None
            self._maps.append(source)
            self.file_tokens.append(n)
        lengths = [len(c) for c in self._chunks]
        self._starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)  # (n_chunks + 1,)
        self.n_tokens = int(self._starts[-1])

    def __len__(self):
        return self.n_tokens

    def window(self, start, length):
        """Tokens [start, start + length) as int64, gathered across chunk boundaries if needed."""
        i = int(np.searchsorted(self._starts, start, side="right")) - 1
        out, need = [], length
        while need > 0:
            chunk, offset = self._chunks[i], start - self._starts[i]
            piece = chunk[offset : offset + need]
            out.append(piece)
            need -= len(piece)
            start += len(piece)
            i += 1
        return np.concatenate(out).astype(np.int64) if len(out) > 1 else out[0].astype(np.int64)

    def max_token(self):
        return max(int(c.max()) for c in self._chunks) if self._chunks else -1


def _refuse_escapes(manifest, where):
    """ShardsError naming the key unless every path the manifest gives stays inside its directory:
    tokenizer.file a plain name, split names plain, each shard file exactly SPLIT/NAME.arrow."""
    def plain(name):
        return isinstance(name, str) and NAME.fullmatch(name) is not None and name not in (".", "..")

    tok = manifest.get("tokenizer") if isinstance(manifest.get("tokenizer"), dict) else {}
    if not plain(tok.get("file")):
        raise ShardsError(f"{where}: tokenizer.file: {tok.get('file')!r} is not a plain file name")
    splits = manifest.get("splits")
    for split, info in (splits.items() if isinstance(splits, dict) else [("splits", None)]):
        if not plain(split) or not isinstance(info, dict) or not isinstance(info.get("shards"), list):
            raise ShardsError(f"{where}: splits[{split!r}]: expected a plain split name mapped to its shards")
        for i, entry in enumerate(info["shards"]):
            file = entry.get("file") if isinstance(entry, dict) else None
            parts = file.split("/") if isinstance(file, str) else []
            if len(parts) != 2 or parts[0] != split or not plain(parts[1]) or not parts[1].endswith(".arrow"):
                raise ShardsError(f"{where}: splits.{split}.shards[{i}].file: {file!r} is not {split}/NAME.arrow")


def _check_fields(manifest, where):
    """ShardsError naming the manifest and the field for the first field the trainer reads that is
    missing or of the wrong kind: checked when the shard set is opened, not met as a KeyError later."""
    def need(value, field, ok, expected):
        if not ok(value):
            got = "nothing" if value in (None, "missing") else repr(value)
            raise ShardsError(f"{where}: {field}: expected {expected}, got {got}")

    def integer(low):
        return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low

    def positive(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0

    tok = manifest["tokenizer"]
    need(tok.get("sha256"), "tokenizer.sha256", lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v),
         "the tokenizer file's sha256 (64 hex digits)")
    need(tok.get("vocab_size"), "tokenizer.vocab_size", integer(1), "an integer >= 1")
    need(tok.get("eot_id"), "tokenizer.eot_id", lambda v: integer(0)(v) and v < tok["vocab_size"],
         f"an integer in [0, {tok['vocab_size']})")
    need(manifest.get("dtype"), "dtype", lambda v: v in ("uint16", "uint32"), "'uint16' or 'uint32'")
    if manifest["dtype"] == "uint16" and tok["vocab_size"] > 1 << 16:
        raise ShardsError(f"{where}: dtype: uint16 cannot hold the ids of tokenizer.vocab_size {tok['vocab_size']}")
    for split, info in manifest["splits"].items():
        # null: a split without tokens, which has no bytes per token (refused if it is evaluated)
        need(info.get("bytes_per_token", "missing"), f"splits.{split}.bytes_per_token",
             lambda v: v is None or positive(v), "a number > 0")
        for i, entry in enumerate(info["shards"]):
            need(entry.get("n_tokens"), f"splits.{split}.shards[{i}].n_tokens", integer(0), "an integer >= 0")
            need(entry.get("sha256"), f"splits.{split}.shards[{i}].sha256", lambda v: isinstance(v, str),
                 "the file's sha256")


class Shards:
    """A shard directory: its manifest, tokenizer file, and a TokenStream per split."""

    def __init__(self, path):
        self.path = path
        manifest_path = os.path.join(path, "manifest.json")
        if not os.path.lexists(manifest_path):
            raise ShardsError(f"{path}: no manifest.json; expected a shard directory (docs/SHARDS.md)")
        regular_file(manifest_path, ShardsError)  # a link could make any file the manifest
        try:
            with open(manifest_path, encoding="utf-8") as f:
                self.manifest = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ShardsError(f"{manifest_path}: invalid JSON: {e}") from None
        if not isinstance(self.manifest, dict):
            raise ShardsError(f"{manifest_path}: expected a JSON object")
        fmt, version = self.manifest.get("format"), self.manifest.get("format_version")
        if fmt != FORMAT or version != FORMAT_VERSION:
            raise ShardsError(f"{manifest_path}: format {fmt!r} v{version}; this trainer reads {FORMAT!r} v{FORMAT_VERSION}")
        _refuse_escapes(self.manifest, manifest_path)
        _check_fields(self.manifest, manifest_path)
        tok = self.manifest["tokenizer"]
        self.vocab_size, self.eot_id = tok["vocab_size"], tok["eot_id"]
        self.splits = self.manifest["splits"]
        # The tokenizer is copied into every checkpoint and export: it must be the one the ids were made
        # with (its hash, ~1 ms a MB), and a regular file, not a link to some other file on this machine.
        self.tokenizer_path = regular_file(os.path.join(path, tok["file"]), ShardsError)
        if sha256(self.tokenizer_path) != tok["sha256"]:
            raise ShardsError(f"{self.tokenizer_path}: sha256 differs from the manifest's tokenizer.sha256 "
                              "(another tokenizer); rebuild the shards or restore the file")

    def bytes_per_token(self, split):
        value = self.splits[split].get("bytes_per_token")
        if value is None:
            raise ShardsError(f"{self.path}: split {split!r} has no bytes_per_token in its manifest (no tokens)")
        return float(value)

    def tokens(self, split):
        """The split's TokenStream, each shard checked against the manifest as it is opened: present,
        the same sha256, the same token count, and no id beyond the vocabulary."""
        if split not in self.splits:
            raise ShardsError(f"{self.path}: no {split!r} split; manifest has {sorted(self.splits)}")
        shards = self.splits[split]["shards"]
        paths = [os.path.join(self.path, s["file"]) for s in shards]
        # Hashing reads each file once more, at ~1 GB/s: measured on the default shards (train,
        # 3 files, 5.8 MB) 8 ms, against a 225 s training budget, and a few seconds for a
        # multi-GB split. Nothing else catches a shard overwritten with other, well-formed tokens.
        if os.path.islink(os.path.join(self.path, split)):
            raise ShardsError(f"{os.path.join(self.path, split)}: is a symbolic link; the split folder must be a folder "
                              "of the shard set")
        for p, entry in zip(paths, shards):
            if not os.path.lexists(p):
                raise ShardsError(f"{p}: listed in the manifest but missing")
            regular_file(p, ShardsError)
            if sha256(p) != entry["sha256"]:
                raise ShardsError(f"{p}: sha256 differs from the manifest (overwritten or corrupt shard); "
                                  "rebuild the shards or restore the file")
        stream = TokenStream(paths)
        for p, entry, n in zip(paths, shards, stream.file_tokens):
            if n != entry["n_tokens"]:
                raise ShardsError(f"{p}: manifest says {entry.get('n_tokens')} tokens, the file holds {n}")
        if stream.max_token() >= self.vocab_size:
            raise ShardsError(f"{self.path}/{split}: token id {stream.max_token()} >= vocab_size {self.vocab_size}")
        return stream


class Batches:
    """Training batches (x, y), each (B, T) int64 with y = x shifted by one token.

    mode "random": B windows at uniformly random offsets, drawn from rng(seed, index).
    mode "sequential": non-overlapping windows, shuffled once per epoch by rng(seed, epoch),
    visited in order so that every token is seen once per epoch.
    `index` counts micro-batches over all processes; rank r of w takes indices r, r+w, r+2w, ...
    so a step's micro-batches are the same set whatever the number of processes.
    """

    def __init__(self, stream, batch_size, block_size, seed, mode="random", rank=0, world_size=1):
        if mode not in ("random", "sequential"):
            raise ValueError(f"unknown sampling {mode!r}; expected 'random' or 'sequential'")
        if len(stream) < block_size + 1:
            raise ShardsError(f"split has {len(stream)} tokens, fewer than block_size + 1 = {block_size + 1}")
        self.stream, self.B, self.T, self.seed, self.mode = stream, batch_size, block_size, seed, mode
        self.rank, self.world_size = rank, world_size
        self.index = 0  # next global micro-batch index: the data cursor
        self.n_windows = (len(stream) - 1) // block_size
        self._perm_epoch, self._perm = -1, None

    def batch(self, index):
        if self.mode == "random":
            rng = np.random.default_rng([self.seed, index])
            starts = rng.integers(0, len(self.stream) - self.T, size=self.B)
        else:
            starts = [self._window_start(index * self.B + b) for b in range(self.B)]
        xy = np.stack([self.stream.window(int(s), self.T + 1) for s in starts])  # (B, T+1)
        xy = torch.from_numpy(xy)
        return xy[:, :-1].contiguous(), xy[:, 1:].contiguous()

    def _window_start(self, k):
        epoch, k = divmod(k, self.n_windows)
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, 1 << 20, epoch]).permutation(self.n_windows)
            self._perm_epoch = epoch
        return int(self._perm[k]) * self.T

    def next(self):
        x, y = self.batch(self.index + self.rank)
        self.index += self.world_size
        return x, y

    def resize(self, batch_size):
        """Continue with `batch_size` sequences a micro-batch (the time budget's smaller batch). In
        sequential mode the cursor is rescaled so that no window is skipped or seen twice."""
        if self.mode == "sequential":
            self.index = -(-self.index * self.B // batch_size)
        self.B = batch_size

    def epoch(self):
        return self.index * self.B / self.n_windows if self.mode == "sequential" else self.index * self.B * self.T / len(self.stream)

    def state_dict(self):
        return {"index": self.index, "mode": self.mode, "seed": self.seed, "batch_size": self.B, "block_size": self.T}

    def load_state_dict(self, state):
        for key, mine in (("mode", self.mode), ("seed", self.seed), ("batch_size", self.B), ("block_size", self.T)):
            if state[key] != mine:
                raise ConfigError(f"data cursor was saved with {key}={state[key]!r}, this run has {mine!r}")
        self.index = int(state["index"])


def eval_windows(stream, block_size, max_windows=0):
    """Start offsets of non-overlapping windows covering every predicted token of a split once,
    or `max_windows` of them spread evenly over the split."""
    starts = np.arange(0, len(stream) - 1, block_size)
    if max_windows and max_windows < len(starts):
        starts = starts[np.linspace(0, len(starts) - 1, max_windows).round().astype(np.int64)]
    return starts


def eval_batches(stream, block_size, batch_size, starts):
    """(x, y) batches over the windows at `starts`; the split's last, shorter window comes alone."""
    full = [s for s in starts if s + block_size + 1 <= len(stream)]
    for i in range(0, len(full), batch_size):
        xy = torch.from_numpy(np.stack([stream.window(int(s), block_size + 1) for s in full[i : i + batch_size]]))
        yield xy[:, :-1], xy[:, 1:]
    for s in starts:
        if s + block_size + 1 > len(stream):
            xy = torch.from_numpy(stream.window(int(s), len(stream) - int(s)))[None]  # (1, <T+1)
            yield xy[:, :-1], xy[:, 1:]
