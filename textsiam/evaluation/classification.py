"""Pair classification (MRPC, Quora, SICK-E binary): dev-chosen thresholds applied unchanged to test.

Protocol:

* A pair is predicted positive iff ``score >= threshold`` (higher score = more similar for every
  similarity function in :mod:`textsiam.model.scoring`).
* :func:`find_best_threshold` sees **only dev scores and dev labels**. Candidate thresholds lie
  strictly between consecutive *distinct* dev scores (their midpoints), plus one below the
  minimum (everything positive) and one above the maximum (everything negative). Tied scores
  therefore always receive the same prediction, so ties cannot inflate the best figure: with
  all-equal scores the best accuracy is the majority-class rate.
* :func:`classification_metrics` then measures accuracy, F1, precision, recall and MCC at that
  fixed threshold on test (scikit-learn), and :func:`ranking_metrics` adds threshold-free
  average precision and ROC-AUC. All values are ×100.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from textsiam.evaluation.metrics import as_binary_labels, as_scores, check_same_length

logger = logging.getLogger(__name__)

ThresholdMetric = Literal["accuracy", "f1"]


def candidate_thresholds(scores: Any) -> np.ndarray:
    """All thresholds that give a distinct split of ``scores``, ascending.

    For distinct sorted values ``u_0 < ... < u_{m-1}`` these are: a value below ``u_0``
    (all positive), the midpoints ``(u_{j-1} + u_j) / 2`` (strictly between neighbours), and a
    value above ``u_{m-1}`` (all negative): ``m + 1`` thresholds. Candidate ``j`` predicts
    positive exactly the items whose score is ``>= u_j``.

    The extremes are ``u_0 - max(1, |u_0|)`` and ``u_{m-1} + max(1, |u_{m-1}|)`` (finite, so
    they serialise to JSON).
    """
    u = np.unique(as_scores(scores))
    if u.size == 0:
        raise ValueError("cannot choose a threshold from zero scores")
    mids = u[:-1] + (u[1:] - u[:-1]) / 2.0
    # Guard against rounding onto the lower neighbour (only possible for adjacent floats).
    mids = np.where(mids > u[:-1], mids, u[1:])
    low = u[0] - max(1.0, abs(u[0]))
    high = u[-1] + max(1.0, abs(u[-1]))
    return np.concatenate(([low], mids, [high]))


def threshold_sweep(scores: Any, labels: Any) -> dict[str, np.ndarray]:
    """Confusion counts at every candidate threshold of :func:`candidate_thresholds`.

    Returns:
        ``{"threshold", "tp", "fp", "fn", "tn"}``, each of length ``m + 1`` (ascending thresholds).
    """
    s = as_scores(scores, "scores")
    y = as_binary_labels(labels, "labels")
    check_same_length(scores=s, labels=y)
    thresholds = candidate_thresholds(s)
    u, inverse = np.unique(s, return_inverse=True)
    pos = np.bincount(inverse, weights=y, minlength=u.size)
    tot = np.bincount(inverse, minlength=u.size).astype(np.float64)
    # Candidate j predicts positive the items with unique-index >= j: suffix sums, then 0 for j = m.
    tp = np.concatenate((np.cumsum(pos[::-1])[::-1], [0.0]))
    pp = np.concatenate((np.cumsum(tot[::-1])[::-1], [0.0]))
    n_pos = float(y.sum())
    n = float(y.size)
    fp = pp - tp
    fn = n_pos - tp
    tn = (n - n_pos) - fp
    return {"threshold": thresholds, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def find_best_threshold(scores: Any, labels: Any, metric: ThresholdMetric = "accuracy") -> float:
    """Threshold maximising ``metric`` on the given (dev) scores and labels.

    Only call this with **dev** data; the returned threshold is then applied unchanged to test
    with :func:`classification_metrics`. Among equally good thresholds the lowest is returned.

    Args:
        scores: ``(N,)`` similarity scores (higher = more similar).
        labels: ``(N,)`` 0/1 labels.
        metric: ``"accuracy"`` or ``"f1"`` (of the positive class).

    Returns:
        The threshold ``t``; predict positive iff ``score >= t``.

    Example:
        >>> find_best_threshold([0.1, 0.4, 0.6, 0.9], [0, 0, 1, 1])
        0.5
    """
    sweep = threshold_sweep(scores, labels)
    tp, fp, fn, tn = sweep["tp"], sweep["fp"], sweep["fn"], sweep["tn"]
    if metric == "accuracy":
        value = (tp + tn) / (tp + fp + fn + tn)
    elif metric == "f1":
        denom = 2 * tp + fp + fn
        value = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    else:
        raise ValueError(f"metric must be 'accuracy' or 'f1', got {metric!r}")
    best = int(np.argmax(value))
    return float(sweep["threshold"][best])


def classification_metrics(scores: Any, labels: Any, threshold: float) -> dict[str, float]:
    """Accuracy, F1, precision, recall and MCC ×100 when predicting ``score >= threshold``.

    Precision (and F1) are 0 when nothing is predicted positive (scikit-learn ``zero_division=0``).

    Returns:
        ``{"accuracy", "f1", "precision", "recall", "mcc"}``.
    """
    s = as_scores(scores, "scores")
    y = as_binary_labels(labels, "labels")
    check_same_length(scores=s, labels=y)
    pred = (s >= float(threshold)).astype(np.int64)
    return predictions_metrics(y, pred)


def predictions_metrics(labels: Any, predictions: Any) -> dict[str, float]:
    """Accuracy, F1, precision, recall and MCC ×100 of 0/1 ``predictions`` against 0/1 ``labels``."""
    y = as_binary_labels(labels, "labels")
    p = as_binary_labels(predictions, "predictions")
    check_same_length(labels=y, predictions=p)
    return {
        "accuracy": 100.0 * float(accuracy_score(y, p)),
        "f1": 100.0 * float(f1_score(y, p, zero_division=0)),
        "precision": 100.0 * float(precision_score(y, p, zero_division=0)),
        "recall": 100.0 * float(recall_score(y, p, zero_division=0)),
        "mcc": 100.0 * float(matthews_corrcoef(y, p)),
    }


def accuracy_metric(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Accuracy ×100 (scikit-learn), ``metric_fn(gold, predictions)`` form for bootstrapping."""
    return 100.0 * float(accuracy_score(labels, predictions))


