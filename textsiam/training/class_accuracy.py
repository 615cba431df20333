"""The dev metric and the evaluation record of a cross-encoder with a head of three or more classes (SICK-E, NLI).

textsiam's pair tasks (:mod:`textsiam.evaluation`) score a pair with *one* number against 0/1 or graded gold labels;
a head of ``C >= 3`` classes (entailment / neutral / contradiction) gives no such number without naming one label
as the positive one. What it is trained for is the class: the predicted class of a pair is the argmax of its
logits, and the metrics are the accuracy and the macro F1 against the class labels (×100), as
sentence-transformers' ``CrossEncoderClassificationEvaluator`` reports them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from textsiam.evaluation.bootstrap import MIN_CI_ITEMS, bootstrap_cis
from textsiam.evaluation.cross_encoding import CROSS_ENCODER, is_cross_encoder, num_labels_of

logger = logging.getLogger(__name__)

#: The primary metric: the share of pairs whose argmax class is the gold class, ×100.
CLASS_ACCURACY = f"{CROSS_ENCODER}_class_accuracy"
#: The mean over the classes of each class's F1, ×100.
MACRO_F1 = f"{CROSS_ENCODER}_macro_f1"
#: The ``task`` of the records.
TASK = "pair_classes"

__all__ = ["CLASS_ACCURACY", "MACRO_F1", "ClassAccuracyMetric", "class_accuracy_record", "needs_class_accuracy"]


def needs_class_accuracy(model: Any) -> bool:
    """Whether ``model`` is a cross-encoder with a head of three or more labels (evaluated by its argmax class)."""
    return is_cross_encoder(model) and (num_labels_of(model) or 1) >= 3


def class_labels(table: Any, what: str) -> np.ndarray:
    """The ``label`` column of a pair table as class ids, ``ValueError`` naming ``what`` unless they are classes."""
    if "label" not in table.column_names:
        raise ValueError(f"{what}: a head of several classes is evaluated against class labels; the data has none")
    y = np.asarray(table["label"], dtype=np.float64)
    if not (np.isfinite(y).all() and (y == np.round(y)).all() and (y >= 0).all()):
        raise ValueError(f"{what}: a head of several classes needs class ids (0, 1, 2, ...) as labels")
    return y.astype(np.int64)


def predicted_classes(model: Any, table: Any, batch_size: int) -> np.ndarray:
    """The argmax class of each pair ``(text_a, text_b)`` of ``table`` (the model's activation keeps the order)."""
    pairs = list(zip(table["text_a"], table["text_b"], strict=True))
    logits = np.asarray(model.predict(pairs, batch_size=batch_size, show_progress_bar=False), dtype=np.float64)
    return logits.reshape(len(pairs), -1).argmax(axis=1)


def accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    return 100.0 * float(np.mean(pred == gold))


def macro_f1(pred: np.ndarray, gold: np.ndarray) -> float:
    """Mean F1 over the classes present in ``gold`` or ``pred`` (×100)."""
    scores = []
    for c in np.union1d(gold, pred):
        tp = float(np.sum((pred == c) & (gold == c)))
        denominator = float(np.sum(pred == c) + np.sum(gold == c))
        scores.append(2 * tp / denominator if denominator else 0.0)
    return 100.0 * float(np.mean(scores))


class ClassAccuracyMetric:
    """Callable ``model -> accuracy ×100`` of the argmax class on dev pairs with class labels (picks checkpoints).

    Args:
        table: the canonical dev table (``text_a``, ``text_b``, ``label`` = class id).
        batch_size: pairs per forward pass.
        name: the dev data's name, for messages.
    """

    greater_is_better = True
    metric_name = CLASS_ACCURACY

    def __init__(self, table: Any, batch_size: int = 64, name: str = "dev") -> None:
        self.table = table
        self.gold = class_labels(table, name)
        self.batch_size = batch_size
        self.name = name

    def __call__(self, model: Any) -> float:
        pred = predicted_classes(model, self.table, self.batch_size)
        n_labels = num_labels_of(model) or 1
        if int(self.gold.max()) >= n_labels:
            raise ValueError(f"{self.name}: class {int(self.gold.max())} has no output in a head of {n_labels}")
        return accuracy(pred, self.gold)

    def __repr__(self) -> str:
        return f"ClassAccuracyMetric(name={self.name!r}, n_pairs={len(self.gold)})"


def class_accuracy_record(
    model: Any, table: Any, name: str, split: str, *, batch_size: int = 64, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The evaluation record (the keys of :meth:`PairEvaluator.evaluate <textsiam.evaluation.base.PairEvaluator>`) of
    a multi-class cross-encoder on a table of class labels: accuracy and macro F1 of the argmax class, with
    percentile bootstrap CIs over pairs (none for fewer than ``MIN_CI_ITEMS`` pairs or ``n_resamples=0``)."""
    start = time.perf_counter()
    gold = class_labels(table, f"{name}/{split}")
    pred = predicted_classes(model, table, batch_size)
    fns = {CLASS_ACCURACY: accuracy, MACRO_F1: macro_f1}
    metrics = {key: fn(pred, gold) for key, fn in fns.items()}
    ci: dict[str, Any] = {}
    if n_resamples > 0 and len(gold) >= MIN_CI_ITEMS:
        found = bootstrap_cis(fns, pred, gold, n_resamples=n_resamples, seed=seed)
        ci = {key: {"low": r.low, "high": r.high} for key, r in found.items()}
    n_labels = num_labels_of(model)
    record: dict[str, Any] = {
        "dataset": name,
        "split": split,
        "task": TASK,
        "model": str(getattr(model, "name_or_path", None) or type(model).__name__),
        "n_pairs": len(gold),
        "similarities": [CROSS_ENCODER],
        "primary_similarity": CROSS_ENCODER,
        "primary_metric": CLASS_ACCURACY,
        CROSS_ENCODER: {"num_labels": n_labels, "score": f"argmax class of {n_labels} logits"},
        "primary_value": metrics[CLASS_ACCURACY],
        "metrics": metrics,
        "ci": ci,
        "main_metrics": list(fns),
        "n_resamples": n_resamples,
        "seed": seed,
        "confidence": 0.95,
        "wall_time_s": round(time.perf_counter() - start, 3),
        "notes": [
            f"a cross-encoder head of {n_labels} classes: the predicted class of a pair is the argmax of its logits; "
            "accuracy and macro F1 against the class labels"
        ],
    }
    logger.info("%s/%s: %s = %.2f", name, split, CLASS_ACCURACY, metrics[CLASS_ACCURACY])
    return record
