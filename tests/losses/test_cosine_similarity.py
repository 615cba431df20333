from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from textsiam.losses import CosineSimilarityLoss

U = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
V = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # cosines 1 and 0


def test_known_values() -> None:
    assert CosineSimilarityLoss()(U, V, torch.tensor([0.5, 0.5])).item() == pytest.approx(0.25)
    assert CosineSimilarityLoss()(U, V, torch.tensor([1.0, 0.0])).item() == pytest.approx(0.0)
    l1 = CosineSimilarityLoss(loss_fct=nn.L1Loss())(U, V, torch.tensor([0.25, 0.25]))
    assert l1.item() == pytest.approx(0.5)


def test_malstm() -> None:
    u, v = torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])  # exp(-|u - v|_1) = e^-1
    loss = CosineSimilarityLoss(similarity="malstm")(u, v, torch.tensor([1.0]))
    assert loss.item() == pytest.approx((1 - math.exp(-1)) ** 2)


def test_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    y = torch.tensor([0.2, 0.9, 0.4], dtype=torch.float64)
    for similarity in ("cosine", "malstm"):
        loss_fn = CosineSimilarityLoss(similarity=similarity)
        assert torch.autograd.gradcheck(lambda x, z, f=loss_fn: f(x, z, y), (a, b))


def test_tiny_bert_grads(encode, assert_model_grads) -> None:
    emb = encode(4)
    assert_model_grads(CosineSimilarityLoss()(emb[:2], emb[2:], torch.tensor([0.8, 0.1])))
