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


def test_gradcheck() -> None:
    torch.manual_seed(2)
    a, p, n = (torch.randn(4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    for distance in ("euclidean", "manhattan", "cosine"):
        loss_fn = TripletLoss(distance, margin=5.0)
        assert torch.autograd.gradcheck(loss_fn, (a, p, n))


def test_tiny_bert_grads(encode, assert_model_grads) -> None:
    emb = encode(6)
    assert_model_grads(TripletLoss()(emb[:2], emb[2:4], emb[4:]))


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        TripletLoss()(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3, 3))
