from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from textsiam.losses import CoSENTLoss

U = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
V = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # cosines 1 and 0


def test_known_values() -> None:
    loss_fn = CoSENTLoss(scale=1.0)
    assert loss_fn(U, V, torch.tensor([0.2, 0.9])).item() == pytest.approx(math.log1p(math.e))  # wrong order
    assert loss_fn(U, V, torch.tensor([0.9, 0.2])).item() == pytest.approx(math.log1p(math.exp(-1)))  # right order
    assert loss_fn(U, V, torch.tensor([0.5, 0.5])).item() == pytest.approx(0.0)  # ties: no constraint
    # default scale 20, in float64 (log1p(e^-20) ~ 2e-9 underflows to 0 in float32)
    loss = CoSENTLoss()(U.double(), V.double(), torch.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx(math.log1p(math.exp(-20)), rel=1e-6)
    assert CoSENTLoss()(U, V, torch.tensor([0.0, 1.0])).item() == pytest.approx(20.0, rel=1e-6)


def test_matches_brute_force() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    y = torch.tensor([0.1, 0.8, 0.8, 0.3, 0.5])
    s = F.cosine_similarity(a, b).tolist()
    terms = [math.exp(20 * (s[j] - s[i])) for i in range(5) for j in range(5) if y[i] > y[j]]
    assert CoSENTLoss()(a, b, y).item() == pytest.approx(math.log1p(sum(terms)), rel=1e-5)


def test_only_label_order_matters() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    y = torch.tensor([0.0, 1.0, 3.0, 5.0])
    assert CoSENTLoss()(a, b, y).item() == pytest.approx(CoSENTLoss()(a, b, y / 5).item())
