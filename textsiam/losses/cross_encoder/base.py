"""What the cross-encoder losses share: the :class:`CrossEncoderLoss` base (its class attributes tell the trainer and
the config checks that it trains a cross-encoder), the activations a loss may put on the logits, and the checks of
logits and labels."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from textsiam.losses.base import SiameseLoss
from textsiam.losses.common import check_labels, check_tensor

#: Activations a cross-encoder loss may apply to the logits before its formula (sentence-transformers' losses take
#: a module, ``activation_fn=nn.Identity()`` by default; a name here, so that a recipe can set it).
ACTIVATIONS: dict[str, type[nn.Module]] = {"identity": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class CrossEncoderLoss(SiameseLoss):
    """Base of the losses that train a :class:`~textsiam.CrossEncoder`: ``forward(logits, labels) -> scalar``.

    The trainer runs the cross-encoder on the tokenised pairs ``[CLS] a [SEP] b [SEP]`` of a batch and hands the loss
    the logits of its head, ``(B, num_labels)``, with autograd; the loss never sees the model, so it is built without
    one (unlike sentence-transformers' cross-encoder losses, which take the model as their first argument).
    """

    model_type = "cross_encoder"
    batch_mode = "logits"
    #: The model's head must have exactly one output (``num_labels=1``): the loss reads one logit per pair.
    #: ``False``: one logit per class (``num_labels`` = the number of classes, see ``has_classifier_head``).
    single_logit: ClassVar[bool] = True


def check_activation_name(name: object, loss: str) -> str:
    """``name`` if it is a key of :data:`ACTIVATIONS`, else ``ValueError`` listing them."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{loss}: unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return name


def one_logit_per_pair(logits: Tensor, labels: Tensor | None, loss: str) -> tuple[Tensor, Tensor]:
    """``(logits, labels)`` as two ``(B,)`` float tensors, checked: one logit and one label per pair."""
    check_tensor(logits, f"{loss}: logits")
    if logits.dim() == 2 and logits.shape[1] != 1:
        raise ValueError(
            f"{loss} needs one logit per pair (a cross-encoder with num_labels=1), got logits of shape "
            f"{tuple(logits.shape)}"
        )
    if logits.dim() not in (1, 2):
        raise ValueError(f"{loss} expects logits of shape (B,) or (B, 1), got {tuple(logits.shape)}")
    x = logits.reshape(-1)  # (B,)
    y = check_labels(labels, x.shape[0], loss, per="pair")
    return x, y.to(x.dtype) if x.is_floating_point() else y.float()


def check_unit_interval(labels: Tensor, loss: str) -> None:
    """``ValueError`` unless every target lies in ``[0, 1]`` (a probability)."""
    if bool(((labels < 0) | (labels > 1) | torch.isnan(labels)).any()):
        bad = labels[(labels < 0) | (labels > 1) | torch.isnan(labels)][:3].tolist()
        raise ValueError(
            f"{loss} targets must lie in [0, 1] (0/1 labels, or graded scores scaled to [0, 1]), got e.g. {bad}"
        )
