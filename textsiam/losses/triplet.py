"""Triplet loss on explicit (anchor, positive, negative) triplets."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_distance_name, check_pair, pairwise_distance


class TripletLoss(SiameseLoss):
    r"""Triplet margin loss: the anchor must be closer to the positive than to the negative by ``margin``.

    .. math::

        L = \frac{1}{B} \sum_{i=1}^{B} \max\left(0,\ d(a_i, p_i) - d(a_i, n_i) + m\right)

    Args:
        distance: ``"euclidean"`` (default, as in SBERT), ``"manhattan"`` or ``"cosine"`` (``1 - cos``).
        margin: required gap between the negative and positive distances. SBERT's default of ``5``
            suits unnormalised euclidean distances; use e.g. ``0.2``–``0.5`` with ``"cosine"``.

    References:
        * Schroff, Kalenichenko & Philbin (2015), "FaceNet: A Unified Embedding for Face Recognition and
          Clustering", CVPR, https://arxiv.org/abs/1503.03832
        * Reimers & Gurevych (2019), "Sentence-BERT", EMNLP, https://arxiv.org/abs/1908.10084

    Requirements:
        1. (anchor, positive, negative) triplets.

    Inputs:
        +---------------------------------------+--------+
        | Inputs                                | Labels |
        +=======================================+========+
        | (anchor, positive, negative) triplets | none   |
        +---------------------------------------+--------+

    Forward:
        ``forward(anchor: (B, D), positive: (B, D), negative: (B, D)) -> scalar``. No labels.

    Relations:
        - :class:`BatchAllTripletLoss`, :class:`BatchHardTripletLoss` and :class:`BatchSemiHardTripletLoss`
          build the triplets themselves from single sentences with class labels.

    Example:
        ::

            import torch
            from textsiam.losses import TripletLoss

            loss_fn = TripletLoss(distance="euclidean", margin=1.0)
            a = torch.tensor([[0.0, 0.0]])
            p = torch.tensor([[1.0, 0.0]])
            n = torch.tensor([[0.0, 1.5]])
            loss_fn(a, p, n)  # max(0, 1 - 1.5 + 1) = 0.5
    """

    label_kind = "triplet"
    batch_mode = "triplet"
    accepts_hard_negatives = True

    def __init__(self, distance: str = "euclidean", margin: float = 5.0) -> None:
        super().__init__()
        self.distance = check_distance_name(distance)
        self.margin = float(margin)

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        name = type(self).__name__
        check_pair(anchor, positive, name)
        check_pair(anchor, negative, name)
        d_pos = pairwise_distance(anchor, positive, self.distance)  # (B,)
        d_neg = pairwise_distance(anchor, negative, self.distance)  # (B,)
        return F.relu(d_pos - d_neg + self.margin).mean()

    def extra_repr(self) -> str:
        return f"distance={self.distance!r}, margin={self.margin}"
