"""The recurrent baseline: embedding -> multi-layer LSTM -> (tied) output head.

Same interface as model.GPT (`model(idx)` -> (logits, None), `model(idx, targets)` -> (None, loss))
and the same ModelConfig, of which it reads vocab_size, n_embd, n_layer, dropout and tie_weights.
"""

import torch.nn as nn

from .loss import linear_cross_entropy


class LSTMLM(nn.Module):
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
