"""What every loss declares about itself, so that the trainer, the collator and the config checks never need to
know a loss by its name (the way :attr:`Encoder.padding_invariant <textsiam.encoders.Encoder.padding_invariant>`
drives batching).

A new loss is one file with a :class:`SiameseLoss` subclass that sets these class attributes, plus one line in
:data:`textsiam.losses.LOSSES`.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from torch import nn

#: Label kinds (see :mod:`textsiam.losses`): what the training data must provide.
LABEL_KINDS: tuple[str, ...] = ("float", "binary", "triplet", "anchor_positive", "class", "teacher")
#: How a loss consumes a batch (see :attr:`SiameseLoss.batch_mode`).
BATCH_MODES: tuple[str, ...] = ("pair", "triplet", "in_batch", "two_views", "single", "teacher", "logits")
#: The models a loss trains (see :attr:`SiameseLoss.model_type`): a twin tower, or a cross-encoder.
MODEL_TYPES: tuple[str, ...] = ("siamese", "cross_encoder")


class SiameseLoss(nn.Module):
    """Base of textsiam's losses: an ``nn.Module`` over embeddings (or, for a cross-encoder, over the logits of its
    head), plus what it needs from the data and trainer."""

    #: The model it trains: ``siamese`` (a twin tower: the loss sees embeddings) or ``cross_encoder`` (a
    #: :class:`~textsiam.CrossEncoder`: the loss sees the logits of each pair, see
    #: :class:`~textsiam.losses.cross_encoder.CrossEncoderLoss`). A loss given to the other kind of model is refused
    #: before any model is loaded.
    model_type: ClassVar[str] = "siamese"

    #: The labels it takes: ``float`` (graded scores), ``binary`` (0 / 1), ``triplet`` (a, p, n texts),
    #: ``anchor_positive`` (pairs of positives), ``class`` (integer classes) or ``teacher`` (teacher embeddings).
    label_kind: ClassVar[str] = "float"
    #: How the trainer feeds it: ``pair`` -> ``loss(emb_a, emb_b, labels)``; ``triplet`` -> ``loss(a, p, n)``;
    #: ``in_batch`` -> ``loss(emb_a, emb_b, negatives=emb_c)`` (``emb_c`` only with hard negatives);
    #: ``two_views`` -> the same texts embedded twice in train mode (two dropout masks), ``loss(h, h_plus)``;
    #: ``single`` -> single sentences with class labels, ``loss(emb_a, labels)``;
    #: ``teacher`` -> ``loss(emb_a, labels=teacher_embeddings)``;
    #: ``logits`` -> a cross-encoder's logits of each pair, ``loss(logits, labels)``.
    batch_mode: ClassVar[str] = "pair"
    #: The other examples of a batch serve as negatives: a text twice in one batch is a false negative, so the
    #: sampler keeps duplicates apart by default (``no_duplicates_in_batch``).
    in_batch_negatives: ClassVar[bool] = False
    #: The smallest batch it can learn from (losses that compare examples within a batch need two).
    min_batch_size: ClassVar[int] = 1
    #: Takes no labels from the data (the texts themselves, or a teacher's embeddings, are the target).
    label_free: ClassVar[bool] = False
    #: Its targets are a teacher model's embeddings of the training texts (``teacher_model`` in the config).
    needs_teacher: ClassVar[bool] = False
    #: Accepts a third text per example as a hard negative (``hard_negatives`` in the config).
    accepts_hard_negatives: ClassVar[bool] = False
    #: Classifies pairs into classes with a head: for a twin tower the loss owns it, a trainable head built from the
    #: embedding size and the number of classes (``embedding_dim``, ``num_labels`` constructor arguments); for a
    #: cross-encoder it is the model's head, with one output per class. The labels are class ids of pairs.
    has_classifier_head: ClassVar[bool] = False

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this loss: each one kept as an attribute of the same name with a
        plain value (a number, a string, a bool, ``None``). A training run records them as ``loss_kwargs``."""
        out: dict[str, Any] = {}
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            value = getattr(self, name, inspect.Parameter.empty)
            if value is None or isinstance(value, (bool, int, float, str)):
                out[name] = value
        return out
