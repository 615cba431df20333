"""Test helpers for re-ranking mined pairs: a small corpus without duplicate texts, and a tiny random cross-encoder
whose scores are far enough apart to give one order.

Import them as ``from reranking import TEXTS, spread_cross_encoder`` (``tests/`` is on the path).
"""

from __future__ import annotations

from typing import Any

import torch
from cross_encoders import make_tiny_cross_encoder
from helpers import SENTENCES

#: Twelve different texts (no two the same: equal pairs would tie).
TEXTS = [
    *SENTENCES,
    "A man plays guitar.",
    "The dog sleeps on the sofa.",
    "How can I learn Python fast?",
    "Markets dropped steeply on Monday.",
    "The cat is sitting on a mat.",
]


def spread_cross_encoder(tokenizer: Any, seed: int = 0):  # noqa: ANN201
    """A tiny random cross-encoder (one label) whose scores differ by more than 1e-4 between any two pairs of
    :data:`TEXTS`: a freshly initialised one gives every pair about the same score, 1e-7 apart, so that the order of
    the pairs would be rounding noise. Its weights (but the layer norms') are drawn again with a standard deviation
    of 0.3."""
    model = make_tiny_cross_encoder(tokenizer, seed=3)
    with torch.no_grad():
        torch.manual_seed(seed)
        for name, weights in model.model.named_parameters():
            if "LayerNorm" not in name:
                weights.normal_(0.0, 0.3)
    return model
