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
    with pytest.raises(
        ValueError, match="needs at least one of concat_rep / concat_difference / concat_multiplication"
    ):
        SoftmaxLoss(8, 3, concat_rep=False, concat_difference=False)


def test_owns_only_its_head() -> None:
    """Its trainable parameters are the classifier (test_gradients.py checks they and the encoder get gradients)."""
    params = dict(SoftmaxLoss(embedding_dim=16, num_labels=3).named_parameters())
    assert set(params) == {"classifier.weight", "classifier.bias"}


def test_bad_labels_and_dims() -> None:
    loss_fn = SoftmaxLoss(2, 3)
    x = torch.zeros(2, 2)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got \[0, 3\]"):
        loss_fn(x, x, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="expects integer class labels"):
        loss_fn(x, x, torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="was built for embedding_dim=2, got 5"):
        loss_fn(torch.zeros(2, 5), torch.zeros(2, 5), torch.tensor([0, 1]))
