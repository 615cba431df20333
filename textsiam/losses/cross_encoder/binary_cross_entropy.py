"""Binary cross-entropy on a cross-encoder's logit (sentence-transformers' ``BinaryCrossEntropyLoss``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.cross_encoder.base import (
    ACTIVATIONS,
    CrossEncoderLoss,
    check_activation_name,
    check_unit_interval,
    one_logit_per_pair,
)


class BinaryCrossEntropyLoss(CrossEncoderLoss):
    r"""Binary cross-entropy between the sigmoid of a pair's logit and its target in ``[0, 1]``.

    .. math::

        z_i = f(\text{logit}_i), \qquad
        L = -\frac{1}{B} \sum_{i=1}^{B} \big[\, w_+\, y_i \log \sigma(z_i) + (1 - y_i) \log (1 - \sigma(z_i)) \,\big]

    with ``f`` the ``activation`` (identity by default), ``σ`` the sigmoid and ``w_+`` the ``pos_weight`` (1 by
    default): ``torch.nn.BCEWithLogitsLoss``, as sentence-transformers' ``BinaryCrossEntropyLoss`` computes it. The
    cross-encoder learns a high logit for positive (similar) pairs and a low one for negative pairs; its ``predict``
    (a sigmoid on the logit) then gives the probability. The default loss of a cross-encoder for 0/1 labels and for
    graded scores (scaled to ``[0, 1]`` by the dataset's range).

    Args:
        activation: applied to the logit before the formula: ``identity`` (default), ``sigmoid`` or ``tanh``
            (sentence-transformers' ``activation_fn``).
        pos_weight: weight ``w_+ > 0`` of the positive term (``BCEWithLogitsLoss(pos_weight=...)``), e.g. the
            ratio negatives : positives for unbalanced data; ``None`` = 1.

    References:
        * sentence-transformers' cross-encoder loss ``BinaryCrossEntropyLoss``,
          https://sbert.net/docs/package_reference/cross_encoder/losses.html
        * Nogueira & Cho (2019), "Passage Re-ranking with BERT", https://arxiv.org/abs/1901.04085

    Requirements:
        1. A cross-encoder with one output (``num_labels=1``).
        2. Targets in ``[0, 1]``: 0/1 labels, or graded scores scaled to ``[0, 1]`` (``label_transform: auto``).

    Inputs:
        +--------------------------------+-----------------------------------+-------------------------------+
        | Inputs                         | Labels                            | Number of model output labels |
        +================================+===================================+===============================+
        | (text_a, text_b) pairs         | 1 if positive, 0 if negative      | 1                             |
        +--------------------------------+-----------------------------------+-------------------------------+
        | (text_a, text_b) pairs         | a score in [0, 1]                 | 1                             |
        +--------------------------------+-----------------------------------+-------------------------------+

    Forward:
        ``forward(logits: (B, 1) or (B,), labels: (B,) float in [0, 1]) -> scalar``.

    Example:
        ::

            import torch
            from textsiam.losses import BinaryCrossEntropyLoss

            loss_fn = BinaryCrossEntropyLoss()
            loss_fn(torch.tensor([[0.0], [2.0]]), torch.tensor([1.0, 0.0]))  # (log 2 + log(1 + e^2)) / 2 = 1.41
    """

    label_kind = "float"

    def __init__(self, activation: str = "identity", pos_weight: float | None = None) -> None:
        super().__init__()
        self.activation = check_activation_name(activation, type(self).__name__)
        if pos_weight is not None and (
            isinstance(pos_weight, bool) or not isinstance(pos_weight, (int, float)) or not pos_weight > 0
        ):
            raise ValueError(f"BinaryCrossEntropyLoss: pos_weight must be a number > 0 or None, got {pos_weight!r}")
        self.pos_weight = None if pos_weight is None else float(pos_weight)
        self.activation_fn = ACTIVATIONS[self.activation]()

    def forward(self, logits: Tensor, labels: Tensor | None = None) -> Tensor:
        x, y = one_logit_per_pair(logits, labels, type(self).__name__)  # (B,), (B,)
        check_unit_interval(y, type(self).__name__)
        weight = None if self.pos_weight is None else torch.tensor(self.pos_weight, dtype=x.dtype, device=x.device)
        return F.binary_cross_entropy_with_logits(self.activation_fn(x), y, pos_weight=weight)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, pos_weight={self.pos_weight}"
