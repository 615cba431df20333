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
