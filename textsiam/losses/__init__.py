"""Training losses for siamese sentence encoders, and for cross-encoders.

Every loss is a small :class:`torch.nn.Module` that works on **embeddings** (never on the model),
so any encoder can be trained with any loss; a cross-encoder's loss works on the **logits** of its head
(:mod:`textsiam.losses.cross_encoder`). Call signatures (all return a scalar tensor):

=========================  ==========================================================  ===============
registry key               forward                                                     label kind
=========================  ==========================================================  ===============
contrastive                (emb_a, emb_b, labels)                                      binary
online_contrastive         (emb_a, emb_b, labels)                                      binary
triplet                    (anchor, positive, negative)                                triplet
batch_all_triplet          (embeddings, labels)                                        class
batch_hard_triplet         (embeddings, labels)                                        class
batch_semi_hard_triplet    (embeddings, labels)                                        class
mnrl                       (emb_a, emb_b, labels=None, negatives=None)                 anchor_positive
simcse                     (emb_a, emb_b, labels=None)  -- two dropout passes          anchor_positive
cosent                     (emb_a, emb_b, labels)                                      float
cosine_similarity          (emb_a, emb_b, labels)                                      float
softmax                    (emb_a, emb_b, labels)  -- owns a trainable head            class
mse                        (emb_a, emb_b=None, labels=teacher_embeddings)              teacher
binary_cross_entropy       (logits, labels)  -- a cross-encoder's                      float
cross_entropy              (logits, labels)  -- a cross-encoder's, one logit a class   class
cross_encoder_mse          (logits, labels)  -- a cross-encoder's                      float
=========================  ==========================================================  ===============

Label kinds (:data:`LOSS_LABEL_KIND`), for validating a dataset before training:

* ``"float"``: pairs with a graded similarity score.
* ``"binary"``: pairs labelled 0 / 1.
* ``"triplet"``: (anchor, positive, negative) texts, no labels.
* ``"anchor_positive"``: (anchor, positive) texts, no labels (optionally hard negatives for
  ``mnrl``; ``simcse`` takes single sentences that the trainer encodes twice, flagged by its
  ``single_sentence = True`` class attribute).
* ``"class"``: integer class labels (single sentences for the batch-mining triplet losses, pairs
  for ``softmax``).
* ``"teacher"``: teacher embeddings as labels.

Each class declares what it needs as class attributes of :class:`~textsiam.losses.base.SiameseLoss`:
``label_kind``, ``batch_mode`` (how the trainer feeds it), ``in_batch_negatives``, ``min_batch_size``,
``label_free``, ``needs_teacher``, ``accepts_hard_negatives``, ``has_classifier_head`` and ``model_type``
(``siamese`` or ``cross_encoder``: the model it trains). The trainer, the collator and the config checks read those;
none of them knows a loss by its name. A new loss is one file plus one line in :data:`LOSSES`.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from textsiam.losses.base import BATCH_MODES, LABEL_KINDS, MODEL_TYPES, SiameseLoss
from textsiam.losses.batch_triplet import BatchAllTripletLoss, BatchHardTripletLoss, BatchSemiHardTripletLoss
from textsiam.losses.common import DISTANCES
from textsiam.losses.contrastive import ContrastiveLoss
from textsiam.losses.cosent import CoSENTLoss
from textsiam.losses.cosine_similarity import CosineSimilarityLoss
from textsiam.losses.cross_encoder import BinaryCrossEntropyLoss, CrossEncoderMSELoss, CrossEntropyLoss
from textsiam.losses.mnrl import MultipleNegativesRankingLoss
from textsiam.losses.mse import MSELoss
from textsiam.losses.online_contrastive import OnlineContrastiveLoss
from textsiam.losses.simcse import SimCSELoss
from textsiam.losses.softmax import SoftmaxLoss
from textsiam.losses.triplet import TripletLoss

LOSSES: dict[str, type[SiameseLoss]] = {
    "contrastive": ContrastiveLoss,
    "online_contrastive": OnlineContrastiveLoss,
    "triplet": TripletLoss,
    "batch_all_triplet": BatchAllTripletLoss,
    "batch_hard_triplet": BatchHardTripletLoss,
    "batch_semi_hard_triplet": BatchSemiHardTripletLoss,
    "mnrl": MultipleNegativesRankingLoss,
    "simcse": SimCSELoss,
    "cosent": CoSENTLoss,
    "cosine_similarity": CosineSimilarityLoss,
    "softmax": SoftmaxLoss,
    "mse": MSELoss,
    "binary_cross_entropy": BinaryCrossEntropyLoss,
    "cross_entropy": CrossEntropyLoss,
    "cross_encoder_mse": CrossEncoderMSELoss,
}

LOSS_LABEL_KIND: dict[str, str] = {name: cls.label_kind for name, cls in LOSSES.items()}


def losses_for(model_type: str) -> list[str]:
    """The registry names of the losses that train a ``model_type`` model (``siamese`` or ``cross_encoder``).

    Example:
        >>> losses_for("cross_encoder")
        ['binary_cross_entropy', 'cross_entropy', 'cross_encoder_mse']
    """
    return [name for name, cls in LOSSES.items() if cls.model_type == model_type]


def get_loss(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate the loss registered under ``name`` with ``kwargs``.

    Example:
        >>> get_loss("mnrl", scale=20.0)
        MultipleNegativesRankingLoss(scale=20.0, similarity='cosine', symmetric=False)
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name](**kwargs)


__all__ = [
    "BATCH_MODES",
    "DISTANCES",
    "LABEL_KINDS",
    "LOSSES",
    "LOSS_LABEL_KIND",
    "MODEL_TYPES",
    "BinaryCrossEntropyLoss",
    "BatchAllTripletLoss",
    "BatchHardTripletLoss",
    "BatchSemiHardTripletLoss",
    "CoSENTLoss",
    "ContrastiveLoss",
    "CosineSimilarityLoss",
    "CrossEncoderMSELoss",
    "CrossEntropyLoss",
    "MSELoss",
    "MultipleNegativesRankingLoss",
    "OnlineContrastiveLoss",
    "SiameseLoss",
    "SimCSELoss",
    "SoftmaxLoss",
    "TripletLoss",
    "get_loss",
    "losses_for",
]
