"""Triplet losses with online mining inside a batch of class-labelled sentences.

All three take a single batch of embeddings with one class label each and build the triplets
themselves: a valid triplet ``(a, p, n)`` has ``a != p``, ``label[a] == label[p]`` and
``label[a] != label[n]``. Batches should contain several examples per class (e.g. sample
``P`` classes x ``K`` examples); a batch without any valid triplet gives a loss of 0 with zero
gradients, never NaN.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_distance_name, check_labels, check_tensor, distance_matrix, zero_loss

#: The Requirements, Inputs and Forward sections of the three losses' docstrings, in place of ``{batch_inputs}``.
_BATCH_INPUTS_DOC = """Requirements:
        1. Single sentences, each with a class label.
        2. Each batch should hold at least 2 classes with at least 2 examples each.

    Inputs:
        +------------------+-------------+
        | Inputs           | Labels      |
        +==================+=============+
        | single sentences | class label |
        +------------------+-------------+

    Forward:
        ``forward(embeddings: (B, D), labels: (B,)) -> scalar``."""


class _BatchTripletLoss(SiameseLoss):
    """Shared constructor, masks and docstring sections of the batch-mining triplet losses."""

    label_kind = "class"
    batch_mode = "single"
    min_batch_size = 2

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__doc__:  # None under python -OO
            cls.__doc__ = cls.__doc__.replace("{batch_inputs}", _BATCH_INPUTS_DOC)

    def __init__(self, distance: str = "euclidean", margin: float = 5.0) -> None:
        super().__init__()
        self.distance = check_distance_name(distance)
        self.margin = float(margin)

    def _prepare(self, embeddings: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """Return the distance matrix and the anchor-positive / anchor-negative masks, all ``(B, B)``."""
        name = type(self).__name__
        check_tensor(embeddings, f"{name}: embeddings")
        if embeddings.dim() != 2:
            raise ValueError(f"{name} expects (B, D) embeddings, got shape {tuple(embeddings.shape)}")
        y = check_labels(labels, embeddings.shape[0], name)  # (B,)
        d = distance_matrix(embeddings, embeddings, self.distance)  # (B, B)
        same = y.unsqueeze(1) == y.unsqueeze(0)  # (B, B)
        eye = torch.eye(y.numel(), dtype=torch.bool, device=y.device)  # (B, B)
        return d, same & ~eye, ~same

    def extra_repr(self) -> str:
        return f"distance={self.distance!r}, margin={self.margin}"


class BatchAllTripletLoss(_BatchTripletLoss):
    r"""Triplet loss over *all* valid triplets of a batch ("batch all", Hermans et al. 2017).

    .. math::

        L = \frac{1}{|T_+|} \sum_{(a, p, n) \in T} \max\left(0,\ d(a, p) - d(a, n) + m\right)

    where :math:`T` is the set of valid triplets and :math:`T_+` those with a strictly positive
    loss (averaging only over active triplets keeps the loss from vanishing as easy triplets
    accumulate). Memory is ``O(B^3)``.

    Args:
        distance: ``"euclidean"`` (default), ``"manhattan"`` or ``"cosine"`` (``1 - cos``).
        margin: required gap between negative and positive distances (SBERT default ``5``).

    References:
        * Hermans, Beyer & Leibe (2017), "In Defense of the Triplet Loss for Person Re-Identification",
          https://arxiv.org/abs/1703.07737
        * Schroff, Kalenichenko & Philbin (2015), "FaceNet", CVPR, https://arxiv.org/abs/1503.03832

    {batch_inputs}

    Relations:
        - :class:`BatchHardTripletLoss` keeps only the hardest positive and negative per anchor.
        - :class:`BatchSemiHardTripletLoss` keeps one semi-hard negative per positive pair.

    Example:
        ::

            import torch
            from textsiam.losses import BatchAllTripletLoss

            loss_fn = BatchAllTripletLoss(distance="euclidean", margin=1.0)
            emb = torch.tensor([[0.0], [1.0], [1.5]])
            # triplets (0,1,2): 1-1.5+1 = 0.5 and (1,0,2): 1-0.5+1 = 1.5 -> mean 1.0
            loss_fn(emb, torch.tensor([0, 0, 1]))
    """

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        d, pos_mask, neg_mask = self._prepare(embeddings, labels)  # (B, B) each
        valid = pos_mask.unsqueeze(2) & neg_mask.unsqueeze(1)  # (B, B, B): [a, p, n]
        losses = F.relu(d.unsqueeze(2) - d.unsqueeze(1) + self.margin)  # (B, B, B)
        losses = losses[valid]  # (T,)
        n_active = int((losses > 1e-16).sum())
        if n_active == 0:
            return losses.sum() * 0.0  # keeps the graph; also covers "no valid triplet"
        return losses.sum() / n_active


class BatchHardTripletLoss(_BatchTripletLoss):
    r"""Triplet loss with the hardest positive and hardest negative of each anchor ("batch hard").

    For every anchor ``a`` that has at least one positive and one negative in the batch:

    .. math::

        L = \frac{1}{|A|} \sum_{a \in A} \max\left(0,\ \max_{p} d(a, p) - \min_{n} d(a, n) + m\right)

    or, with ``soft_margin=True``, :math:`\log(1 + \exp(\max_p d(a, p) - \min_n d(a, n)))` (the
    soft-margin variant of Hermans et al., which needs no margin). Anchors without a positive or a
    negative are skipped, so a batch with a single class gives 0.

    Args:
        distance: ``"euclidean"`` (default), ``"manhattan"`` or ``"cosine"`` (``1 - cos``).
        margin: required gap between negative and positive distances (SBERT default ``5``); ignored
            with ``soft_margin=True``.
        soft_margin: use ``softplus(d_ap - d_an)`` instead of the hinge.

    References:
        * Hermans, Beyer & Leibe (2017), "In Defense of the Triplet Loss for Person Re-Identification",
          https://arxiv.org/abs/1703.07737

    {batch_inputs}

    Relations:
        - :class:`BatchAllTripletLoss` uses every valid triplet.
        - :class:`BatchSemiHardTripletLoss` uses semi-hard negatives, which is less prone to collapse.

    Example:
        ::

            import torch
            from textsiam.losses import BatchHardTripletLoss

            loss_fn = BatchHardTripletLoss(distance="euclidean", margin=1.0)
            emb = torch.tensor([[0.0], [1.0], [1.5]])
            # anchor 0: 1 - 1.5 + 1 = 0.5; anchor 1: 1 - 0.5 + 1 = 1.5; anchor 2 has no positive -> mean 1.0
            loss_fn(emb, torch.tensor([0, 0, 1]))
    """

    def __init__(self, distance: str = "euclidean", margin: float = 5.0, soft_margin: bool = False) -> None:
        super().__init__(distance=distance, margin=margin)
        self.soft_margin = bool(soft_margin)

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        d, pos_mask, neg_mask = self._prepare(embeddings, labels)  # (B, B) each
        valid = pos_mask.any(1) & neg_mask.any(1)  # (B,) anchors with a positive and a negative
        if not bool(valid.any()):
            return zero_loss(d)
        hardest_pos = d.masked_fill(~pos_mask, float("-inf")).amax(1)  # (B,)
        hardest_neg = d.masked_fill(~neg_mask, float("inf")).amin(1)  # (B,)
        gap = hardest_pos[valid] - hardest_neg[valid]  # (A,)
        losses = F.softplus(gap) if self.soft_margin else F.relu(gap + self.margin)  # (A,)
        return losses.mean()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, soft_margin={self.soft_margin}"


class BatchSemiHardTripletLoss(_BatchTripletLoss):
    r"""Triplet loss with semi-hard negative mining (FaceNet).

    For every anchor-positive pair ``(a, p)`` the negative is the closest one that is still
    farther than the positive, :math:`n^* = \arg\min_{n:\ d(a, n) > d(a, p)} d(a, n)`; when every
    negative is closer than the positive, the farthest negative is used instead (as in the
    TensorFlow implementation). Then

    .. math::

        L = \frac{1}{|P|} \sum_{(a, p) \in P} \max\left(0,\ d(a, p) - d(a, n^*) + m\right)

    over the anchor-positive pairs ``P`` whose anchor has at least one negative.
    Memory is ``O(B^2)``.

    Args:
        distance: ``"euclidean"`` (default), ``"manhattan"`` or ``"cosine"`` (``1 - cos``).
        margin: required gap between negative and positive distances (SBERT default ``5``).

    References:
        * Schroff, Kalenichenko & Philbin (2015), "FaceNet: A Unified Embedding for Face Recognition and
          Clustering", CVPR, https://arxiv.org/abs/1503.03832
        * Hermans, Beyer & Leibe (2017), "In Defense of the Triplet Loss", https://arxiv.org/abs/1703.07737

    {batch_inputs}

    Relations:
        - :class:`BatchHardTripletLoss` picks the hardest negative instead.

    Example:
        ::

            import torch
            from textsiam.losses import BatchSemiHardTripletLoss

            loss_fn = BatchSemiHardTripletLoss(distance="euclidean", margin=1.0)
            emb = torch.tensor([[0.0], [1.0], [0.5], [3.0]])
            # (0,1): d=1, negatives at 0.5, 3 -> n*=3: 0     (1,0): d=1, negatives at 0.5, 2 -> n*=2: 0
            # (2,3): d=2.5, negatives at 0.5, 0.5 -> none farther, farthest 0.5: 3.0
            # (3,2): d=2.5, negatives at 3, 2 -> n*=3: 0.5                           -> mean 0.875
            loss_fn(emb, torch.tensor([0, 0, 1, 1]))
    """

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        d, pos_mask, neg_mask = self._prepare(embeddings, labels)  # (B, B) each
        has_neg = neg_mask.any(1)  # (B,)
        valid = pos_mask & has_neg.unsqueeze(1)  # (B, B): [a, p]
        if not bool(valid.any()):
            return zero_loss(d)
        b = d.shape[0]
        neg_d = d.masked_fill(~neg_mask, float("inf"))  # (B, B): [a, n], +inf where n is no negative of a
        sorted_neg, _ = neg_d.sort(dim=1)  # (B, B) ascending, +inf last
        # first negative strictly farther than the positive, per (a, p)
        idx = torch.searchsorted(sorted_neg.detach().contiguous(), d.detach().contiguous(), right=True)  # (B, B)
        n_neg = neg_mask.sum(1, keepdim=True)  # (B, 1)
        outside = idx < n_neg  # (B, B)
        semi_hard = sorted_neg.gather(1, idx.clamp(max=b - 1))  # (B, B)
        farthest_neg = d.masked_fill(~neg_mask, float("-inf")).amax(1, keepdim=True).expand(b, b)  # (B, B)
        chosen = torch.where(outside, semi_hard, farthest_neg)  # (B, B)
        return F.relu(d[valid] - chosen[valid] + self.margin).mean()
