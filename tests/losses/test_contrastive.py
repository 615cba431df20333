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


def test_gradcheck() -> None:
    torch.manual_seed(0)
    u = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    v = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    for distance in ("euclidean", "manhattan", "cosine"):
        loss_fn = ContrastiveLoss(distance, margin=3.0)
        assert torch.autograd.gradcheck(lambda a, b, f=loss_fn: f(a, b, y), (u, v))


def test_tiny_bert_grads(encode, assert_model_grads) -> None:
    emb = encode(4)
    assert_model_grads(ContrastiveLoss()(emb[:2], emb[2:], torch.tensor([1, 0])))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        ContrastiveLoss(distance="dot")
    with pytest.raises(ValueError):
        ContrastiveLoss()(torch.zeros(2, 3), torch.zeros(2, 3), torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError):
        ContrastiveLoss()(torch.zeros(2, 3), None, torch.tensor([1, 0]))
