"""The output head fused with its cross-entropy, so that training never forms the (B*T, V) logits."""

import torch


class LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of `x @ weight.T` against `targets`, computed a chunk of rows at a time.

    The (B*T, V) logits are never held whole: each chunk's gradient (softmax - one_hot) is
    formed while its logits are in cache and multiplied out at once, so backward only rescales.
    Without grad (evaluation) the loss is an exact fp32 logsumexp; with grad it is -log of the
    softmax probability the gradient uses (one pass less; bf16 rounds it by at most ~0.002 nats).
    On a CPU this is ~1.5x faster than F.cross_entropy on full logits and saves their memory.
    softcap > 0 caps the logits at cap * tanh(logits / cap) first (Gemma 2, modded-nanogpt).
    """

    @staticmethod
    def forward(ctx, x, weight, targets, chunk_rows, softcap=0.0):
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
                rows = torch.arange(len(ys), device=x.device)
                if need_grad and not softcap:
                    # training: one fused pass (the softmax kernel accumulates in fp32, writes `dtype`);
                    # -log p(target) from the rounded probability is within 2^-9 relative, ~0.002 nats
                    probs = torch.softmax(xs @ w.t(), dim=-1)  # (n, V)
                    loss -= probs[rows, ys].to(acc).clamp_min(torch.finfo(acc).tiny).log().sum()
                    probs[rows, ys] -= 1.0  # d(loss_i)/d(logits_i) = softmax - one_hot
                else:
                    # evaluation (exact logsumexp in fp32) and the soft-capped logits
                    logits = (xs @ w.t()).to(acc)  # (n, V)
                    if softcap:
                        tanh = logits.div_(softcap).tanh_()  # (n, V), in place
                        logits = tanh * softcap
                    target_logit = logits.gather(1, ys[:, None])  # (n, 1)
                    peak = logits.amax(dim=-1, keepdim=True)  # (n, 1), for a stable softmax
                    exp = logits.sub_(peak).exp_()  # in place: one (n, V) buffer per chunk
                    total = exp.sum(dim=-1, keepdim=True)  # (n, 1)
                    loss += (peak + total.log() - target_logit).sum()  # logsumexp - target logit
                    if not need_grad:
                        continue
                    probs = exp.div_(total)  # softmax
                    probs[rows, ys] -= 1.0
                    probs.mul_(tanh.square_().neg_().add_(1.0))  # (softcap is on here) through cap * tanh(z / cap): d/dz = 1 - tanh^2
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
        return grad_x * scale, grad_w * scale, None, None, None


def linear_cross_entropy(x, weight, targets, chunk_rows=0, softcap=0.0):
    """Cross-entropy of the output head without materialising the logits; x: (..., C), targets: (...).
    Chunks default to 512 rows on CPU (logits stay in cache) and 4096 on GPU (matmuls stay large)."""
    chunk_rows = chunk_rows or (4096 if x.is_cuda else 512)
    return LinearCrossEntropy.apply(x.reshape(-1, x.size(-1)), weight, targets.reshape(-1), chunk_rows, softcap)
