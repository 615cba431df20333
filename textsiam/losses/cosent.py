"""CoSENT loss (Su, 2022)."""

from __future__ import annotations

import torch
from torch import Tensor

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_labels, check_pair
from textsiam.model.scoring import check_similarity_name, pairwise_similarity


class CoSENTLoss(SiameseLoss):
    r"""CoSENT: a ranking loss that orders the pair similarities of a batch like their gold scores.

    With :math:`s_i` the similarity of pair ``i`` and :math:`y_i` its gold score, every ordered
    couple of pairs with :math:`y_i > y_j` should have :math:`s_i > s_j`:

    .. math::

        L = \log\left(1 + \sum_{(i, j):\ y_i > y_j} \exp\big(\lambda\, (s_j - s_i)\big)\right)

    computed as a ``logsumexp`` (numerically stable). Only the order of the labels matters, so
    they need no normalisation; ties contribute nothing.

    Args:
        scale: :math:`\lambda`, the inverse temperature (``20`` in the paper).
        similarity: a :mod:`textsiam.model.scoring` name, ``"cosine"`` by default.

    References:
        * Su, Jianlin (2022), "CoSENT: a more efficient sentence vector scheme than Sentence-BERT",
          https://kexue.fm/archives/8847

    Requirements:
        1. (sentence_a, sentence_b) pairs with a graded similarity score (float).

    Inputs:
        +--------------------------------+------------------------+
        | Inputs                         | Labels                 |
        +================================+========================+
        | (sentence_a, sentence_b) pairs | float similarity score |
        +--------------------------------+------------------------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D), labels: (B,)) -> scalar``.

    Relations:
        - :class:`CosineSimilarityLoss` regresses the similarity onto the score directly; CoSENT
          usually trains faster and better on STS-style data.

    Example:
        ::

            import torch
            from textsiam.losses import CoSENTLoss

            loss_fn = CoSENTLoss(scale=1.0)
            u = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
            v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # cosines 1 and 0
            loss_fn(u, v, torch.tensor([0.2, 0.9]))  # wrong order: log(1 + e^(1 - 0)) ~= 1.3133
    """

    label_kind = "float"
    min_batch_size = 2  # ranks the pairs of a batch against each other

    def __init__(self, scale: float = 20.0, similarity: str = "cosine") -> None:
        super().__init__()
        self.scale = float(scale)
        self.similarity = check_similarity_name(similarity)

    def forward(self, emb_a: Tensor, emb_b: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        emb_b = check_pair(emb_a, emb_b, type(self).__name__)
        y = check_labels(labels, emb_a.shape[0], type(self).__name__)  # (B,)
        s = pairwise_similarity(emb_a, emb_b, self.similarity)  # (B,)
        if s.dtype in (torch.float16, torch.bfloat16):
            s = s.float()
        s = s * self.scale
        diff = s.unsqueeze(0) - s.unsqueeze(1)  # (B, B): [i, j] = s_j - s_i
        should_rank_higher = y.unsqueeze(1) > y.unsqueeze(0)  # (B, B): y_i > y_j
        diff = diff.masked_fill(~should_rank_higher, float("-inf"))  # (B, B)
        logits = torch.cat([diff.new_zeros(1), diff.reshape(-1)])  # (1 + B*B,), the 0 is the "1 +"
        return torch.logsumexp(logits, dim=0)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, similarity={self.similarity!r}"
