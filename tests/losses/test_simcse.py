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


def test_needs_second_pass() -> None:
    with pytest.raises(ValueError, match=r"needs the second dropout pass: call loss\(first_pass, second_pass\)"):
        SimCSELoss()(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"temperature must be > 0, got 0\.0"):
        SimCSELoss(temperature=0.0)
