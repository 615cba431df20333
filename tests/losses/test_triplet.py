from __future__ import annotations

import pytest
import torch

from textsiam.losses import TripletLoss


def test_known_values() -> None:
    a = torch.tensor([[0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0]])
    n = torch.tensor([[0.0, 1.5]])
    assert TripletLoss("euclidean", margin=1.0)(a, p, n).item() == pytest.approx(0.5)
    assert TripletLoss("euclidean", margin=0.2)(a, p, n).item() == 0.0
    # manhattan: d(a, p) = 2, d(a, n) = 1
    assert TripletLoss("manhattan", margin=0.5)(a, torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 0.0]])).item() == (
        pytest.approx(1.5)
    )
    # cosine: d(a, p) = 0, d(a, n) = 1
    x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert TripletLoss("cosine", margin=2.0)(x, x, y).item() == pytest.approx(1.0)
    assert TripletLoss("cosine", margin=0.5)(x, x, y).item() == 0.0


def test_batch_mean() -> None:
    a = torch.zeros(2, 1)
    p = torch.tensor([[1.0], [3.0]])
    n = torch.tensor([[2.0], [1.0]])
    assert TripletLoss("euclidean", margin=1.0)(a, p, n).item() == pytest.approx((0.0 + 3.0) / 2)


def test_shape_mismatch() -> None:
    with pytest.raises(
        ValueError, match=r"expects two \(B, D\) embedding batches of the same shape, got \(2, 3\) and \(3, 3\)"
    ):
        TripletLoss()(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3, 3))
