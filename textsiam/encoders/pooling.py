"""Mask-aware pooling of token embeddings into one sentence embedding."""

from __future__ import annotations

import torch
from torch import nn

POOLING_MODES: tuple[str, ...] = ("mean", "cls", "max", "weighted_mean")

# Names other libraries use for the same modes (sentence-transformers' Pooling config, for instance).
_ALIASES = {
    "mean_tokens": "mean",
    "cls_token": "cls",
    "max_tokens": "max",
    "weightedmean": "weighted_mean",
    "weighted-mean": "weighted_mean",
}


def check_pooling_mode(mode: str) -> str:
    """Normalise a pooling mode name, or raise ``ValueError`` naming the valid modes."""
    if not isinstance(mode, str):
        raise TypeError(f"pooling mode must be a string, got {type(mode).__name__}")
    mode = _ALIASES.get(mode, mode)
    if mode not in POOLING_MODES:
        raise ValueError(f"unknown pooling mode {mode!r}; choose one of {list(POOLING_MODES)}")
    return mode


class Pooling(nn.Module):
    """Pool token embeddings ``(B, T, H)`` into sentence embeddings ``(B, H)``, ignoring padding.

    Args:
        mode: ``"mean"`` (average of real tokens), ``"cls"`` (first token), ``"max"`` (element-wise max
            over real tokens) or ``"weighted_mean"`` (position-weighted mean, weight ``t`` for token ``t``,
            as in SGPT / sentence-transformers' ``weightedmean``).
    """

    def __init__(self, mode: str = "mean") -> None:
        super().__init__()
        self.mode = check_pooling_mode(mode)

    def forward(self, token_embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # token_embeddings: (B, T, H); attention_mask: (B, T) with 1 for real tokens
        if self.mode == "cls":
            return token_embeddings[:, 0]  # (B, H)
        mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)  # (B, T, 1)
        if self.mode == "max":
            masked = token_embeddings.masked_fill(mask == 0, torch.finfo(token_embeddings.dtype).min)
            return masked.max(dim=1).values  # (B, H)
        if self.mode == "weighted_mean":
            positions = torch.arange(1, token_embeddings.shape[1] + 1, device=mask.device, dtype=mask.dtype)
            mask = mask * positions.view(1, -1, 1)  # (B, T, 1)
        summed = (token_embeddings * mask).sum(dim=1)  # (B, H)
        counts = mask.sum(dim=1).clamp(min=1e-9)  # (B, 1)
        return summed / counts

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