def f1_metric(labels: np.ndarray, predictions: np.ndarray) -> float:
    """F1 ×100 of the positive class (scikit-learn, ``zero_division=0``), ``metric_fn(gold, predictions)`` form."""
    return 100.0 * float(f1_score(labels, predictions, zero_division=0))


def ranking_metrics(scores: Any, labels: Any) -> dict[str, float]:
    """Threshold-free average precision and ROC-AUC ×100; NaN when only one class is present."""
    s = as_scores(scores, "scores")
    y = as_binary_labels(labels, "labels")
    check_same_length(scores=s, labels=y)
    if y.min() == y.max():
        logger.warning("only one class in labels: AP and ROC-AUC are undefined (NaN)")
        return {"ap": float("nan"), "roc_auc": float("nan")}
    return {
        "ap": 100.0 * float(average_precision_score(y, s)),
        "roc_auc": 100.0 * float(roc_auc_score(y, s)),
    }


def pair_classification_metrics(
    dev_scores: Any,
    dev_labels: Any,
    test_scores: Any,
    test_labels: Any,
) -> dict[str, Any]:
    """The full dev-threshold → test protocol for one similarity function.

    Two thresholds are chosen on dev, one maximising accuracy and one maximising F1; each is
    applied unchanged to the test scores. Test labels are used only to measure.

    Returns:
        ``{"metrics": {...}, "thresholds": {"accuracy": t_acc, "f1": t_f1}}`` where metrics holds
        ``accuracy`` (at ``t_acc``), ``f1`` (at ``t_f1``), ``acc_thr_{accuracy,f1,precision,recall,mcc}``,
        ``f1_thr_{...}``, ``ap`` and ``roc_auc`` (test, ×100).
    """
    t_acc = find_best_threshold(dev_scores, dev_labels, metric="accuracy")
    t_f1 = find_best_threshold(dev_scores, dev_labels, metric="f1")
    at_acc = classification_metrics(test_scores, test_labels, t_acc)
    at_f1 = classification_metrics(test_scores, test_labels, t_f1)
    metrics: dict[str, float] = {"accuracy": at_acc["accuracy"], "f1": at_f1["f1"]}
    metrics.update({f"acc_thr_{k}": v for k, v in at_acc.items()})
    metrics.update({f"f1_thr_{k}": v for k, v in at_f1.items()})
    metrics.update(ranking_metrics(test_scores, test_labels))
    return {"metrics": metrics, "thresholds": {"accuracy": t_acc, "f1": t_f1}}
