from __future__ import annotations

import math

import pytest
import torch

from textsiam.losses import MultipleNegativesRankingLoss, SimCSELoss


def test_known_value_and_equivalence_with_mnrl() -> None:
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert SimCSELoss(temperature=1.0)(h, h).item() == pytest.approx(math.log1p(math.exp(-1)))
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    assert SimCSELoss()(a, b).item() == pytest.approx(MultipleNegativesRankingLoss(scale=20.0)(a, b).item())
    assert SimCSELoss.single_sentence is True


def test_gradcheck() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = (torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    assert torch.autograd.gradcheck(SimCSELoss(temperature=0.5), (a, b))


def test_two_dropout_passes_of_tiny_bert(tiny_bert, encode, assert_model_grads) -> None:
    tiny_bert.train()  # dropout on: the same sentences give two different views
    try:
        torch.manual_seed(0)
        first, second = encode(4, seed=5), encode(4, seed=5)
        assert not torch.allclose(first, second)
        assert_model_grads(SimCSELoss()(first, second))
    finally:
        tiny_bert.eval()


def test_needs_second_pass() -> None:
    with pytest.raises(ValueError):
        SimCSELoss()(torch.zeros(2, 3))
    with pytest.raises(ValueError):
        SimCSELoss(temperature=0.0)
