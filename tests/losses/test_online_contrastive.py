from __future__ import annotations

import pytest
import torch

from textsiam.losses import OnlineContrastiveLoss


def _pairs(distances: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs whose euclidean distances are exactly ``distances``."""
    u = torch.zeros(len(distances), 2)
    v = torch.zeros(len(distances), 2)
    v[:, 0] = torch.tensor(distances)
    return u, v


def test_docstring_example() -> None:
    u = torch.zeros(3, 2)
    v = torch.tensor([[2.0, 0.0], [0.5, 0.0], [0.0, 0.2]])
    loss = OnlineContrastiveLoss(distance="euclidean", margin=1.0)(u, v, torch.tensor([1, 0, 0]))
    assert loss.item() == pytest.approx(4.0 + 0.25 + 0.64)


def test_only_hard_pairs_are_used() -> None:
    u, v = _pairs([0.1, 2.0, 0.5, 3.0])
    y = torch.tensor([1, 1, 0, 0])
    # hard positives: > min neg (0.5) -> {2.0}; hard negatives: < max pos (2.0) -> {0.5}
    loss_fn = OnlineContrastiveLoss("euclidean", margin=1.0)
    assert loss_fn(u, v, y).item() == pytest.approx(4.0 + 0.25)
    loss_fn = OnlineContrastiveLoss("euclidean", margin=1.0, size_average=True)
    assert loss_fn(u, v, y).item() == pytest.approx((4.0 + 0.25) / 2)


def test_no_positives_in_batch() -> None:
    u, v = _pairs([0.2, 0.6])
    v.requires_grad_(True)
    loss = OnlineContrastiveLoss("euclidean", margin=1.0)(u, v, torch.tensor([0, 0]))
    assert loss.item() == pytest.approx(0.64)  # negatives closer than their mean (0.4): {0.2}
    loss.backward()
    assert torch.isfinite(v.grad).all()


def test_no_negatives_in_batch() -> None:
    u, v = _pairs([1.0, 3.0])
    loss = OnlineContrastiveLoss("euclidean", margin=1.0)(u, v, torch.tensor([1, 1]))
    assert loss.item() == pytest.approx(9.0)  # positives farther than their mean (2.0): {3.0}


@pytest.mark.parametrize("labels", [[1], [0], [2, 2]])
def test_degenerate_batches_give_zero_not_nan(labels: list[int]) -> None:
    u = torch.randn(len(labels), 3, requires_grad=True)
    v = torch.randn(len(labels), 3)
    for size_average in (False, True):
        loss = OnlineContrastiveLoss(size_average=size_average)(u, v, torch.tensor(labels))
        assert loss.item() == 0.0
        (g,) = torch.autograd.grad(loss, u)
        assert torch.isfinite(g).all() and (g == 0).all()
