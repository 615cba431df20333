from __future__ import annotations

import pytest
import torch

from textsiam.losses import ContrastiveLoss


def test_cosine_known_value() -> None:
    u = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    v = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # cosine distance 1
    loss = ContrastiveLoss(distance="cosine", margin=0.5)(u, v, torch.tensor([1, 0]))
    assert loss.item() == pytest.approx(0.25)  # 0.5 * (1 + 0) / 2


def test_euclidean_and_manhattan_known_values() -> None:
    u = torch.zeros(2, 2)
    v = torch.tensor([[3.0, 4.0], [3.0, 4.0]])  # L2 = 5, L1 = 7
    y = torch.tensor([1.0, 0.0])
    assert ContrastiveLoss("euclidean", margin=6.0)(u, v, y).item() == pytest.approx((12.5 + 0.5) / 2)
    assert ContrastiveLoss("euclidean", margin=6.0, size_average=False)(u, v, y).item() == pytest.approx(13.0)
    assert ContrastiveLoss("manhattan", margin=8.0)(u, v, y).item() == pytest.approx((24.5 + 0.5) / 2)
    # negatives beyond the margin cost nothing
    assert ContrastiveLoss("euclidean", margin=4.0)(u, v, torch.tensor([0, 0])).item() == 0.0


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown distance 'dot'"):
        ContrastiveLoss(distance="dot")
    with pytest.raises(ValueError, match=r"expects 2 labels \(one per example\), got 3 with shape \(3,\)"):
        ContrastiveLoss()(torch.zeros(2, 3), torch.zeros(2, 3), torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match=r"needs two embedding batches \(emb_a, emb_b\); emb_b is None"):
        ContrastiveLoss()(torch.zeros(2, 3), None, torch.tensor([1, 0]))
