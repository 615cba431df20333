"""From loaded pairs to the training examples a loss needs (label checks, label transforms, example formats).

Source data are pairs ``(text_a, text_b, label)`` whose label is one of three *raw kinds*:

* ``"float"``: graded similarity scores (STS-B 0-5, SICK 1-5);
* ``"binary"``: 0/1 (MRPC, Quora, SICK-E);
* ``"class"``: integer class ids with more than two values (e.g. SICK-E ``label3``).

Each loss expects a label kind (:data:`textsiam.losses.LOSS_LABEL_KIND`). :func:`resolve_label_transform`
decides how to get from one to the other (``auto`` picks the sensible default, e.g. ``scale`` for CoSENT on
STS-B) and :func:`check_label_compatibility` explains what to change when that is impossible, *before* any
model is loaded. :func:`build_examples` then produces the training :class:`datasets.Dataset`:

============================  ===========================================  ==============
loss label kind               examples                                     labels
============================  ===========================================  ==============
float, binary (pair losses)   (text_a, text_b)                             float
class, loss=softmax           (text_a, text_b)                             long
triplet                       (text_a, text_b, text_c) from clusters       none
anchor_positive (mnrl)        label-1 pairs (+ text_c hard negative)       none
anchor_positive (simcse)      unique single sentences                      none
class (batch_*_triplet)       unique sentences, cluster id                 long
teacher (mse)                 unique sentences                             teacher vector
============================  ===========================================  ==============
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np

from textsiam.training import pairs as pair_utils

if TYPE_CHECKING:
    from textsiam.training.config import TrainConfig

logger = logging.getLogger(__name__)

#: Losses that ignore the labels of the source pairs.
LABEL_FREE_LOSSES: frozenset[str] = frozenset({"simcse", "mse"})


@dataclass
class TrainExamples:
    """The training examples and how the collator should treat them.

    Attributes:
        dataset: columns ``text_a`` [, ``text_b``] [, ``text_c``] [, ``label``].
        label_dtype: for :class:`~textsiam.training.collator.SiameseDataCollator` (``float``, ``long``,
            ``vector`` or ``None``).
        description: one line for logs and the model card (e.g. ``"5749 pairs, labels scaled to [0, 1]"``).
        label_transform: the transform that was applied.
        n_source_pairs: pairs the examples were built from.
        num_labels: class count (softmax only).
    """

    dataset: datasets.Dataset
    label_dtype: str | None
    description: str
    label_transform: str = "none"
    n_source_pairs: int = 0
    num_labels: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- label kinds
def raw_label_kind(labels: Any) -> str:
    """``"binary"`` if every label is 0 or 1, ``"class"`` for other non-negative integers, else ``"float"``.

    Integer labels with more than two values may also be ordinal scores (e.g. 0-5 ratings); losses for graded
    scores accept them as such (see :func:`resolve_label_transform`).
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


def resolve_label_transform(config: TrainConfig, raw_kind: str | None) -> tuple[str, str | None]:
    """``(transform, problem)``: the transform to apply to labels of ``raw_kind`` for ``config.loss``.

    ``problem`` is an error message (naming the fix) when no transform makes the labels usable, else ``None``.
    With an unknown ``raw_kind`` (a data file not yet loaded) the requested transform is returned unchecked.
    """
    loss, kind, requested = config.loss, config.label_kind, config.label_transform
    if loss in LABEL_FREE_LOSSES:
        return "none", None
    if raw_kind is None:
        return requested, None
    fix_binarize = (
        "set label_transform: binarize and binarize_threshold: <score> (e.g. 4.0 on STS-B: scores >= 4 become 1)"
    )
    needs_binary = kind in ("binary", "triplet", "anchor_positive") or (kind == "class" and loss != "softmax")
    if requested == "auto":
        if config.binarize_threshold is not None and raw_kind in ("float", "class"):
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
            f"loss {loss!r} needs {what}, but the labels are {_describe(raw_kind)}: {fix_binarize}, "
            "or choose a loss for graded scores (cosent, cosine_similarity)"
        )
    if loss == "softmax" and raw_kind == "float":
        return transform, f"loss 'softmax' needs integer class labels, but the labels are graded scores: {fix_binarize}"
    return transform, None


