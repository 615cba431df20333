"""Shared fixtures for the loss tests: a tiny randomly initialised BERT encoder with mean pooling."""

from __future__ import annotations

from typing import Callable

import pytest
import torch
from transformers import BertConfig, BertModel

VOCAB = 100
SEQ_LEN = 6


@pytest.fixture(scope="session")
def tiny_bert() -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    return BertModel(config, add_pooling_layer=False)


@pytest.fixture()
def encode(tiny_bert: BertModel) -> Callable[[int, int], torch.Tensor]:
    """``encode(batch_size, seed) -> (B, 16)`` mean-pooled embeddings of random token ids (with padding)."""
    tiny_bert.zero_grad(set_to_none=True)
    tiny_bert.eval()

    def _encode(batch_size: int, seed: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        ids = torch.randint(1, VOCAB, (batch_size, SEQ_LEN), generator=g)  # (B, L)
        mask = torch.ones_like(ids)  # (B, L)
        mask[::2, -2:] = 0  # pad the tail of every other sentence
        ids = ids.masked_fill(mask == 0, 0)
        hidden = tiny_bert(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, L, H)
        m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
        return (hidden * m).sum(1) / m.sum(1)  # (B, H)

    return _encode


@pytest.fixture()
def assert_model_grads(tiny_bert: BertModel) -> Callable[[torch.Tensor], None]:
    """Backpropagate ``loss`` and check the encoder received finite, non-zero gradients."""

    def _check(loss: torch.Tensor) -> None:
        assert loss.dim() == 0, f"loss must be a scalar, got shape {tuple(loss.shape)}"
        assert torch.isfinite(loss), f"loss is not finite: {loss}"
        loss.backward()
        grads = [p.grad for p in tiny_bert.parameters() if p.grad is not None]
        assert grads, "no parameter received a gradient"
        assert all(torch.isfinite(g).all() for g in grads), "non-finite gradient"
        total = sum(float(g.abs().sum()) for g in grads)
        assert total > 0, "all gradients are zero"

    return _check
