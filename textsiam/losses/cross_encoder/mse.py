"""Mean squared error on a cross-encoder's (activated) logit (sentence-transformers' cross-encoder ``MSELoss``)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.cross_encoder.base import (
    ACTIVATIONS,
    CrossEncoderLoss,
    check_activation_name,
    one_logit_per_pair,
)


class CrossEncoderMSELoss(CrossEncoderLoss):
    r"""Mean squared error between a pair's (activated) logit and its target score.

    .. math::

        L = \frac{1}{B} \sum_{i=1}^{B} \big( f(\text{logit}_i) - y_i \big)^2

    with ``f`` the ``activation``: ``identity`` by default, as in sentence-transformers' cross-encoder ``MSELoss``
    (``torch.nn.MSELoss`` on ``activation_fn(logits)``, ``activation_fn=nn.Identity()``), so by default the *raw
    logit* regresses onto the label, not the sigmoid score that ``predict`` returns. With targets in ``[0, 1]`` (graded
    scores scaled by the dataset's range, or a teacher cross-encoder's sigmoid scores), ``activation="sigmoid"`` makes
    the regressed value the score ``predict`` gives. For distillation from a teacher cross-encoder, give the teacher's
    scores as labels (``label_transform: none`` keeps them as they are).

    Args:
        activation: applied to the logit before the squared error: ``identity`` (default, as sentence-transformers),
            ``sigmoid`` or ``tanh``.

    References:
        * sentence-transformers' cross-encoder loss ``MSELoss``,
          https://sbert.net/docs/package_reference/cross_encoder/losses.html
        * Hofstätter et al. (2020), "Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge
          Distillation", https://arxiv.org/abs/2010.02666

    Requirements:
        1. A cross-encoder with one output (``num_labels=1``).
        2. A target score per pair (gold scores, or a teacher's).

    Inputs:
        +--------------------------------+------------------+-------------------------------+
        | Inputs                         | Labels           | Number of model output labels |
        +================================+==================+===============================+
        | (text_a, text_b) pairs         | a score          | 1                             |
        +--------------------------------+------------------+-------------------------------+

    Forward:
        ``forward(logits: (B, 1) or (B,), labels: (B,) float) -> scalar``.

    Example:
        ::

            import torch
            from textsiam.losses import CrossEncoderMSELoss

            loss_fn = CrossEncoderMSELoss()
            loss_fn(torch.tensor([[0.5], [2.0]]), torch.tensor([1.0, 0.0]))  # (0.25 + 4) / 2 = 2.125
    """

    label_kind = "float"

    def __init__(self, activation: str = "identity") -> None:
        super().__init__()
        self.activation = check_activation_name(activation, type(self).__name__)
        self.activation_fn = ACTIVATIONS[self.activation]()

    def forward(self, logits: Tensor, labels: Tensor | None = None) -> Tensor:
        x, y = one_logit_per_pair(logits, labels, type(self).__name__)  # (B,), (B,)
        return F.mse_loss(self.activation_fn(x), y.detach())

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"
