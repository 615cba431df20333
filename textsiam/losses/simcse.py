"""Unsupervised SimCSE loss (Gao, Yao & Chen, 2021)."""

from __future__ import annotations

from torch import Tensor

from textsiam.losses.mnrl import MultipleNegativesRankingLoss


class SimCSELoss(MultipleNegativesRankingLoss):
    r"""Unsupervised SimCSE: InfoNCE between two dropout views of the same sentences.

    The same batch of sentences is encoded twice with dropout active, giving :math:`h_i` and
    :math:`h_i^+`; each sentence must pick out its own second view among all second views:

    .. math::

        L = -\frac{1}{B} \sum_{i} \log \frac{e^{\cos(h_i, h_i^+) / \tau}}{\sum_{j} e^{\cos(h_i, h_j^+) / \tau}}

    This is :class:`MultipleNegativesRankingLoss` with ``scale = 1 / temperature``. The loss does not
    run the encoder: the trainer must encode the batch a second time (model in train mode, so
    dropout masks differ) and pass both results. ``single_sentence = True`` flags this.

    Args:
        temperature: softmax temperature :math:`\tau` (paper: ``0.05``).
        similarity: a :mod:`textsiam.model.scoring` name, ``"cosine"`` as in the paper.

    References:
        * Gao, Yao & Chen (2021), "SimCSE: Simple Contrastive Learning of Sentence Embeddings", EMNLP,
          https://arxiv.org/abs/2104.08821

    Requirements:
        1. Single sentences (no labels), encoded twice with different dropout masks.

    Inputs:
        +------------------+--------+
        | Inputs           | Labels |
        +==================+========+
        | single sentences | none   |
        +------------------+--------+

    Forward:
        ``forward(emb_a: (B, D), emb_b: (B, D), labels=None) -> scalar`` where ``emb_a`` / ``emb_b`` are
        the two passes over the same sentences. ``labels`` is ignored.

    Example:
        ::

            import torch
            from textsiam.losses import SimCSELoss

            loss_fn = SimCSELoss(temperature=1.0)
            h = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
            loss_fn(h, h)  # log(1 + e^-1) ~= 0.3133; with model(x) twice in train mode in practice
    """

    label_kind = "anchor_positive"
    batch_mode = "two_views"
    label_free = True
    accepts_hard_negatives = False
    single_sentence = True  # 0.1 name of batch_mode == "two_views"

    def __init__(self, temperature: float = 0.05, similarity: str = "cosine") -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        super().__init__(scale=1.0 / temperature, similarity=similarity, symmetric=False)
        self.temperature = float(temperature)

    def forward(self, emb_a: Tensor, emb_b: Tensor | None = None, labels: Tensor | None = None) -> Tensor:  # type: ignore[override]
        if emb_b is None:
            raise ValueError("SimCSELoss needs the second dropout pass: call loss(first_pass, second_pass)")
        return super().forward(emb_a, emb_b)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, similarity={self.similarity!r}"
