"""Online contrastive loss: the contrastive loss restricted to the hard pairs of each batch."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.common import zero_loss
from textsiam.losses.contrastive import PairDistanceLoss


class OnlineContrastiveLoss(PairDistanceLoss):
    r"""Contrastive loss computed only on the hard positive and hard negative pairs of a batch.

    With ``d`` the pair distances of the batch, ``P`` the positive pairs (label 1) and ``N`` the
    negative pairs (label 0):

    * hard positives: :math:`P_h = \{p \in P : d_p > \min_{n \in N} d_n\}` (farther than the closest negative),
    * hard negatives: :math:`N_h = \{n \in N : d_n < \max_{p \in P} d_p\}` (closer than the farthest positive),

    .. math::

        L = \sum_{p \in P_h} d_p^2 + \sum_{n \in N_h} \max(0,\ m - d_n)^2

    (divided by :math:`|P_h| + |N_h|` when ``size_average=True``). As in SBERT, when the batch has
    no negatives the positives farther than the mean positive distance are hard, and when it has no
    positives the negatives closer than the mean negative distance are hard. A batch with nothing
    to select gives a loss of 0 (with zero gradients), never NaN. Pairs whose label is neither 0 nor
    1 are ignored.

    Args:
        distance: ``"euclidean"``, ``"manhattan"`` or ``"cosine"`` (``1 - cos``, default).
        margin: hard negatives are pushed until they are at least ``margin`` apart.
        size_average: average over the selected hard pairs instead of summing (SBERT sums; default ``False``).

    References:
        * Hadsell, Chopra & LeCun (2006), "Dimensionality Reduction by Learning an Invariant Mapping", CVPR.
        * Reimers & Gurevych (2019), "Sentence-BERT", EMNLP, https://arxiv.org/abs/1908.10084 (online
          variant used in the sentence-transformers Quora duplicate-questions example).

    Requirements:
        1. (sentence_a, sentence_b) pairs with a 0/1 label.
        2. Batches with both positives and negatives give the most useful signal.

    Inputs:
        +-----------------------------------+------------------------------+
        | Inputs                            | Labels                       |
        +===================================+==============================+
        | (sentence_a, sentence_b) pairs    | 1 if similar, 0 if not       |
        +-----------------------------------+------------------------------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D), labels: (B,)) -> scalar``.

    Relations:
        - :class:`ContrastiveLoss` uses every pair (average instead of sum by default).

    Example:
        ::

            import torch
            from textsiam.losses import OnlineContrastiveLoss

            loss_fn = OnlineContrastiveLoss(distance="euclidean", margin=1.0)
            u = torch.zeros(3, 2)
            v = torch.tensor([[2.0, 0.0], [0.5, 0.0], [0.0, 0.2]])
            # distances 2.0 (pos), 0.5 (neg), 0.2 (neg): all hard -> 4 + 0.25 + 0.64 = 4.89
            loss_fn(u, v, torch.tensor([1, 0, 0]))
    """

    def __init__(self, distance: str = "cosine", margin: float = 0.5, size_average: bool = False) -> None:
        super().__init__(distance=distance, margin=margin, size_average=size_average)

    def forward(self, emb_a: Tensor, emb_b: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        d, y = self._distances(emb_a, emb_b, labels)  # (B,), (B,)
        pos = d[y == 1]  # (P,)
        neg = d[y == 0]  # (N,)
        if pos.numel() == 0 and neg.numel() == 0:
            return zero_loss(d)
        # Thresholds are treated as constants (as a selection rule they carry no gradient).
        pos_threshold = neg.min() if neg.numel() else pos.mean()
        neg_threshold = pos.max() if pos.numel() else neg.mean()
        hard_pos = pos[pos > pos_threshold.detach()]  # (P_h,)
        hard_neg = neg[neg < neg_threshold.detach()]  # (N_h,)
        loss = hard_pos.pow(2).sum() + F.relu(self.margin - hard_neg).pow(2).sum()
        if self.size_average:
            loss = loss / max(hard_pos.numel() + hard_neg.numel(), 1)
        return loss
