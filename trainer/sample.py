"""Text generation: temperature, top-k and top-p (nucleus) sampling from a prompt."""

import torch
from tokenizers import Tokenizer

from .autotune import resolve_device
from .checkpoint import load_manifest, load_model, resolve_checkpoint, tokenizer_file
from .errors import InputError


@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=0, top_p=1.0, eot_id=None, generator=None,
             use_cache=True):
    """Extend idx (B, T) by up to `max_new_tokens` tokens; temperature 0 is greedy decoding.
    Stops early once every row has produced `eot_id`.

    With `use_cache` (a GPT), the prompt is fed once and then each new token alone, attending to the
    kept keys and values of the earlier ones, while the sequence fits in block_size. Past it, the
    window slides and every hidden state changes with its first token, so each step is computed
    over the last block_size tokens, as without the cache: the tokens are the same either way."""
    block_size = model.cfg.block_size
    cache = model.new_cache() if use_cache and hasattr(model, "new_cache") else None
    done = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    for _ in range(max_new_tokens):
        if cache is not None and idx.size(1) <= block_size:
            logits, _ = model(idx[:, cache.length:], cache=cache)  # (B, 1, V) after the prompt's (B, T, V)
        else:
            logits, _ = model(idx[:, -block_size:])  # (B, T, V)
        logits = logits[:, -1, :].float()  # (B, V): the next-token distribution
        if temperature <= 0:
            nxt = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        else:
            logits = logits / temperature
            if top_k > 0:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth, float("-inf"))
            if top_p < 1.0:
                sorted_logits, order = torch.sort(logits, descending=True)
                cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
                drop = cum - sorted_logits.softmax(dim=-1) >= top_p  # keep the smallest prefix reaching top_p
                logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
            nxt = torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)  # (B, 1)
        if eot_id is not None:
            nxt = torch.where(done[:, None], torch.full_like(nxt, eot_id), nxt)
            done |= nxt[:, 0] == eot_id
        idx = torch.cat([idx, nxt], dim=1)
        if eot_id is not None and bool(done.all()):
            break
    return idx


def complete(model, tokenizer, prompt, eot_id, max_new_tokens=100, temperature=0.8, top_k=50, top_p=0.95,
             num_samples=1, seed=0):
    """`num_samples` continuations of `prompt` (prompt included), decoded up to the first end-of-text."""
    for name, value, ok, rule in (("temperature", temperature, temperature >= 0, ">= 0 (0 is greedy)"),
                                  ("top_k", top_k, top_k >= 0, ">= 0 (0 disables it)"),
                                  ("top_p", top_p, 0 < top_p <= 1, "in (0, 1] (1 disables it)"),
                                  ("max_new_tokens", max_new_tokens, max_new_tokens >= 0, ">= 0"),
                                  ("num_samples", num_samples, num_samples >= 1, ">= 1")):
        if not ok:
            raise InputError(f"{name} must be {rule}, got {value}")
    device = next(model.parameters()).device
    ids = tokenizer.encode(prompt).ids if prompt else []
    ids = ids or [eot_id]  # an empty prompt starts a fresh document
    idx = torch.tensor([ids] * num_samples, dtype=torch.long, device=device)
    generator = torch.Generator(device=device).manual_seed(seed)
    out = generate(model, idx, max_new_tokens, temperature, top_k, top_p, eot_id, generator)
    texts = []
    for row in out.tolist():
        new = row[len(ids) :]
        if eot_id in new:
            new = new[: new.index(eot_id)]
        prefix = [] if ids == [eot_id] else ids
        texts.append(tokenizer.decode(prefix + new))
    return texts


def sample_checkpoint(checkpoint, prompt, device="cpu", **kwargs):
    """Load a checkpoint and its tokenizer and return sampled continuations of `prompt`."""
    path = resolve_checkpoint(checkpoint)
    model, _ = load_model(path, resolve_device(device))
    tokenizer = Tokenizer.from_file(tokenizer_file(path))
    eot_id = load_manifest(path)["tokenizer"]["eot_id"]
    return complete(model, tokenizer, prompt, eot_id, **kwargs)
