from __future__ import annotations

import math

import pytest
import torch

from textsiam.losses import BatchAllTripletLoss, BatchHardTripletLoss, BatchSemiHardTripletLoss

EMB = torch.tensor([[0.0], [1.0], [1.5]])
LABELS = torch.tensor([0, 0, 1])


def _dist(x: torch.Tensor) -> list[list[float]]:
    return [[float((x[i] - x[j]).norm()) for j in range(len(x))] for i in range(len(x))]


def _brute_force(x: torch.Tensor, y: torch.Tensor, margin: float) -> tuple[float, float, float]:
    """Reference batch-all, batch-hard and semi-hard losses with explicit loops."""
    d, y, b = _dist(x), y.tolist(), len(x)
    pos = {a: [p for p in range(b) if p != a and y[p] == y[a]] for a in range(b)}
    neg = {a: [n for n in range(b) if y[n] != y[a]] for a in range(b)}
    all_losses = [max(0.0, d[a][p] - d[a][n] + margin) for a in range(b) for p in pos[a] for n in neg[a]]
    active = [v for v in all_losses if v > 1e-16]
    batch_all = sum(active) / len(active) if active else 0.0
    hard = [
        max(0.0, max(d[a][p] for p in pos[a]) - min(d[a][n] for n in neg[a]) + margin)
        for a in range(b)
        if pos[a] and neg[a]
    ]
    batch_hard = sum(hard) / len(hard) if hard else 0.0
    semi = []
    for a in range(b):
        if not neg[a]:
            continue
        for p in pos[a]:
            farther = [d[a][n] for n in neg[a] if d[a][n] > d[a][p]]
            dn = min(farther) if farther else max(d[a][n] for n in neg[a])
            semi.append(max(0.0, d[a][p] - dn + margin))
    semi_hard = sum(semi) / len(semi) if semi else 0.0
    return batch_all, batch_hard, semi_hard


def test_known_values() -> None:
    assert BatchAllTripletLoss(margin=1.0)(EMB, LABELS).item() == pytest.approx(1.0)  # (0.5 + 1.5) / 2
    assert BatchHardTripletLoss(margin=1.0)(EMB, LABELS).item() == pytest.approx(1.0)  # (0.5 + 1.5) / 2
    soft = (math.log1p(math.exp(-0.5)) + math.log1p(math.exp(0.5))) / 2
    assert BatchHardTripletLoss(soft_margin=True)(EMB, LABELS).item() == pytest.approx(soft)
    emb = torch.tensor([[0.0], [1.0], [0.5], [3.0]])
    # (0,1): 0, (1,0): 0, (2,3): no farther negative -> farthest (0.5): 3.0, (3,2): n*=3: 0.5
    semi = BatchSemiHardTripletLoss(margin=1.0)(emb, torch.tensor([0, 0, 1, 1]))
    assert semi.item() == pytest.approx(0.875)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 2, 1, 0, 3])
    ref_all, ref_hard, ref_semi = _brute_force(x, y, margin=1.0)
    assert BatchAllTripletLoss(margin=1.0)(x, y).item() == pytest.approx(ref_all)
    assert BatchHardTripletLoss(margin=1.0)(x, y).item() == pytest.approx(ref_hard)
    assert BatchSemiHardTripletLoss(margin=1.0)(x, y).item() == pytest.approx(ref_semi)


@pytest.mark.parametrize("cls", [BatchAllTripletLoss, BatchHardTripletLoss, BatchSemiHardTripletLoss])
@pytest.mark.parametrize("labels", [[3, 3, 3, 3], [0, 1, 2, 3], [7]])
def test_no_valid_triplet_gives_zero(cls: type, labels: list[int]) -> None:
    x = torch.randn(len(labels), 4, requires_grad=True)
    loss = cls()(x, torch.tensor(labels))
    assert loss.item() == 0.0
    (g,) = torch.autograd.grad(loss, x)
    assert torch.isfinite(g).all() and (g == 0).all()


def test_bad_labels() -> None:
    with pytest.raises(ValueError, match=r"expects 3 labels \(one per example\), got 2 with shape \(2,\)"):
        BatchHardTripletLoss()(torch.zeros(3, 2), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"needs labels \(one per example\); got None"):
        BatchAllTripletLoss()(torch.zeros(3, 2), None)
