"""Training losses for siamese sentence encoders.

Every loss is a small :class:`torch.nn.Module` that works on **embeddings** (never on the model),
so any encoder can be trained with any loss. Call signatures (all return a scalar tensor):

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

Each class also carries its kind as the class attribute ``label_kind``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from textsiam.losses._common import DISTANCES
from textsiam.losses.batch_triplet import BatchAllTripletLoss, BatchHardTripletLoss, BatchSemiHardTripletLoss
from textsiam.losses.contrastive import ContrastiveLoss
from textsiam.losses.cosent import CoSENTLoss
from textsiam.losses.cosine_similarity import CosineSimilarityLoss
from textsiam.losses.mnrl import MultipleNegativesRankingLoss
from textsiam.losses.mse import MSELoss
from textsiam.losses.online_contrastive import OnlineContrastiveLoss
from textsiam.losses.simcse import SimCSELoss
from textsiam.losses.softmax import SoftmaxLoss
from textsiam.losses.triplet import TripletLoss

LABEL_KINDS: tuple[str, ...] = ("float", "binary", "triplet", "anchor_positive", "class", "teacher")

LOSSES: dict[str, type[nn.Module]] = {
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
}

LOSS_LABEL_KIND: dict[str, str] = {name: cls.label_kind for name, cls in LOSSES.items()}  # type: ignore[attr-defined]


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
    "DISTANCES",
    "LABEL_KINDS",
    "LOSSES",
    "LOSS_LABEL_KIND",
    "BatchAllTripletLoss",
    "BatchHardTripletLoss",
    "BatchSemiHardTripletLoss",
    "CoSENTLoss",
    "ContrastiveLoss",
    "CosineSimilarityLoss",
    "MSELoss",
    "MultipleNegativesRankingLoss",
    "OnlineContrastiveLoss",
    "SimCSELoss",
    "SoftmaxLoss",
    "TripletLoss",
    "get_loss",
]
