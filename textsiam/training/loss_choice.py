"""Which loss suits a table: the default when none is given, and the check that a given one fits the data's format.

The format of a table (:mod:`textsiam.data.tables`) says what a loss can learn from it:

===================  =====================================================================================
format               losses (by :attr:`~textsiam.losses.SiameseLoss.label_kind`); the default first
===================  =====================================================================================
``pair``             graded scores: **cosent**, cosine_similarity; 0/1: **online_contrastive**, contrastive,
                     mnrl (the label-1 pairs), triplet and batch triplets (duplicate clusters); classes of a
                     classification benchmark: **softmax**; any: simcse, mse (the texts)
``anchor_positive``  **mnrl** (in-batch negatives), triplet (random negatives from other pairs), batch
                     triplets (each pair a cluster), simcse, mse
``triplet``          **mnrl** (the negative as a hard negative), triplet, simcse, mse
``single``           **batch_hard_triplet** (and the other batch triplets), simcse, mse
===================  =====================================================================================

Integer labels with more than two values are read as graded scores (ratings) unless the data is a classification
benchmark (SICK-E's ``label3``), because ordinal ratings are the more common case in pair files.

A cross-encoder (``model_type: cross_encoder``) learns from labelled pairs only: **binary_cross_entropy** for 0/1
labels and graded scores (scaled to [0, 1]), **cross_entropy** for the classes of a classification benchmark (or
NLI's premise / hypothesis pairs) and for a model whose head has several labels, as sentence-transformers'
``CrossEncoderTrainer`` chooses by ``num_labels``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from textsiam.data.tables import FORMAT_TEXT
from textsiam.losses import LOSSES, losses_for

#: Label kinds each format can feed, besides the label-free losses (``two_views``, ``teacher``) that take any.
FORMAT_LABEL_KINDS: dict[str, tuple[str, ...]] = {
    "pair": ("float", "binary", "class", "triplet", "anchor_positive"),
    "anchor_positive": ("anchor_positive", "triplet", "class"),
    "triplet": ("anchor_positive", "triplet"),
    "single": ("class",),
}


def default_loss(
    kind: str,
    labels: Any = None,
    benchmark_task: str | None = None,
    model_type: str = "siamese",
    num_labels: int | None = None,
) -> tuple[str, str]:
    """``(loss name, reason)``: the loss to use for a table of format ``kind`` when none is given.

    Args:
        kind: the table's format (``pair``, ``anchor_positive``, ``triplet`` or ``single``).
        labels: the table's labels (``pair`` only).
        benchmark_task: ``"sts"`` / ``"classification"`` for a benchmark, else ``None``.
        model_type: the model that trains (``siamese`` or ``cross_encoder``).
        num_labels: a cross-encoder's head outputs, when known (``None``: a head of one output, new or trained);
            a head of several labels trains with ``cross_entropy``, as sentence-transformers' default.
    """
    if model_type == "cross_encoder":
        return _cross_encoder_default(kind, labels, benchmark_task, num_labels)
    if kind == "anchor_positive":
        return "mnrl", "(anchor, positive) pairs: in-batch negatives"
    if kind == "triplet":
        return "mnrl", "(anchor, positive, negative) triplets: in-batch negatives plus the hard negative"
    if kind == "single":
        return "batch_hard_triplet", "single texts with a class: triplets mined within each batch"
    y = np.asarray(labels, dtype=np.float64)
    if (y == 1.0).all():
        return "mnrl", "pairs that are all labelled 1 (positives only): in-batch negatives"
    if np.isin(y, (0.0, 1.0)).all():
        return "online_contrastive", "pairs with 0/1 labels"
    is_int = bool((y == np.round(y)).all() and (y >= 0).all())
    if is_int and benchmark_task == "classification":
        return "softmax", "pairs with class labels"
    return "cosent", "pairs with graded scores"


def _cross_encoder_default(
    kind: str, labels: Any, benchmark_task: str | None, num_labels: int | None
) -> tuple[str, str]:
    if kind != "pair" or labels is None:  # refused by format_problem, which names what a cross-encoder needs
        return "binary_cross_entropy", "a cross-encoder learns from labelled pairs"
    if num_labels is not None and num_labels > 1:  # the model's head decides, whatever the labels
        return "cross_entropy", f"the cross-encoder's head has {num_labels} labels: one output per class"
    y = np.asarray(labels, dtype=np.float64)
    is_int = bool((y == np.round(y)).all() and (y >= 0).all())
    if is_int and benchmark_task == "classification" and not np.isin(y, (0.0, 1.0)).all():
        return "cross_entropy", "pairs with class labels: one output per class"
    if np.isin(y, (0.0, 1.0)).all():
        return "binary_cross_entropy", "pairs with 0/1 labels: one logit, a sigmoid score"
    return "binary_cross_entropy", "pairs with graded scores (scaled to [0, 1]): one logit, a sigmoid score"


def format_problem(loss: str, kind: str, columns: str, where: str) -> str | None:
    """Why ``loss`` cannot learn from a table of format ``kind`` (``None`` when it can).

    The message names the loss, the data and its columns, and the losses that fit (those of the same model type).
    """
    spec = LOSSES[loss]
    if spec.label_free or kind not in FORMAT_LABEL_KINDS or _fits(spec, kind):
        return None
    same_type = losses_for(spec.model_type)
    fits = [name for name in same_type if LOSSES[name].label_free or _fits(LOSSES[name], kind)]
    if not fits:
        return (
            f"{where}: a cross-encoder learns from labelled pairs (text_a, text_b, label: a score, 0/1 or a class), "
            f"but the data holds {FORMAT_TEXT[kind]} (columns {columns}); or name the columns (text_a_column, "
            "text_b_column, label_column)"
        )
    need = {
        "float": "pairs with a score column",
        "binary": "pairs with a 0/1 label column",
        "class": "pairs with class labels" if spec.has_classifier_head else "class labels",
        "triplet": "(anchor, positive) pairs or labelled pairs",
        "anchor_positive": "(anchor, positive) pairs",
    }.get(spec.label_kind, spec.label_kind)
    return (
        f"{where}: loss {loss!r} needs {need}, but the data holds {FORMAT_TEXT[kind]} (columns {columns}); "
        f"losses for this format: {', '.join(fits)}; or name the columns (text_a_column, text_b_column, "
        "text_c_column, label_column)"
    )


def _fits(spec: type, kind: str) -> bool:
    if spec.has_classifier_head:  # a classifier of pairs (softmax): labelled pairs only
        return kind == "pair"
    return spec.label_kind in FORMAT_LABEL_KINDS[kind]


def label_problem(loss: str, labels: Any, where: str) -> str | None:
    """Why 0/1 ``labels`` cannot teach ``loss`` (a pair loss that needs both classes), or ``None``."""
    spec = LOSSES[loss]
    if spec.label_kind != "binary" or labels is None:
        return None
    values = np.unique(np.asarray(labels, dtype=np.float64))
    if len(values) == 1 and values[0] in (0.0, 1.0):
        return (
            f"{where}: loss {loss!r} learns from both duplicates (1) and non-duplicates (0), but every label is "
            f"{values[0]:g}; for positive pairs only, use mnrl"
        )
    return None