def _describe(raw_kind: str) -> str:
    return {"float": "graded similarity scores", "binary": "0/1", "class": "multi-class ids"}[raw_kind]


def check_label_compatibility(config: TrainConfig, task: str | None, where: str, labels: Any = None) -> list[str]:
    """Problems (possibly none) with training ``config.loss`` on data of ``task`` (or on ``labels`` if given)."""
    from textsiam.losses import LOSSES

    if config.loss not in LOSSES:
        return []
    if labels is not None:
        try:
            raw = raw_label_kind(labels)
        except ValueError as err:
            return [f"{where}: {err}"]
    elif config.label_column != "label":
        return []  # another column: known only once loaded
    else:
        raw = task_label_kind(task)
    _, problem = resolve_label_transform(config, raw)
    return [f"{where} ({config.train_dataset}): {problem}"] if problem else []


# ---------------------------------------------------------------------------------------------- transforms
def transform_labels(
    labels: Any, transform: str, score_range: tuple[float, float] | None = None, threshold: float | None = None
) -> np.ndarray:
    """Apply ``none`` / ``scale`` (min-max by ``score_range``, or the observed range) / ``binarize``."""
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


def subsample(ds: datasets.Dataset, n: int | None, seed: int) -> datasets.Dataset:
    """A seeded random subset of ``n`` rows (kept in their original order); ``ds`` itself if ``n`` is None or larger."""
    if n is None or n >= len(ds):
        return ds
    idx = np.sort(np.random.default_rng(seed).choice(len(ds), size=n, replace=False))
    return ds.select(idx.tolist())


