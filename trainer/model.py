"""The decoder-only GPT, read top-down: CausalSelfAttention -> MLP -> Block -> GPT. Its settings,
ModelConfig, live in config.py (no torch there, so `python -m trainer -h` starts at once).

The recipe options from nanochat / modded-nanogpt are plain config fields: `qk_norm` (RMSNorm of
each head's queries and keys before RoPE, as in Qwen3), `mlp="relu2"` (relu(x)^2, no gate), `tie_weights=False`
(untied input and output embeddings) and `logit_softcap` (cap * tanh(logits / cap)).

Shapes: B batch, T time, C n_embd, nh heads, hs head size, V vocabulary. `model(idx)` with idx
(B, T) returns `(logits (B, T, V), None)`; `model(idx, targets)` returns `(None, mean cross-entropy)`
without forming the logits (loss.py). The LSTM baseline (lstm.py) shares this interface and
ModelConfig; `build_model` picks one by `arch`, and `generate` (sample.py) works for either.
"""

import math
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig  # noqa: F401 (torch-free, in config.py; importable from here as before)
from .loss import linear_cross_entropy
from .lstm import LSTMLM


def make_norm(kind, dim, bias, eps):
    if kind == "layernorm":
        return nn.LayerNorm(dim, eps=eps, bias=bias)
    return RMSNorm(dim, eps=eps)  # Llama's norm: weight only, statistics in fp32


