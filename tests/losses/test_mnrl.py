from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from textsiam.losses import MultipleNegativesRankingLoss


def _reference(a: torch.Tensor, cands: torch.Tensor, scale: float) -> float:
    """-mean_i log softmax_j(scale * cos(a_i, c_j))[i], with explicit loops."""
    total = 0.0
    for i in range(len(a)):
        scores = [scale * float(F.cosine_similarity(a[i], c, dim=0)) for c in cands]
        total += math.log(sum(math.exp(s) for s in scores)) - scores[i]
    return total / len(a)


def test_known_values() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert MultipleNegativesRankingLoss(scale=1.0)(a, a).item() == pytest.approx(math.log1p(math.exp(-1)))
    neg = torch.tensor([[-1.0, 0.0]])
    expected = (
        -math.log(math.e / (math.e + 1 + math.exp(-1))) - math.log(math.e / (math.e + 2))
    ) / 2  # rows [1, 0, -1] and [0, 1, 0]
    assert MultipleNegativesRankingLoss(scale=1.0)(a, a, negatives=neg).item() == pytest.approx(expected)


def test_matches_reference_with_negatives_and_symmetric() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    negs = torch.randn(3, 2, 4, generator=g)  # k = 2 hard negatives per anchor
    flat = negs.reshape(-1, 4)
    loss_fn = MultipleNegativesRankingLoss(scale=20.0)
    assert loss_fn(a, b).item() == pytest.approx(_reference(a, b, 20.0), rel=1e-5)
    ref = _reference(a, torch.cat([b, flat]), 20.0)
    assert loss_fn(a, b, negatives=negs).item() == pytest.approx(ref, rel=1e-5)
    assert loss_fn(a, b, negatives=flat).item() == pytest.approx(ref, rel=1e-5)
    sym = MultipleNegativesRankingLoss(scale=20.0, symmetric=True)(a, b)
    assert sym.item() == pytest.approx((_reference(a, b, 20.0) + _reference(b, a, 20.0)) / 2, rel=1e-5)


def test_dot_similarity() -> None:
    a = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    loss = MultipleNegativesRankingLoss(scale=1.0, similarity="dot")(a, a)
    expected = (math.log(math.exp(4) + 1) - 4 + math.log(1 + math.e) - 1) / 2
    assert loss.item() == pytest.approx(expected)


def test_bad_negatives() -> None:
    with pytest.raises(ValueError, match=r"negatives must be \(M, D\) or \(B, k, D\) with D=3, got \(2, 4\)"):
        MultipleNegativesRankingLoss()(torch.zeros(2, 3), torch.ones(2, 3), negatives=torch.ones(2, 4))
    with pytest.raises(ValueError, match="unknown similarity function 'nope'"):
        MultipleNegativesRankingLoss(similarity="nope")
