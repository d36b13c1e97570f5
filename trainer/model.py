"""Language models: a decoder-only GPT and an LSTM baseline behind one interface.

Reads top-down: norms -> RoPE -> fused head loss -> CausalSelfAttention -> MLP -> Block ->
ModelConfig -> GPT, then LSTMLM and build_model. Shapes: B batch, T time, C n_embd, nh heads,
hs head size, V vocabulary. Both models share one interface: `model(idx)` with idx (B, T)
returns `(logits (B, T, V), None)`; `model(idx, targets)` returns `(None, mean cross-entropy)`
without forming the logits. `generate` lives in sample.py and works for either.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_norm(kind, dim, bias, eps):
    if kind == "layernorm":
        return nn.LayerNorm(dim, eps=eps, bias=bias)
    if kind == "rmsnorm":
        return nn.RMSNorm(dim, eps=eps)  # Llama's norm: weight only, statistics in fp32
    raise ValueError(f"unknown norm {kind!r}; expected 'layernorm' or 'rmsnorm'")


def rope_tables(head_size, max_len, theta):
    """cos/sin tables (max_len, hs) in the 'rotate half' layout Llama uses, so export needs no permutation."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size))  # (hs/2,)
    freqs = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)  # (T, hs/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, hs)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    # x: (B, nh, T, hs); cos, sin: (T, hs)
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat([-x2, x1], dim=-1)
    return (x * cos + rotated * sin).to(x.dtype)


class LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of `x @ weight.T` against `targets`, computed a chunk of rows at a time.

    The (B*T, V) logits are never held whole: each chunk's gradient (softmax - one_hot) is
    formed while its logits are in cache and multiplied out at once, so backward only rescales.
    On a CPU this is ~1.5x faster than F.cross_entropy on full logits and saves their memory.
    """

    @staticmethod
    def forward(ctx, x, weight, targets, chunk_rows):
        # x: (N, C), weight: (V, C), targets: (N,)
        device = x.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
        acc = torch.promote_types(dtype, torch.float32)  # softmax and sums in at least fp32
        need_grad = x.requires_grad or weight.requires_grad
        with torch.autocast(device, enabled=False):
            w = weight.to(dtype)
            loss = torch.zeros((), dtype=acc, device=x.device)
            grad_x = torch.empty_like(x) if need_grad else None
            grad_w = torch.zeros(weight.shape, dtype=acc, device=x.device) if need_grad else None
            for s in range(0, x.shape[0], chunk_rows):
                xs, ys = x[s : s + chunk_rows].to(dtype), targets[s : s + chunk_rows]
                logits = (xs @ w.t()).to(acc)  # (n, V)
                target_logit = logits.gather(1, ys[:, None])  # (n, 1)
                peak = logits.amax(dim=-1, keepdim=True)  # (n, 1), for a stable softmax
                exp = logits.sub_(peak).exp_()  # in place: one (n, V) buffer per chunk
                total = exp.sum(dim=-1, keepdim=True)  # (n, 1)
                loss += (peak + total.log() - target_logit).sum()  # logsumexp - target logit
                if need_grad:
                    probs = exp.div_(total)  # softmax
                    probs[torch.arange(len(ys), device=x.device), ys] -= 1.0  # d(loss_i)/d(logits_i)
                    probs = probs.to(dtype)
                    grad_x[s : s + chunk_rows] = probs @ w  # (n, C)
                    if dtype == acc:
                        grad_w.addmm_(probs.t(), xs)  # (V, C), accumulated without a temporary
                    else:
                        grad_w += (probs.t() @ xs).to(acc)
        n = x.shape[0]
        if need_grad:
            ctx.save_for_backward(grad_x, grad_w.to(weight.dtype))
        ctx.n = n
        return loss / n

    @staticmethod
    def backward(ctx, grad_loss):
        grad_x, grad_w = ctx.saved_tensors
        scale = grad_loss / ctx.n
        return grad_x * scale, grad_w * scale, None, None


def linear_cross_entropy(x, weight, targets, chunk_rows=0):
    """Cross-entropy of the output head without materialising the logits; x: (..., C), targets: (...).
    Chunks default to 512 rows on CPU (logits stay in cache) and 4096 on GPU (matmuls stay large)."""
    chunk_rows = chunk_rows or (4096 if x.is_cuda else 512)
    return LinearCrossEntropy.apply(x.reshape(-1, x.size(-1)), weight, targets.reshape(-1), chunk_rows)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0, "n_embd must be divisible by n_head"
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x, rope=None):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 x (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble heads: (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.kind = cfg.mlp
        hidden = cfg.hidden_size()
        if cfg.mlp == "gelu":
            self.c_fc = nn.Linear(cfg.n_embd, hidden, bias=cfg.bias)
        elif cfg.mlp == "swiglu":
            self.c_fc = nn.Linear(cfg.n_embd, 2 * hidden, bias=cfg.bias)  # gate and up in one matmul
        else:
            raise ValueError(f"unknown mlp {cfg.mlp!r}; expected 'gelu' or 'swiglu'")
        self.c_proj = nn.Linear(hidden, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        h = self.c_fc(x)  # (B, T, hidden) or (B, T, 2*hidden)
        if self.kind == "gelu":
            h = F.gelu(h)  # exact erf GELU; exported as activation_function="gelu"
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

    def forward(self, x, rope=None):
        x = x + self.attn(self.ln_1(x), rope)
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class ModelConfig:
    arch: str = "gpt"  # "gpt" (transformer) or "lstm" (recurrent baseline)
    vocab_size: int = 0  # 0: taken from the shard manifest
    block_size: int = 128  # context length in tokens
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    mlp_hidden: int = 0  # 0: 4*n_embd for gelu, ~8/3*n_embd (multiple of 32) for swiglu
    dropout: float = 0.0
    bias: bool = False  # biases in Linear and LayerNorm layers
    pos: str = "rope"  # "rope" or "learned" absolute positions
    norm: str = "rmsnorm"  # "rmsnorm" or "layernorm"
    mlp: str = "swiglu"  # "swiglu" or "gelu"
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_weights: bool = True  # share the token embedding with the output head

    def __post_init__(self):
        if self.pos not in ("rope", "learned"):
            raise ValueError(f"unknown pos {self.pos!r}; expected 'rope' or 'learned'")
        if self.arch not in ("gpt", "lstm"):
            raise ValueError(f"unknown arch {self.arch!r}; expected 'gpt' or 'lstm'")

    def hidden_size(self):
        """MLP width: mlp_hidden, or the usual default (4C for GELU, 8C/3 rounded up to 32 for SwiGLU)."""
        if self.mlp_hidden:
            return self.mlp_hidden
        return 4 * self.n_embd if self.mlp == "gelu" else 32 * math.ceil(8 * self.n_embd / 3 / 32)


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
        self.apply(_init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def forward(self, idx, targets=None):
        B, T = idx.size()
        assert T <= self.cfg.block_size, f"sequence of {T} tokens exceeds block_size {self.cfg.block_size}"
        x = self.wte(idx)  # (B, T, C)
        rope = None
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T, device=idx.device))  # (T, C) broadcast over B
        else:
            rope = (self.rope_cos[:T], self.rope_sin[:T])
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, rope)
        x = self.ln_f(x)  # (B, T, C)
        if targets is not None:  # training / evaluation: the loss only, logits are never formed
            return None, linear_cross_entropy(x, self.lm_head.weight, targets)
        return self.lm_head(x), None  # (B, T, V)

    def flops_per_token(self):
        """Training FLOPs per token: 6 per matmul weight (forward + backward) plus attention scores."""
        cfg = self.cfg
        n = sum(p.numel() for p in self.parameters()) - (self.wpe.weight.numel() if self.wpe is not None else 0)
        if not cfg.tie_weights:
            n -= self.wte.weight.numel()  # an untied input embedding is a lookup, not a matmul
        return 6 * n + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size


class LSTMLM(nn.Module):
    """Baseline: embedding -> multi-layer LSTM -> (tied) output head; same interface as GPT."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(cfg.n_embd, cfg.n_embd, cfg.n_layer, batch_first=True,
                            dropout=cfg.dropout if cfg.n_layer > 1 else 0.0)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight
        nn.init.normal_(self.wte.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.size()
        x = self.drop(self.wte(idx))  # (B, T, C)
        x, _ = self.lstm(x)  # (B, T, C); each window starts from a zero state
        x = self.drop(x)
        if targets is not None:
            return None, linear_cross_entropy(x, self.lm_head.weight, targets)
        return self.lm_head(x), None  # (B, T, V)

    def flops_per_token(self):
        cfg = self.cfg
        lstm = sum(p.numel() for p in self.lstm.parameters())
        return 6 * (lstm + cfg.vocab_size * cfg.n_embd)


def _init_weights(module):
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def build_model(cfg):
    """The model named by `cfg.arch`, freshly initialised from the current torch RNG."""
    if cfg.vocab_size <= 0:
        raise ValueError("model.vocab_size is not set (it normally comes from the shard manifest)")
    return GPT(cfg) if cfg.arch == "gpt" else LSTMLM(cfg)
