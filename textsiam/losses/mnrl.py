"""Multiple negatives ranking loss (InfoNCE with in-batch negatives)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_pair, check_tensor
from textsiam.model.scoring import check_similarity_name, similarity_matrix


class MultipleNegativesRankingLoss(SiameseLoss):
    r"""InfoNCE over (anchor, positive) pairs, using the other positives of the batch as negatives.

    For a batch of anchors :math:`a_i` and positives :math:`p_i` (plus optional hard negatives
    :math:`n_1 .. n_M` shared by the whole batch as extra candidates), with ``s`` the similarity
    function and :math:`\tau = 1 / \text{scale}`:

    .. math::

        L = -\frac{1}{B} \sum_{i=1}^{B} \log \frac{e^{s(a_i, p_i) / \tau}}
            {\sum_{j=1}^{B} e^{s(a_i, p_j) / \tau} + \sum_{k=1}^{M} e^{s(a_i, n_k) / \tau}}

    i.e. a cross-entropy over the ``(B, B + M)`` score matrix whose targets are its diagonal. With
    ``symmetric=True`` the positive -> anchor direction (``(B, B)`` scores, no hard negatives) is
    added and the two cross-entropies are averaged.

    Args:
        scale: multiplier of the similarities, ``1 / temperature``; ``20`` is ``tau = 0.05``. Use a
            smaller value (e.g. ``1``) with unbounded similarities such as ``"dot"``.
        similarity: a :mod:`textsiam.model.scoring` name: ``"cosine"`` (default), ``"dot"``,
            ``"euclidean"``, ``"manhattan"`` or ``"malstm"``.
        symmetric: also score every positive against all anchors and average both directions.

    References:
        * Henderson et al. (2017), "Efficient Natural Language Response Suggestion for Smart Reply",
          https://arxiv.org/abs/1705.00652
        * van den Oord, Li & Vinyals (2018), "Representation Learning with Contrastive Predictive Coding"
          (InfoNCE), https://arxiv.org/abs/1807.03748

    Requirements:
        1. (anchor, positive) pairs, optionally with hard negatives; no labels.
        2. Larger batches give more negatives; avoid duplicate positives within a batch.

    Inputs:
        +----------------------------------------------------+--------+
        | Inputs                                             | Labels |
        +====================================================+========+
        | (anchor, positive) pairs                           | none   |
        +----------------------------------------------------+--------+
        | (anchor, positive, negative_1 .. negative_k)       | none   |
        +----------------------------------------------------+--------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D), labels=None, negatives: (B, D) | (B*k, D) | (B, k, D) | None = None)
        -> scalar``. ``labels`` is accepted for a uniform call signature and ignored.

    Relations:
        - :class:`SimCSELoss` is this loss applied to two dropout views of the same sentences.
        - :class:`CoSENTLoss` / :class:`CosineSimilarityLoss` use graded scores instead of pairs.

    Example:
        ::

            import torch
            from textsiam.losses import MultipleNegativesRankingLoss

            loss_fn = MultipleNegativesRankingLoss(scale=1.0)
            a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
            loss_fn(a, a)  # cross-entropy of [[1, 0], [0, 1]]: log(1 + e^-1) ~= 0.3133
    """

    label_kind = "anchor_positive"
    batch_mode = "in_batch"
    in_batch_negatives = True
    min_batch_size = 2
    accepts_hard_negatives = True

    def __init__(self, scale: float = 20.0, similarity: str = "cosine", symmetric: bool = False) -> None:
        super().__init__()
        self.scale = float(scale)
        self.similarity = check_similarity_name(similarity)
        self.symmetric = bool(symmetric)

    def forward(
        self,
        emb_a: Tensor,
        emb_b: Tensor | None = None,
        labels: Tensor | None = None,
        negatives: Tensor | None = None,
    ) -> Tensor:
        emb_b = check_pair(emb_a, emb_b, type(self).__name__)
        candidates = emb_b  # (B, D)
        if negatives is not None:
            check_tensor(negatives, f"{type(self).__name__}: negatives")
            if negatives.shape[-1] != emb_a.shape[1] or negatives.dim() not in (2, 3):
                raise ValueError(
                    f"negatives must be (M, D) or (B, k, D) with D={emb_a.shape[1]}, got {tuple(negatives.shape)}"
                )
            candidates = torch.cat([emb_b, negatives.reshape(-1, emb_a.shape[1]).to(emb_b.dtype)])  # (B + M, D)
        target = torch.arange(emb_a.shape[0], device=emb_a.device)  # (B,)
        scores = similarity_matrix(emb_a, candidates, self.similarity) * self.scale  # (B, B + M)
        loss = F.cross_entropy(scores, target)
        if self.symmetric:
            scores_b = similarity_matrix(emb_b, emb_a, self.similarity) * self.scale  # (B, B)
            loss = 0.5 * (loss + F.cross_entropy(scores_b, target))
        return loss

    def extra_repr(self) -> str:
        return f"scale={self.scale}, similarity={self.similarity!r}, symmetric={self.symmetric}"
