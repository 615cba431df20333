"""Cosine similarity regression loss (SBERT)."""

from __future__ import annotations

from torch import Tensor, nn

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_labels, check_pair
from textsiam.model.scoring import check_similarity_name, pairwise_similarity


class CosineSimilarityLoss(SiameseLoss):
    r"""Regress the similarity of each pair onto its gold score.

    .. math::

        L = \frac{1}{B} \sum_{i=1}^{B} \big(s(u_i, v_i) - y_i\big)^2

    with ``s`` the cosine similarity by default (``loss_fct`` replaces the squared error).
    Labels must already live in the similarity's range, e.g. STS scores ``0..5`` divided by 5 for
    cosine; with ``similarity="malstm"`` (``exp(-||u - v||_1)`` in ``(0, 1]``) this is the MaLSTM
    objective of Mueller & Thyagarajan (2016).

    Args:
        similarity: a :mod:`textsiam.model.scoring` name: ``"cosine"`` (default), ``"malstm"``, ``"dot"``,
            ``"euclidean"`` or ``"manhattan"``.
        loss_fct: a ``(prediction, target) -> scalar`` module, ``nn.MSELoss()`` by default
            (e.g. ``nn.L1Loss()`` or ``nn.SmoothL1Loss()``).

    References:
        * Reimers & Gurevych (2019), "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
          EMNLP, https://arxiv.org/abs/1908.10084
        * Mueller & Thyagarajan (2016), "Siamese Recurrent Architectures for Learning Sentence
          Similarity", AAAI (MaLSTM).

    Requirements:
        1. (sentence_a, sentence_b) pairs with a float score in the similarity's range.

    Inputs:
        +--------------------------------+---------------------------------------+
        | Inputs                         | Labels                                |
        +================================+=======================================+
        | (sentence_a, sentence_b) pairs | float score, e.g. in [0, 1] or [-1, 1] |
        +--------------------------------+---------------------------------------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D), labels: (B,)) -> scalar``.

    Relations:
        - :class:`CoSENTLoss` only uses the order of the scores and often works better.

    Example:
        ::

            import torch
            from textsiam.losses import CosineSimilarityLoss

            loss_fn = CosineSimilarityLoss()
            u = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
            v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # cosines 1 and 0
            loss_fn(u, v, torch.tensor([0.5, 0.5]))  # ((1 - .5)^2 + (0 - .5)^2) / 2 = 0.25
    """

    label_kind = "float"

    def __init__(self, similarity: str = "cosine", loss_fct: nn.Module | None = None) -> None:
        super().__init__()
        self.similarity = check_similarity_name(similarity)
        self.loss_fct = loss_fct if loss_fct is not None else nn.MSELoss()

    def forward(self, emb_a: Tensor, emb_b: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        emb_b = check_pair(emb_a, emb_b, type(self).__name__)
        y = check_labels(labels, emb_a.shape[0], type(self).__name__)  # (B,)
        s = pairwise_similarity(emb_a, emb_b, self.similarity)  # (B,)
        return self.loss_fct(s, y.to(s.dtype))

    def extra_repr(self) -> str:
        return f"similarity={self.similarity!r}"
