"""labels: raw label kinds, label transforms and the label checks, on any object with the label settings."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from textsiam.training import examples
from textsiam.training.labels import (
    check_label_compatibility,
    raw_label_kind,
    resolve_label_transform,
    task_label_kind,
    transform_labels,
)


def settings(loss: str, **kwargs: object) -> SimpleNamespace:
    """The :class:`LabelSettings` of a config, without a TrainConfig."""
    values = dict(loss=loss, label_transform="auto", binarize_threshold=None, label_column="label", train_dataset="d")
    return SimpleNamespace(**{**values, **kwargs})


def test_raw_label_kinds():
    assert raw_label_kind([0, 1, 1]) == "binary"
    assert raw_label_kind([0, 1, 2]) == "class"
    assert raw_label_kind([0.5, 4.2]) == "float"
    assert raw_label_kind([-1, 2]) == "float"
    with pytest.raises(ValueError, match="no labels"):
        raw_label_kind([])
    with pytest.raises(ValueError, match="NaN"):
        raw_label_kind([0.5, float("nan")])
    assert task_label_kind("sts") == "float" and task_label_kind("classification") == "binary"
    assert task_label_kind(None) is None


@pytest.mark.parametrize(
    ("loss", "kwargs", "raw", "transform", "problem"),
    [
        ("cosent", {}, "float", "scale", None),
        ("cosent", {}, "class", "scale", None),  # integer ratings are ordinal scores
        ("cosent", {}, "binary", "none", None),
        ("contrastive", {}, "float", "none", "binarize_threshold"),
        ("contrastive", {"binarize_threshold": 4.0}, "float", "binarize", None),
        ("contrastive", {"label_transform": "scale"}, "float", "scale", "needs binary labels"),
        ("cosent", {"label_transform": "scale"}, "binary", "scale", "needs graded scores"),
        ("triplet", {}, "float", "none", "duplicate (label 1) pairs"),
        ("mnrl", {}, "binary", "none", None),
        ("softmax", {}, "class", "none", None),
        ("softmax", {}, "float", "none", "integer class labels"),
        ("batch_hard_triplet", {}, "class", "none", "0/1 labels"),
        ("simcse", {}, "float", "none", None),  # label-free
        ("mse", {"label_transform": "scale"}, "binary", "none", None),
        ("contrastive", {"label_transform": "binarize"}, None, "binarize", None),  # data file: unchecked
    ],
)
def test_resolve_label_transform(loss, kwargs, raw, transform, problem):
    got, message = resolve_label_transform(settings(loss, **kwargs), raw)
    assert got == transform
    if problem is None:
        assert message is None
    else:
        assert message is not None and problem in message


def test_check_label_compatibility():
    assert check_label_compatibility(settings("cosent"), "sts", "train_dataset") == []
    (problem,) = check_label_compatibility(settings("contrastive"), "sts", "train_dataset")
    assert problem.startswith("train_dataset (d): loss 'contrastive' needs 0/1 labels")
    assert check_label_compatibility(settings("contrastive"), "sts", "train_dataset", labels=[0, 1]) == []
    assert check_label_compatibility(settings("contrastive", label_column="label3"), "sts", "x") == []  # not loaded
    assert check_label_compatibility(settings("cosnet"), "sts", "x") == []  # reported by the loss check
    assert check_label_compatibility(settings("cosent"), None, "x", labels=[float("inf")]) == [
        "x: labels contain NaN or infinite values"
    ]


def test_transform_labels():
    np.testing.assert_allclose(transform_labels([0, 2.5, 5], "scale", (0, 5)), [0, 0.5, 1])
    np.testing.assert_allclose(transform_labels([1, 3], "scale"), [0, 1])
    assert transform_labels([3.9, 4.0], "binarize", threshold=4.0).tolist() == [0, 1]
    assert transform_labels([0.5], "none").tolist() == [0.5]
    with pytest.raises(ValueError, match="threshold"):
        transform_labels([1.0], "binarize")
    with pytest.raises(ValueError, match="empty score range"):
        transform_labels([1.0, 1.0], "scale")
    with pytest.raises(ValueError, match="unknown label transform"):
        transform_labels([1.0], "log")


def test_old_imports_from_examples_still_work():
    for name in ("raw_label_kind", "task_label_kind", "resolve_label_transform", "check_label_compatibility"):
        assert getattr(examples, name) is globals()[name]
    assert examples.transform_labels is transform_labels