# ---------------------------------------------------------------------------------------------- examples
def build_examples(
    config: TrainConfig,
    source: datasets.Dataset,
    score_range: tuple[float, float] | None = None,
    model: Any = None,
    teacher: Any = None,
) -> TrainExamples:
    """Turn loaded source pairs into the examples for ``config.loss``.

    Args:
        config: the (validated) training config.
        source: pairs with ``text_a``, ``text_b`` and ``label`` (``config.label_column`` renamed by the loader).
        score_range: range of graded scores for ``scale`` (default: observed min / max).
        model: the start model, for ``hard_negatives``.
        teacher: the teacher model, for ``loss=mse``.

    Raises:
        ValueError: the labels do not suit the loss (same messages as :meth:`TrainConfig.validate`).
    """
    loss, kind = config.loss, config.label_kind
    a, b = list(source["text_a"]), list(source["text_b"])
    n = len(a)
    if n == 0:
        raise ValueError("no training pairs")

    if loss == "simcse":
        texts = list(dict.fromkeys(t for t in a + b if t.strip()))
        ds = datasets.Dataset.from_dict({"text_a": texts})
        return TrainExamples(ds, None, f"{len(texts)} unique sentences (SimCSE, unlabelled)", n_source_pairs=n)
    if loss == "mse":
        if teacher is None:
            raise ValueError("loss=mse needs a teacher model")
        texts = list(dict.fromkeys(t for t in a + b if t.strip()))
        target = np.asarray(teacher.encode(texts, batch_size=config.eval_batch_size), dtype=np.float32)
        ds = datasets.Dataset.from_dict({"text_a": texts, "label": target.tolist()})
        desc = f"{len(texts)} unique sentences with teacher embeddings (dim {target.shape[1]})"
        return TrainExamples(ds, "vector", desc, n_source_pairs=n)

    if "label" not in source.column_names:
        raise ValueError(f"the training data has no 'label' column; columns: {source.column_names}")
    raw_labels = source["label"]
    transform, problem = resolve_label_transform(config, raw_label_kind(raw_labels))
    if problem:
        raise ValueError(problem)
    y = transform_labels(raw_labels, transform, score_range, config.binarize_threshold)
    note = {
        "none": "labels as given",
        "scale": "labels scaled to [0, 1]",
        "binarize": f"labels binarised at >= {config.binarize_threshold}",
    }[transform]

    if kind in ("float", "binary") or loss == "softmax":
        if config.pos_neg_ratio is not None:
            if not np.isin(y, (0, 1)).all():
                raise ValueError("pos_neg_ratio needs 0/1 labels")
            a, b, yl = pair_utils.make_pos_neg_pairs(a, b, y.astype(int).tolist(), config.pos_neg_ratio, config.seed)
            y = np.asarray(yl)
            note += f", resampled to pos:neg = {config.pos_neg_ratio:g}"
        if loss == "softmax":
            labels = y.astype(np.int64)
            num_labels = max(2, int(labels.max()) + 1)
            ds = datasets.Dataset.from_dict({"text_a": a, "text_b": b, "label": labels.tolist()})
            return TrainExamples(
                ds, "long", f"{len(a)} pairs, {num_labels} classes ({note})", transform, n, num_labels=num_labels
            )
        ds = datasets.Dataset.from_dict({"text_a": a, "text_b": b, "label": y.astype(np.float64).tolist()})
        return TrainExamples(ds, "float", f"{len(a)} pairs ({note})", transform, n)

    y01 = y.astype(np.int64).tolist()
    if kind == "class":  # batch-mining triplet losses: single sentences with cluster ids
        clusters = pair_utils.duplicate_clusters(a, b, y01)
        ds = datasets.Dataset.from_dict({"text_a": list(clusters), "label": list(clusters.values())})
        n_multi = int(np.sum(np.bincount(list(clusters.values())) >= 2))
        desc = f"{len(clusters)} sentences in {len(set(clusters.values()))} duplicate clusters ({n_multi} with >= 2)"
        return TrainExamples(ds, "long", f"{desc} ({note})", transform, n)

    mined: dict[str, list[str]] | None = None
    if config.hard_negatives:
        if model is None:
            raise ValueError("hard_negatives needs the start model")
        clusters = pair_utils.duplicate_clusters(a, b, y01)
        anchors = [t for t, label in zip(a, y01, strict=True) if label == 1]
        mined = pair_utils.mine_hard_negatives(
            model, anchors, list(clusters), clusters=clusters, k=1, batch_size=config.eval_batch_size
        )
    if kind == "triplet":
        anchors, positives, negatives = pair_utils.triplets_from_clusters(a, b, y01, config.seed, mined)
        ds = datasets.Dataset.from_dict({"text_a": anchors, "text_b": positives, "text_c": negatives})
        how = "mined hard negatives" if mined else "random negatives from other clusters"
        return TrainExamples(ds, None, f"{len(anchors)} triplets ({how}; {note})", transform, n)
    # anchor_positive: MultipleNegativesRankingLoss
    anchors, positives = pair_utils.positive_pairs(a, b, y01)
    if not anchors:
        raise ValueError(f"no positive pairs for loss {loss!r} ({note})")
    cols: dict[str, list[str]] = {"text_a": anchors, "text_b": positives}
    desc = f"{len(anchors)} (anchor, positive) pairs"
    if mined is not None:
        keep = [i for i, t in enumerate(anchors) if mined.get(t)]
        cols = {
            "text_a": [anchors[i] for i in keep],
            "text_b": [positives[i] for i in keep],
            "text_c": [mined[anchors[i]][0] for i in keep],
        }
        desc = f"{len(keep)} (anchor, positive, hard negative) triplets"
    return TrainExamples(datasets.Dataset.from_dict(cols), None, f"{desc} ({note})", transform, n)
