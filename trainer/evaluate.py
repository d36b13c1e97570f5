"""Evaluation: loss, perplexity and bits per byte on a shard split or on a raw text file.

Bits per byte = loss_nats_per_token / ln(2) / bytes_per_token, comparable across tokenizers.
"""

import contextlib
import gzip
import math

import numpy as np
import torch
import torch.distributed as dist
from tokenizers import Tokenizer

from .autotune import resolve_device
from .checkpoint import check_same_tokenizer, load_manifest, load_model, resolve_checkpoint, tokenizer_file
from .data import Shards, eval_batches, eval_windows
from .errors import InputError


@torch.no_grad()
def mean_loss(model, stream, block_size, batch_size, device, autocast=None, max_windows=0, rank=0, world_size=1,
              progress=None):
    """(mean nats per predicted token, number of predicted tokens) over windows of a TokenStream.
    Under DDP each rank takes every world_size-th window and the sums are all-reduced.
    `progress(done, n_batches)`, if given, is called before the first batch and after each one."""
    was_training = model.training
    model.eval()
    starts = eval_windows(stream, block_size, max_windows)[rank::world_size]
    # as eval_batches yields them: the full windows in batches, the split's short last window alone
    n_full = int((starts + block_size + 1 <= len(stream)).sum())
    n_batches = -(-n_full // batch_size) + len(starts) - n_full
    total = torch.zeros(2, dtype=torch.float64, device=device)  # (sum of nats, tokens)
    if progress:
        progress(0, n_batches)
    for done, (x, y) in enumerate(eval_batches(stream, block_size, batch_size, starts), 1):
        x, y = x.to(device), y.to(device)
        with autocast or contextlib.nullcontext():
            _, loss = model(x, y)
        total += torch.stack([loss.double() * y.numel(), torch.tensor(y.numel(), dtype=torch.float64, device=device)])
        if progress:
            progress(done, n_batches)
    if world_size > 1:
        dist.all_reduce(total)
    model.train(was_training)
    return (total[0] / total[1]).item(), int(total[1].item())


def summarize(loss, bytes_per_token):
    return {"loss": loss, "perplexity": math.exp(loss), "bits_per_byte": loss / math.log(2) / bytes_per_token}


def eval_checkpoint(checkpoint, text=None, split="validation", data=None, batch_size=16, device="cpu", progress=None):
    """{loss, perplexity, bits_per_byte, tokens[, bytes]} of a checkpoint.

    Without `text`: on `split` of the shard set the checkpoint was trained on (or `data`), bits per
    byte from the manifest. With `text`: on that UTF-8 file tokenized with the checkpoint's
    tokenizer, preceded by an end-of-text token so every token is predicted; bits per byte from
    the file's actual byte count. `progress` is passed to mean_loss.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    device = resolve_device(device)
    path = resolve_checkpoint(checkpoint)
    model, cfg = load_model(path, device)
    block_size = cfg.model.block_size
    if text is None:
        shards = Shards(data or cfg.data)
        check_same_tokenizer(path, shards)  # another tokenizer's ids would score as nonsense, silently
        loss, n = mean_loss(model, shards.tokens(split), block_size, batch_size, device, progress=progress)
        return {**summarize(loss, shards.bytes_per_token(split)), "tokens": n}
    tokenizer = Tokenizer.from_file(tokenizer_file(path))
    eot_id = load_manifest(path)["tokenizer"]["eot_id"]
    return eval_text(model, tokenizer, eot_id, text, block_size, batch_size, device, progress=progress)


def eval_text(model, tokenizer, eot_id, text, block_size, batch_size=16, device="cpu", autocast=None, progress=None):
    """{loss, perplexity, bits_per_byte, tokens, bytes} of `model` on UTF-8 text file `text` (.gz
    allowed), preceded by an end-of-text token so that every token is predicted."""
    raw = read_text(text)
    ids = [eot_id] + tokenizer.encode(raw.decode("utf-8")).ids
    stream = _ListStream(ids)
    loss, n = mean_loss(model, stream, block_size, batch_size, device, autocast, progress=progress)
    bits = loss * n / math.log(2)
    return {"loss": loss, "perplexity": math.exp(loss), "bits_per_byte": bits / max(len(raw), 1),
            "tokens": n, "bytes": len(raw)}


def read_text(path):
    """The bytes of UTF-8 text file `path` (gzip-decompressed if it ends in .gz), or InputError
    naming it (empty, or not UTF-8)."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(f"{path}: not a gzip file ({e})") from None
    if not raw:  # no token to predict: the loss would be 0 / 0
        raise InputError(f"{path}: the file is empty; there is nothing to evaluate")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    return raw


class _ListStream:
    """The TokenStream interface over an in-memory token list."""

    def __init__(self, ids):
        self._ids = np.asarray(ids, dtype=np.int64)

    def __len__(self):
        return len(self._ids)

    def window(self, start, length):
        return self._ids[start : start + length]
