"""Contrastive loss (Hadsell, Chopra & LeCun, 2006)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_distance_name, check_labels, check_pair, pairwise_distance


class PairDistanceLoss(SiameseLoss):
    """Shared constructor and inputs of the contrastive losses: 0/1-labelled pairs compared by a distance."""

    label_kind = "binary"

    def __init__(self, distance: str = "cosine", margin: float = 0.5, size_average: bool = True) -> None:
        super().__init__()
        self.distance = check_distance_name(distance)
        self.margin = float(margin)
        self.size_average = bool(size_average)

    def _distances(self, emb_a: Tensor, emb_b: Tensor | None, labels: Tensor | None) -> tuple[Tensor, Tensor]:
        """Check the inputs; return the ``(B,)`` pair distances and the ``(B,)`` labels."""
        name = type(self).__name__
        emb_b = check_pair(emb_a, emb_b, name)
        y = check_labels(labels, emb_a.shape[0], name)  # (B,)
        return pairwise_distance(emb_a, emb_b, self.distance), y  # (B,), (B,)

    def extra_repr(self) -> str:
        return f"distance={self.distance!r}, margin={self.margin}, size_average={self.size_average}"


class ContrastiveLoss(PairDistanceLoss):
    r"""Contrastive loss on pairs labelled 1 (similar) or 0 (dissimilar).

    Similar pairs are pulled together; dissimilar pairs are pushed apart until their distance
    reaches ``margin``, after which they no longer contribute. With ``d`` the distance between the
    two embeddings of a pair and ``y`` its label:

    .. math::

        L = \frac{1}{2}\left(y\, d^2 + (1 - y)\, \max(0,\ m - d)^2\right)

    averaged over the batch (``size_average=True``) or summed.

    Args:
        distance: ``"euclidean"`` (``||u - v||_2``), ``"manhattan"`` (``||u - v||_1``) or
            ``"cosine"`` (``1 - cos(u, v)``, the default).
        margin: dissimilar pairs (label 0) should be at least ``margin`` apart. ``0.5`` suits the
            cosine distance (whose range is ``[0, 2]``); scale it up for unnormalised L1/L2 distances.
        size_average: average the per-pair losses over the batch if ``True``, else sum them.

    References:
        * Hadsell, Chopra & LeCun (2006), "Dimensionality Reduction by Learning an Invariant Mapping",
          CVPR. http://yann.lecun.com/exdb/publis/pdf/hadsell-chopra-lecun-06.pdf

    Requirements:
        1. (sentence_a, sentence_b) pairs with a 0/1 label.

    Inputs:
        +-----------------------------------+------------------------------+
        | Inputs                            | Labels                       |
        +===================================+==============================+
        | (sentence_a, sentence_b) pairs    | 1 if similar, 0 if not       |
        +-----------------------------------+------------------------------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D), labels: (B,)) -> scalar``. Labels may be int, bool or
        float; fractional labels weight the two terms.

    Relations:
        - :class:`OnlineContrastiveLoss` only uses the hard pairs of each batch and often works better.

    Example:
        ::

            import torch
            from textsiam.losses import ContrastiveLoss

            loss_fn = ContrastiveLoss(distance="cosine", margin=0.5)
            u = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
            v = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
            loss_fn(u, v, torch.tensor([1, 0]))  # 0.5 * (1**2 + 0) / 2 = 0.25
    """

    def forward(self, emb_a: Tensor, emb_b: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        d, y = self._distances(emb_a, emb_b, labels)  # (B,), (B,)
        y = y.to(emb_a.dtype)
        losses = 0.5 * (y * d.pow(2) + (1.0 - y) * F.relu(self.margin - d).pow(2))  # (B,)
        return losses.mean() if self.size_average else losses.sum()
