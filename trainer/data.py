"""Shard reading and batching. The shard directory (docs/SHARDS.md) is the only contract with the
data pipeline: this module reads `manifest.json` and the Arrow IPC stream files, nothing else.

Every split is served as one flat token sequence (documents already end with the end-of-text
token) straight from memory-mapped Arrow buffers. Batches are a pure function of
(seed, micro-batch index), so the data cursor is one integer and any process can compute any
batch: resuming, or splitting a step's micro-batches across DDP ranks, changes nothing.
"""

import json
import os

import numpy as np
import pyarrow as pa
import torch

FORMAT, FORMAT_VERSION = "corpuskit-shards", 1


class TokenStream:
    """The concatenated `input_ids` of some Arrow shard files, without copying them into memory."""

    def __init__(self, paths):
        self._maps, self._chunks = [], []
        for path in paths:
            source = pa.memory_map(path)  # kept open: the arrays below point into it
            self._maps.append(source)
            for batch in pa.ipc.open_stream(source):
                ids = batch.column("input_ids").flatten()  # zero-copy view of the list values
                if len(ids):
                    self._chunks.append(ids.to_numpy(zero_copy_only=True))
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


class Shards:
    """A shard directory: its manifest, tokenizer file, and a TokenStream per split."""

    def __init__(self, path):
        self.path = path
        manifest_path = os.path.join(path, "manifest.json")
        if not os.path.isfile(manifest_path):
            raise FileNotFoundError(f"{path}: no manifest.json; expected a shard directory (docs/SHARDS.md)")
        with open(manifest_path, encoding="utf-8") as f:
            self.manifest = json.load(f)
        fmt, version = self.manifest.get("format"), self.manifest.get("format_version")
        if fmt != FORMAT or version != FORMAT_VERSION:
            raise ValueError(f"{manifest_path}: format {fmt!r} v{version}; this trainer reads {FORMAT!r} v{FORMAT_VERSION}")
        tok = self.manifest["tokenizer"]
        self.tokenizer_path = os.path.join(path, tok["file"])
        self.vocab_size = int(tok["vocab_size"])
        self.eot_id = tok["eot_id"]
        self.splits = self.manifest["splits"]

    def bytes_per_token(self, split):
        return float(self.splits[split]["bytes_per_token"])

    def tokens(self, split):
        if split not in self.splits:
            raise KeyError(f"{self.path}: no {split!r} split; manifest has {sorted(self.splits)}")
        info = self.splits[split]
        paths = [os.path.join(self.path, s["file"]) for s in info["shards"]]
        for p in paths:
            if not os.path.isfile(p):
                raise FileNotFoundError(f"{p}: listed in the manifest but missing")
        stream = TokenStream(paths)
        if len(stream) != int(info["n_tokens"]):
            raise ValueError(f"{self.path}/{split}: manifest says {info['n_tokens']} tokens, shards hold {len(stream)}")
        if stream.max_token() >= self.vocab_size:
            raise ValueError(f"{self.path}/{split}: token id {stream.max_token()} >= vocab_size {self.vocab_size}")
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
            raise ValueError(f"split has {len(stream)} tokens, fewer than block_size + 1 = {block_size + 1}")
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

    def epoch(self):
        return self.index * self.B / self.n_windows if self.mode == "sequential" else self.index * self.B * self.T / len(self.stream)

    def state_dict(self):
        return {"index": self.index, "mode": self.mode, "seed": self.seed, "batch_size": self.B, "block_size": self.T}

    def load_state_dict(self, state):
        for key, mine in (("mode", self.mode), ("seed", self.seed), ("batch_size", self.B), ("block_size", self.T)):
            if state[key] != mine:
                raise ValueError(f"data cursor was saved with {key}={state[key]!r}, this run has {mine!r}")
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
