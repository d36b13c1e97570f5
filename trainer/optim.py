"""Optimizers: AdamW, or Muon for the hidden weight matrices with AdamW for everything else.

Muon (Keller Jordan, as in modded-nanogpt and nanochat) takes SGD-momentum's update of a 2-D weight
and replaces it by the nearest semi-orthogonal matrix (five Newton-Schulz iterations), so every
direction of the matrix moves at the same rate. Embeddings, the output head, norms and biases are
not hidden matrices and stay with AdamW. Both rules live in one optimizer so that the run has one
state_dict (resumed bit for bit) and one LR schedule scales every group.
"""

import math

import torch


def orthogonalize(g, steps=5):
    """U V^T of each g[i] = U S V^T, approximately (singular values pushed into ~[0.7, 1.2]), by a
    quintic Newton-Schulz iteration in bf16; g: (k, rows, cols), k matrices of one shape at once."""
    a, b, c = 3.4445, -4.7750, 2.0315  # modded-nanogpt's coefficients: fastest convergence near 0
    x = g.bfloat16()
    tall = x.size(-2) > x.size(-1)
    if tall:
        x = x.mT  # (k, small, large): the Gram matrices below are the small ones
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + 1e-7)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        gram = x @ x.mT  # (k, small, small)
        x = torch.baddbmm(x, torch.baddbmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)  # a x + (b G + c G^2) x
    return (x.mT if tall else x).to(g.dtype)


class MuonAdamW(torch.optim.Optimizer):
    """Param groups with `muon=True` follow Muon (Nesterov momentum, orthogonalized, decoupled weight
    decay); the others follow AdamW. `lr` of each group is what the LR schedule scales."""

    def __init__(self, groups, betas=(0.9, 0.95), eps=1e-8, momentum=0.95):
        super().__init__(groups, dict(betas=betas, eps=eps, momentum=momentum, weight_decay=0.0, muon=False))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if group["muon"]:
                self._muon(params, group)
            else:
                for p in params:
                    self._adamw(p, p.grad, self.state[p], group)

    def _muon(self, params, group):
        """Matrices of one shape are orthogonalized together (batched matmuls: one call per shape)."""
        by_shape = {}
        for p in params:
            by_shape.setdefault(tuple(p.shape), []).append(p)
        m = group["momentum"]
        for same in by_shape.values():
            looks = []
            for p in same:
                state = self.state[p]
                if not state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                state["momentum_buffer"].lerp_(p.grad, 1 - m)
                looks.append(p.grad.lerp(state["momentum_buffer"], m))  # Nesterov: look ahead along the momentum
            updates = orthogonalize(torch.stack(looks))  # (k, rows, cols)
            for p, update in zip(same, updates):
                p.mul_(1 - group["lr"] * group["weight_decay"])
                # an orthogonal update has unit singular values; sqrt(rows/cols) keeps tall matrices' RMS step alike
                p.add_(update, alpha=-group["lr"] * max(1.0, p.size(0) / p.size(1)) ** 0.5)

    @staticmethod
    def _adamw(p, grad, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
        state["step"] += 1
        (beta1, beta2), t = group["betas"], state["step"]
        p.mul_(1 - group["lr"] * group["weight_decay"])
        state["exp_avg"].lerp_(grad, 1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
        p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1**t))


def param_groups(model):
    """(hidden matrices, untied output head, input embeddings, other): the head and embeddings are
    matrices but not hidden ones; a tied weight is listed once, as the embedding."""
    embedding_ids = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    head = getattr(model, "lm_head", None)
    head = [] if head is None or id(head.weight) in embedding_ids else [head.weight]
    hidden, embeddings, other = [], [], []
    for p in model.parameters():  # parameters() yields a tied weight once
        if not p.requires_grad or any(p is h for h in head):
            continue
        if id(p) in embedding_ids:
            embeddings.append(p)
        else:
            (hidden if p.dim() >= 2 else other).append(p)
    return hidden, head, embeddings, other


def make_optimizer(model, cfg, device):
    """cfg.optimizer: "adamw" (weight decay on matrices but embeddings; fused when supported) or
    "muon" (Muon at cfg.muon_lr for hidden matrices, AdamW at cfg.lr for the rest, undecayed).
    Input embeddings take cfg.embed_lr when it is set (nanochat and modded-nanogpt give them a far
    higher Adam LR than the head: each row is updated only when its token occurs)."""
    hidden, head, embeddings, other = param_groups(model)
    embed_lr = cfg.embed_lr
    if not embed_lr:  # one group with the others, as before embed_lr existed (older checkpoints resume)
        embeddings, other = [], embeddings + other
    if cfg.optimizer == "muon":
        groups = [{"params": hidden, "lr": cfg.muon_lr, "weight_decay": cfg.weight_decay, "muon": True},
                  {"params": head + other, "lr": cfg.lr}, {"params": embeddings, "lr": embed_lr}]
        return MuonAdamW([g for g in groups if g["params"]], betas=(cfg.beta1, cfg.beta2), momentum=cfg.muon_momentum)
    groups = [{"params": hidden + head, "weight_decay": cfg.weight_decay}, {"params": other, "weight_decay": 0.0},
              {"params": embeddings, "weight_decay": 0.0, "lr": embed_lr}]
    kwargs = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    groups = [g for g in groups if g["params"]]
    try:
        return torch.optim.AdamW(groups, fused=True, **kwargs)
    except (RuntimeError, TypeError):  # fused kernels missing for this device/dtype
        return torch.optim.AdamW(groups, **kwargs)