def rope_tables(head_size, max_len, theta):
    """cos/sin tables (max_len, hs) in the 'rotate half' layout Llama uses, so export needs no permutation."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size))  # (hs/2,)
    freqs = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)  # (T, hs/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, hs)
    return emb.cos(), emb.sin()


class _Rope(torch.autograd.Function):
    """x * cos + rotate_half(x) * sin, written a half at a time: two multiply-adds per half forward
    and backward, and only the tables saved. The plain expression made five passes over the
    queries and keys each way (negate, cat, two products, sum); on CPU that elementwise work, not
    the matmuls, bounds a step (trainer/README.md)."""

    @staticmethod
    def forward(ctx, x, cos, sin):
        # x: (B, nh, T, hs); cos, sin: (T, hs), each half of a row equal (rope_tables)
        h = x.shape[-1] // 2
        c, s = cos[:, :h], sin[:, :h]
        x1, x2 = x[..., :h], x[..., h:]
        out = torch.empty(x.shape, dtype=torch.promote_types(x.dtype, cos.dtype), device=x.device)
        torch.mul(x1, c, out=out[..., :h]).addcmul_(x2, s, value=-1)  # x1 cos - x2 sin
        torch.mul(x2, c, out=out[..., h:]).addcmul_(x1, s)  # x2 cos + x1 sin
        ctx.save_for_backward(cos, sin)
        ctx.dtype = x.dtype
        return out

    @staticmethod
    def backward(ctx, g):
        cos, sin = ctx.saved_tensors
        h = g.shape[-1] // 2
        c, s = cos[:, :h], sin[:, :h]
        g1, g2 = g[..., :h], g[..., h:]
        gx = torch.empty_like(g)
        torch.mul(g1, c, out=gx[..., :h]).addcmul_(g2, s)  # the rotation's transpose
        torch.mul(g2, c, out=gx[..., h:]).addcmul_(g1, s, value=-1)
        return gx.to(ctx.dtype), None, None


def apply_rope(x, cos, sin):
    # x: (B, nh, T, hs); cos, sin: (T, hs) in fp32, so the result is fp32 (or wider)
    return _Rope.apply(x, cos, sin)


class _RMSNorm(torch.autograd.Function):
    """x * rsqrt(mean(x^2) + eps) (* weight) over the last dimension, in at least fp32: the norm in
    one reduction and the gradient in a few passes, where F.rms_norm's pieces (pow, mean, rsqrt,
    two products, and as many again backward) bounded the step with RoPE (trainer/README.md)."""

    @staticmethod
    def forward(ctx, x, weight, eps):
        xf = x.to(torch.promote_types(x.dtype, torch.float32))
        r = torch.linalg.vector_norm(xf, dim=-1, keepdim=True).square_().div_(x.shape[-1]).add_(eps).rsqrt_()
        normed = xf * r  # (..., C)
        ctx.save_for_backward(normed, r, weight)
        ctx.dtype = x.dtype
        return normed if weight is None else normed * weight

    @staticmethod
    def backward(ctx, g):
        normed, r, weight = ctx.saved_tensors
        gn = g if weight is None else g * weight  # the gradient at the normalised x
        gx = (gn - normed * (gn * normed).mean(dim=-1, keepdim=True)).mul_(r)
        gw = None if weight is None else (g * normed).flatten(0, -2).sum(0).to(weight.dtype)
        return gx.to(ctx.dtype), gw, None


class RMSNorm(nn.RMSNorm):
    """nn.RMSNorm (the same weight, state dict and export) computed by _RMSNorm."""

    def forward(self, x):
        eps = self.eps if self.eps is not None else torch.finfo(torch.float32).eps
        return _RMSNorm.apply(x, self.weight, eps)


def causal_attention(q, k, v, dropout_p, is_causal=True):
    # q: (B, nh, T, hs); k, v: (B, nh, S, hs), S >= T with a KV cache. On CPU the fp32 flash kernel (forward + backward) measured faster than
    # either bf16 kernel at this project's sizes (bench/bench_train_profile.py), so CPU attends in fp32.
    if q.device.type == "cpu":
        with torch.autocast("cpu", enabled=False):
            y = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), dropout_p=dropout_p, is_causal=is_causal)
        return y
    return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=is_causal)  # autocast picks the dtype


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0, "n_embd must be divisible by n_head"
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.qk_norm, self.eps = cfg.qk_norm, cfg.norm_eps
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, rope=None, kv=None):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 x (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        if self.qk_norm:  # RMSNorm per head, no weight (nanochat): bounds the attention logits
            q, k = _RMSNorm.apply(q, None, self.eps), _RMSNorm.apply(k, None, self.eps)  # fp32 (B, nh, T, hs)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        causal = True
        if kv is not None:  # generation: this layer's keys and values of the earlier tokens, kept
            if kv:
                assert T == 1, "a KV cache is extended one token at a time"
                k, v = torch.cat([kv[0], k], dim=2), torch.cat([kv[1], v], dim=2)  # (B, nh, S, hs)
                causal = False  # the one new token sees every earlier one
            kv[:] = [k, v]
        y = causal_attention(q, k, v, self.dropout if self.training else 0.0, causal)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble heads: (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.kind = cfg.mlp
        hidden = cfg.hidden_size()
        width = 2 * hidden if cfg.mlp == "swiglu" else hidden  # swiglu: gate and up in one matmul
        self.c_fc = nn.Linear(cfg.n_embd, width, bias=cfg.bias)
        self.c_proj = nn.Linear(hidden, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        h = self.c_fc(x)  # (B, T, hidden) or (B, T, 2*hidden)
        if self.kind == "gelu":
            h = F.gelu(h)  # exact erf GELU; exported as activation_function="gelu"
        elif self.kind == "relu2":
            h = F.relu(h).square()  # (B, T, hidden)
        else:
            gate, up = h.chunk(2, dim=-1)
            h = F.silu(gate) * up  # (B, T, hidden)
        return self.dropout(self.c_proj(h))  # (B, T, C)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = make_norm(cfg.norm, cfg.n_embd, cfg.bias, cfg.norm_eps)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = make_norm(cfg.norm, cfg.n_embd, cfg.bias, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, rope=None, kv=None):
        x = x + self.attn(self.ln_1(x), rope, kv)  # (B, T, C)
        x = x + self.mlp(self.ln_2(x))  # (B, T, C)
        return x


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.pos == "learned" else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = make_norm(cfg.norm, cfg.n_embd, cfg.bias, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight
        if cfg.pos == "rope":
            cos, sin = rope_tables(cfg.n_embd // cfg.n_head, cfg.block_size, cfg.rope_theta)
            self.register_buffer("rope_cos", cos, persistent=False)  # (block_size, hs)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def new_cache(self):
        """An empty KV cache for `forward(idx, cache=...)`: the prompt first, then one token at a time."""
        return KVCache(self.cfg.n_layer)

    def forward(self, idx, targets=None, cache=None):
        B, T = idx.size()
        pos = cache.length if cache is not None else 0  # position of idx's first token
        assert pos + T <= self.cfg.block_size, f"sequence of {pos + T} tokens exceeds block_size {self.cfg.block_size}"
        x = self.wte(idx)  # (B, T, C)
        rope = None
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(pos, pos + T, device=idx.device))  # (T, C) broadcast over B
        else:
            rope = (self.rope_cos[pos:pos + T], self.rope_sin[pos:pos + T])  # 2 x (T, hs)
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, rope, cache.layers[i] if cache is not None else None)  # (B, T, C)
        if cache is not None:
            cache.length += T
        x = self.ln_f(x)  # (B, T, C)
        cap = self.cfg.logit_softcap
        if targets is not None:  # training / evaluation: the loss only, logits are never formed
            return None, linear_cross_entropy(x, self.lm_head.weight, targets, softcap=cap)
        logits = self.lm_head(x)  # (B, T, V)
        return (cap * torch.tanh(logits / cap) if cap else logits), None

    def flops_per_token(self):
        """Training FLOPs per token: 6 per matmul weight (forward + backward) plus attention scores."""
        cfg = self.cfg
        n = sum(p.numel() for p in self.parameters()) - (self.wpe.weight.numel() if self.wpe is not None else 0)
        if not cfg.tie_weights:
            n -= self.wte.weight.numel()  # an untied input embedding is a lookup, not a matmul
        return 6 * n + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size


class KVCache:
    """Per layer, the keys and values (B, nh, S, hs) of the S tokens fed so far (generation)."""

    def __init__(self, n_layer):
        self.layers = [[] for _ in range(n_layer)]
        self.length = 0


def build_model(cfg):
    """The model named by `cfg.arch`, freshly initialised from the current torch RNG."""
    if cfg.vocab_size <= 0:
        raise ValueError("model.vocab_size is not set (it normally comes from the shard manifest)")
    return GPT(cfg) if cfg.arch == "gpt" else LSTMLM(cfg)
