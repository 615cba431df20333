"""Label kinds and label transforms: whether the labels of the training data suit a loss, and how to make them fit.

Source data are pairs ``(text_a, text_b, label)`` whose label is one of three *raw kinds*:

* ``"float"``: graded similarity scores (STS-B 0-5, SICK 1-5);
* ``"binary"``: 0/1 (MRPC, Quora, SICK-E);
* ``"class"``: integer class ids with more than two values (e.g. SICK-E ``label3``).

Each loss declares the label kind it expects (:attr:`SiameseLoss.label_kind <textsiam.losses.base.SiameseLoss>`).
:func:`resolve_label_transform` decides how to get from one to the other (``auto`` picks the sensible default,
e.g. ``scale`` for CoSENT on STS-B) and :func:`check_label_compatibility` explains what to change when that is
impossible, *before* any model is loaded. :func:`transform_labels` applies the transform.

The functions take any object with the fields of :class:`LabelSettings` (a
:class:`~textsiam.training.config.TrainConfig` has them), so that neither the config nor the example builder
needs to import the other.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from textsiam.losses import LOSSES

logger = logging.getLogger(__name__)

#: Values of ``label_transform``: ``auto`` picks one by the loss and the labels (see :func:`resolve_label_transform`).
LABEL_TRANSFORMS: tuple[str, ...] = ("auto", "none", "scale", "binarize")

_FIX_BINARIZE = (
    "set label_transform: binarize and binarize_threshold: <score> (e.g. 4.0 on STS-B: scores >= 4 become 1)"
)


class LabelSettings(Protocol):
    """What the label logic reads from a training config."""

    #: Loss registry name (a key of :data:`textsiam.losses.LOSSES`).
    loss: str
    #: One of :data:`LABEL_TRANSFORMS`.
    label_transform: str
    #: ``binarize``: scores >= this become 1.
    binarize_threshold: float | None
    #: Column of the data files holding the label (``"label"`` unless a benchmark's other column is used).
    label_column: str
    #: Name of the training data set (for messages).
    train_dataset: str


def raw_label_kind(labels: Any) -> str:
    """``"binary"`` if every label is 0 or 1, ``"class"`` for other non-negative integers, else ``"float"``.

    Integer labels with more than two values may also be ordinal scores (e.g. 0-5 ratings); losses for graded
    scores accept them as such (see :func:`resolve_label_transform`).

    Raises:
        ValueError: no labels, or labels that are NaN or infinite.
    """
    y = np.asarray(labels, dtype=np.float64)
    if y.size == 0:
        raise ValueError("no labels")
    if not np.isfinite(y).all():
        raise ValueError("labels contain NaN or infinite values")
    if np.isin(y, (0.0, 1.0)).all():
        return "binary"
    if (y == np.round(y)).all() and (y >= 0).all():
        return "class"
    return "float"


def task_label_kind(task: str | None) -> str | None:
    """Raw label kind of a benchmark task: ``sts`` -> ``float``, ``classification`` -> ``binary``."""
    return {"sts": "float", "classification": "binary"}.get(task or "")


def resolve_label_transform(settings: LabelSettings, raw_kind: str | None) -> tuple[str, str | None]:
    """``(transform, problem)``: the transform to apply to labels of ``raw_kind`` for ``settings.loss``.

    ``problem`` is an error message (naming the fix) when no transform makes the labels usable, else ``None``.
    With an unknown ``raw_kind`` (a data file not yet loaded) the requested transform is returned unchecked.
    ``settings.loss`` must be a registered loss.
    """
    loss, requested = settings.loss, settings.label_transform
    spec = LOSSES[loss]
    kind = spec.label_kind
    if spec.label_free:
        return "none", None
    if raw_kind is None:
        return requested, None
    needs_binary = kind in ("binary", "triplet", "anchor_positive") or (
        kind == "class" and not spec.has_classifier_head
    )
    if requested == "auto":
        if settings.binarize_threshold is not None and raw_kind in ("float", "class"):
            transform = "binarize"
        elif kind == "float" and raw_kind in ("float", "class"):  # integer ratings are ordinal scores
            transform = "scale"
        else:
            transform = "none"
    else:
        transform = requested
    if transform == "binarize":
        return transform, None
    if transform == "scale":
        if raw_kind == "binary":
            return transform, "label_transform=scale needs graded scores, but the labels are 0/1"
        if kind != "float":
            return transform, f"label_transform=scale makes graded targets, but loss {loss!r} needs {kind} labels"
        return transform, None
    # transform == "none": the raw labels must already fit
    if needs_binary and raw_kind != "binary":
        what = {"binary": "0/1 labels", "triplet": "duplicate (label 1) pairs to build triplets from"}.get(
            kind, "0/1 labels (label 1 = duplicate / paraphrase)"
        )
        return transform, (
            f"loss {loss!r} needs {what}, but the labels are {_describe(raw_kind)}: {_FIX_BINARIZE}, "
            "or choose a loss for graded scores (cosent, cosine_similarity)"
        )
    if spec.has_classifier_head and raw_kind == "float":
        return transform, f"loss {loss!r} needs integer class labels, but the labels are graded scores: {_FIX_BINARIZE}"
    return transform, None


def _describe(raw_kind: str) -> str:
    return {"float": "graded similarity scores", "binary": "0/1", "class": "multi-class ids"}[raw_kind]


def check_label_compatibility(settings: LabelSettings, task: str | None, where: str, labels: Any = None) -> list[str]:
    """Problems (possibly none) with training ``settings.loss`` on data of ``task`` (or on ``labels`` if given).

    Args:
        settings: the training config (see :class:`LabelSettings`).
        task: ``"sts"`` / ``"classification"`` for a benchmark, ``None`` when unknown (a data file).
        where: the config field the data come from, for the messages (e.g. ``"train_dataset"``).
        labels: the loaded labels, when known; they take precedence over ``task``.
    """
    if settings.loss not in LOSSES:
        return []
    if labels is not None:
        try:
            raw = raw_label_kind(labels)
        except ValueError as err:
            return [f"{where}: {err}"]
    elif settings.label_column != "label":
        return []  # another column: known only once loaded
    else:
        raw = task_label_kind(task)
    _, problem = resolve_label_transform(settings, raw)
    return [f"{where} ({settings.train_dataset}): {problem}"] if problem else []


def transform_labels(
    labels: Any, transform: str, score_range: tuple[float, float] | None = None, threshold: float | None = None
) -> np.ndarray:
    """Apply ``none`` / ``scale`` (min-max by ``score_range``, or the observed range) / ``binarize``.

    Raises:
        ValueError: an unknown transform, an empty score range, or ``binarize`` without a threshold.
    """
    y = np.asarray(labels, dtype=np.float64)
    if transform == "none":
        return y
    if transform == "scale":
        low, high = score_range if score_range is not None else (float(y.min()), float(y.max()))
        if high <= low:
            raise ValueError(f"cannot scale labels: empty score range ({low}, {high})")
        return np.clip((y - low) / (high - low), 0.0, 1.0)
    if transform == "binarize":
        if threshold is None:
            raise ValueError("binarize needs a threshold")
        out = (y >= threshold).astype(np.int64)
        if out.min() == out.max():
            logger.warning("binarize_threshold=%s puts every label in one class (%d)", threshold, out[0])
        return out
    raise ValueError(f"unknown label transform {transform!r}")
