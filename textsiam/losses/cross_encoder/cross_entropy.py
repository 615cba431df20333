"""Cross-entropy over a cross-encoder's classes (sentence-transformers' ``CrossEntropyLoss``)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from textsiam.losses.common import check_labels, check_tensor
from textsiam.losses.cross_encoder.base import (
    ACTIVATIONS,
    CrossEncoderLoss,
    check_activation_name,
)


class CrossEntropyLoss(CrossEncoderLoss):
    r"""Cross-entropy between the softmax over a pair's ``C`` logits and its class.

    .. math::

        L = -\frac{1}{B} \sum_{i=1}^{B} \log \frac{\exp f(z_{i, y_i})}{\sum_{c=1}^{C} \exp f(z_{i, c})}

    with ``z_i`` the ``C = num_labels`` logits of pair ``i``, ``y_i`` its class id and ``f`` the ``activation``
    (identity by default): ``torch.nn.CrossEntropyLoss``, as sentence-transformers' ``CrossEntropyLoss`` computes it.
    The default loss of a cross-encoder for class labels (SICK-E's three classes, NLI's entailment / neutral /
    contradiction). A cross-encoder with a new head gets one output per class of the training data; a trained head
    must have at least as many outputs as the data has classes.

    Args:
        activation: applied to the logits before the softmax: ``identity`` (default), ``sigmoid`` or ``tanh``
            (sentence-transformers' ``activation_fn``).
        label_smoothing: ``ε`` in ``[0, 1)``: the target puts ``1 - ε`` on the class and ``ε / C`` on every class
            (``torch.nn.CrossEntropyLoss(label_smoothing=...)``); 0 by default.

    References:
        * sentence-transformers' cross-encoder loss ``CrossEntropyLoss``,
          https://sbert.net/docs/package_reference/cross_encoder/losses.html
        * Devlin et al. (2019), "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
          (sentence-pair classification), https://arxiv.org/abs/1810.04805

    Requirements:
        1. A cross-encoder with ``num_labels >= 2``, one output per class.
        2. Integer class ids in ``[0, num_labels)``.

    Inputs:
        +--------------------------------+-------------+-------------------------------+
        | Inputs                         | Labels      | Number of model output labels |
        +================================+=============+===============================+
        | (text_a, text_b) pairs         | class id    | number of classes             |
        +--------------------------------+-------------+-------------------------------+

    Forward:
        ``forward(logits: (B, C), labels: (B,) int) -> scalar``.

    Example:
        ::

            import torch
            from textsiam.losses import CrossEntropyLoss

            loss_fn = CrossEntropyLoss()
            loss_fn(torch.tensor([[1.0, 3.0, 2.0]]), torch.tensor([1]))  # log(e + e^3 + e^2) - 3 = 0.41
    """

    label_kind = "class"
    has_classifier_head = True
    single_logit = False

    def __init__(self, activation: str = "identity", label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.activation = check_activation_name(activation, type(self).__name__)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)):
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be a number in [0, 1), got {label_smoothing!r}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.activation_fn = ACTIVATIONS[self.activation]()

    def forward(self, logits: Tensor, labels: Tensor | None = None) -> Tensor:
        name = type(self).__name__
        check_tensor(logits, f"{name}: logits")
        if logits.dim() != 2 or logits.shape[1] < 2:
            raise ValueError(
                f"{name} needs one logit per class, (B, C) with C >= 2 (a cross-encoder with num_labels >= 2), got "
                f"logits of shape {tuple(logits.shape)}"
            )
        y = check_labels(labels, logits.shape[0], name, per="pair")  # (B,)
        if y.is_floating_point():
            if not bool((y == y.round()).all()):
                raise ValueError(f"{name} expects integer class labels, got {y[:3].tolist()}")
            y = y.long()
        n_classes = logits.shape[1]
        if bool(((y < 0) | (y >= n_classes)).any()):
            raise ValueError(f"{name} labels must lie in [0, {n_classes}) (one logit per class), got {y.tolist()}")
        return F.cross_entropy(self.activation_fn(logits), y, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, label_smoothing={self.label_smoothing}"
