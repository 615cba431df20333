from __future__ import annotations

import math

import pytest
import torch

from textsiam.losses import SoftmaxLoss


def test_known_value_with_fixed_head() -> None:
    loss_fn = SoftmaxLoss(embedding_dim=1, num_labels=3)  # features (u, v, |u - v|)
    with torch.no_grad():
        loss_fn.classifier.weight.copy_(torch.eye(3))
        loss_fn.classifier.bias.zero_()
    u, v = torch.tensor([[1.0]]), torch.tensor([[3.0]])  # logits = (1, 3, 2)
    expected = math.log(math.e + math.exp(3) + math.exp(2)) - 3
    assert loss_fn(u, v, torch.tensor([1])).item() == pytest.approx(expected)
    assert loss_fn.logits(u, v).tolist() == [[1.0, 3.0, 2.0]]


def test_feature_flags_set_head_size() -> None:
    assert SoftmaxLoss(8, 3).classifier.in_features == 24
    assert SoftmaxLoss(8, 3, concat_multiplication=True).classifier.in_features == 32
    only_mult = SoftmaxLoss(8, 2, concat_rep=False, concat_difference=False, concat_multiplication=True)
    assert only_mult.classifier.in_features == 8
    u, v = torch.tensor([[2.0]]), torch.tensor([[3.0]])
    feats = SoftmaxLoss(1, 2, concat_multiplication=True).features(u, v)
    assert feats.tolist() == [[2.0, 3.0, 1.0, 6.0]]
    with pytest.raises(ValueError):
        SoftmaxLoss(8, 3, concat_rep=False, concat_difference=False)


def test_gradcheck() -> None:
    torch.manual_seed(0)
    loss_fn = SoftmaxLoss(4, 3, concat_multiplication=True).double()
    a, b = (torch.randn(3, 4, dtype=torch.float64, requires_grad=True) for _ in range(2))
    y = torch.tensor([0, 2, 1])
    assert torch.autograd.gradcheck(lambda x, z: loss_fn(x, z, y), (a, b))


def test_owns_head_and_trains_encoder(encode, assert_model_grads) -> None:
    loss_fn = SoftmaxLoss(embedding_dim=16, num_labels=3)
    params = dict(loss_fn.named_parameters())
    assert set(params) == {"classifier.weight", "classifier.bias"}
    emb = encode(6)
    assert_model_grads(loss_fn(emb[:3], emb[3:], torch.tensor([0, 1, 2])))
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in params.values())


def test_bad_labels_and_dims() -> None:
    loss_fn = SoftmaxLoss(2, 3)
    x = torch.zeros(2, 2)
    with pytest.raises(ValueError):
        loss_fn(x, x, torch.tensor([0, 3]))
    with pytest.raises(ValueError):
        loss_fn(x, x, torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError):
        loss_fn(torch.zeros(2, 5), torch.zeros(2, 5), torch.tensor([0, 1]))
