"""From loaded pairs to the training examples a loss needs (example formats per loss, subsampling).

The label logic (raw label kinds, ``label_transform``, the checks that the labels suit the loss) lives in
:mod:`textsiam.training.labels`; its names are re-exported here for older imports. :func:`build_examples`
produces the training :class:`datasets.Dataset`:

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

Tables in the other formats (:mod:`textsiam.data.tables`) are used as they are where the loss takes them:
``(anchor, positive)`` pairs are all positives (in-batch negatives, triplets with random negatives from other
pairs, or clusters of one pair each); ``(anchor, positive, negative)`` triplets feed ``triplet`` and ``mnrl``
(the negative as a hard negative) directly; ``(text, label)`` rows feed the batch triplet losses directly.

What decides the format is the loss's class attributes (``batch_mode``, ``needs_teacher``, ``label_kind``,
``has_classifier_head``), never its name. The config is any object with the fields of :class:`ExampleSettings`
(a :class:`~textsiam.training.config.TrainConfig` has them); this module does not import the config module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import datasets
import numpy as np

from textsiam.losses import LOSSES
from textsiam.training import pairs as pair_utils
from textsiam.training.labels import (
    LabelSettings,
    check_label_compatibility,
    raw_label_kind,
    resolve_label_transform,
    task_label_kind,
    transform_labels,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ExampleSettings",
    "TrainExamples",
    "build_examples",
    "check_label_compatibility",
    "raw_label_kind",
    "resolve_label_transform",
    "subsample",
    "task_label_kind",
    "transform_labels",
]


class ExampleSettings(LabelSettings, Protocol):
    """What :func:`build_examples` reads from a training config, besides the :class:`LabelSettings`."""

    #: 0/1 pair losses: resample to this positives:negatives ratio.
    pos_neg_ratio: float | None
    #: Mine each anchor's negative with the start model.
    hard_negatives: bool
    #: Seed of the resampling and of the triplet negatives.
    seed: int
    #: Texts per forward pass when encoding (teacher targets, hard-negative mining).
    eval_batch_size: int


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


def subsample(ds: datasets.Dataset, n: int | None, seed: int) -> datasets.Dataset:
    """A seeded random subset of ``n`` rows (kept in their original order); ``ds`` itself if ``n`` is None or larger."""
    if n is None or n >= len(ds):
        return ds
    idx = np.sort(np.random.default_rng(seed).choice(len(ds), size=n, replace=False))
    return ds.select(idx.tolist())


# ---------------------------------------------------------------------------------------------- examples
def build_examples(
    config: ExampleSettings,
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
        teacher: the teacher model, for a loss that ``needs_teacher`` (``mse``).

    Raises:
        ValueError: the labels do not suit the loss (the messages of
            :meth:`TrainConfig.validate <textsiam.training.config.TrainConfig.validate>`).
    """
    from textsiam.data.tables import table_format

    loss = config.loss
    spec = LOSSES[loss]
    kind = spec.label_kind
    n = len(source)
    if n == 0:
        raise ValueError("no training pairs")
    fmt = table_format(source)
    all_texts = [t for c in ("text_a", "text_b", "text_c") if c in source.column_names for t in source[c]]

    if spec.batch_mode == "two_views":
        texts = list(dict.fromkeys(t for t in all_texts if t.strip()))
        ds = datasets.Dataset.from_dict({"text_a": texts})
        return TrainExamples(ds, None, f"{len(texts)} unique sentences ({loss}, unlabelled)", n_source_pairs=n)
    if spec.needs_teacher:
        if teacher is None:
            raise ValueError(f"loss={loss} needs a teacher model")
        texts = list(dict.fromkeys(t for t in all_texts if t.strip()))
        target = np.asarray(teacher.encode(texts, batch_size=config.eval_batch_size), dtype=np.float32)
        ds = datasets.Dataset.from_dict({"text_a": texts, "label": target.tolist()})
        desc = f"{len(texts)} unique sentences with teacher embeddings (dim {target.shape[1]})"
        return TrainExamples(ds, "vector", desc, n_source_pairs=n)

    if fmt in ("triplet", "single"):
        return _examples_as_given(source, fmt, loss, kind)
    a, b = list(source["text_a"]), list(source["text_b"])
    if fmt == "anchor_positive":  # no labels: every pair is a positive
        source = source.add_column("label", [1] * n)
    if "label" not in source.column_names:
        raise ValueError(f"the training data has no 'label' column; columns: {source.column_names}")
    raw_labels = source["label"]
    transform, problem = resolve_label_transform(config, raw_label_kind(raw_labels))
    if problem:
        raise ValueError(problem)
    y = transform_labels(raw_labels, transform, score_range, config.binarize_threshold)
    note = (
        "(anchor, positive) pairs, no labels"
        if fmt == "anchor_positive"
        else {
            "none": "labels as given",
            "scale": "labels scaled to [0, 1]",
            "binarize": f"labels binarised at >= {config.binarize_threshold}",
        }[transform]
    )

    if kind in ("float", "binary") or spec.has_classifier_head:
        if config.pos_neg_ratio is not None:
            if not np.isin(y, (0, 1)).all():
                raise ValueError("pos_neg_ratio needs 0/1 labels")
            a, b, yl = pair_utils.make_pos_neg_pairs(a, b, y.astype(int).tolist(), config.pos_neg_ratio, config.seed)
            y = np.asarray(yl)
            note += f", resampled to pos:neg = {config.pos_neg_ratio:g}"
        if spec.has_classifier_head:
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


def _examples_as_given(source: datasets.Dataset, fmt: str, loss: str, kind: str) -> TrainExamples:
    """Triplets for ``triplet`` / ``mnrl`` and (text, class) rows for the batch triplet losses, used as they are."""
    n = len(source)
    if fmt == "triplet" and kind in ("triplet", "anchor_positive"):
        ds = source.select_columns(["text_a", "text_b", "text_c"])
        what = "triplets" if kind == "triplet" else "(anchor, positive, hard negative) triplets"
        return TrainExamples(ds, None, f"{n} {what} (as given)", n_source_pairs=n)
    if fmt == "single" and kind == "class":
        labels = np.asarray(source["label"], dtype=np.float64)
        if not ((labels == np.round(labels)).all() and (labels >= 0).all()):
            raise ValueError(f"loss {loss!r} needs integer class labels for single texts, got graded values")
        ds = datasets.Dataset.from_dict({"text_a": list(source["text_a"]), "label": labels.astype(np.int64).tolist()})
        classes = np.bincount(labels.astype(np.int64))
        desc = f"{n} texts in {int((classes > 0).sum())} classes ({int((classes >= 2).sum())} with >= 2)"
        return TrainExamples(ds, "long", desc, n_source_pairs=n)
    raise ValueError(f"loss {loss!r} cannot learn from {fmt} data")  # excluded by the format check before loading
