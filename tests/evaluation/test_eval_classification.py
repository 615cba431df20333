from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from textsiam.evaluation import classification as clf
from textsiam.evaluation import find_best_threshold, pair_classification_metrics
from textsiam.evaluation.classification import candidate_thresholds, classification_metrics, ranking_metrics


def test_candidate_thresholds_are_midpoints_between_distinct_scores():
    t = candidate_thresholds([0.1, 0.5, 0.1, 0.9])
    assert t[1:-1] == pytest.approx([0.3, 0.7])
    assert t[0] < 0.1 and t[-1] > 0.9 and len(t) == 4


def test_hand_computed_threshold():
    assert find_best_threshold([0.1, 0.4, 0.6, 0.9], [0, 0, 1, 1]) == pytest.approx(0.5)
    scores, labels = [0.1, 0.4, 0.5, 0.6, 0.9], [0, 0, 1, 1, 1]
    assert find_best_threshold(scores, labels, "accuracy") == pytest.approx(0.45)
    # F1: ">= 0.4" gives tp=3, fp=1 -> 6/7, beating ">= 0.6" (tp=2, fn=1 -> 4/5) and "all" (6/8)
    assert find_best_threshold([0.1, 0.4, 0.45, 0.6, 0.9], [0, 1, 0, 1, 1], "f1") < 0.4


@pytest.mark.parametrize("labels, majority", [([1, 1, 1, 0, 0], 60.0), ([0, 0, 0, 1, 1], 60.0), ([1, 0], 50.0)])
def test_ties_do_not_inflate_all_equal_scores(labels, majority):
    scores = np.full(len(labels), 0.7)
    t = find_best_threshold(scores, labels, "accuracy")
    assert classification_metrics(scores, labels, t)["accuracy"] == pytest.approx(majority)


def test_ties_do_not_inflate_partial_ties():
    # A tie-unaware sort could split the four tied 0.5 scores and reach 80%; the honest best is 60%.
    scores = np.array([0.5, 0.5, 0.5, 0.5, 0.9])
    labels = np.array([1, 0, 1, 0, 1])
    t = find_best_threshold(scores, labels, "accuracy")
    assert classification_metrics(scores, labels, t)["accuracy"] == pytest.approx(60.0)
    pred = scores >= t
    assert len(set(pred[:4])) == 1  # tied items get the same prediction


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_threshold_is_optimal_against_sklearn_brute_force(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 200)
    scores = np.round(labels * 0.3 + rng.normal(scale=0.4, size=200), 1)  # rounded: lots of ties
    cands = np.unique(scores)
    every_split = [-np.inf, *cands, np.inf]  # positive iff score >= c: all achievable tie-respecting splits
    for metric, fn in (("accuracy", accuracy_score), ("f1", lambda y, p: f1_score(y, p, zero_division=0))):
        best = max(fn(labels, (scores >= c).astype(int)) for c in every_split)
        t = find_best_threshold(scores, labels, metric)
        assert fn(labels, (scores >= t).astype(int)) == pytest.approx(best)


def test_sweep_counts_match_sklearn_at_every_candidate():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 50)
    scores = np.round(rng.normal(size=50), 1)
    sweep = clf.threshold_sweep(scores, labels)
    for i, t in enumerate(sweep["threshold"]):
        pred = (scores >= t).astype(int)
        assert sweep["tp"][i] == np.sum((pred == 1) & (labels == 1))
        assert sweep["fp"][i] == np.sum((pred == 1) & (labels == 0))
        assert (sweep["tp"][i] + sweep["tn"][i]) / 50 == pytest.approx(accuracy_score(labels, pred))


def test_classification_metrics_match_sklearn():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 100)
    scores = labels + rng.normal(size=100)
    pred = (scores >= 0.4).astype(int)
    m = classification_metrics(scores, labels, 0.4)
    assert m["accuracy"] == pytest.approx(100 * accuracy_score(labels, pred))
    assert m["f1"] == pytest.approx(100 * f1_score(labels, pred))
    assert m["precision"] == pytest.approx(100 * precision_score(labels, pred))
    assert m["recall"] == pytest.approx(100 * recall_score(labels, pred))
    assert m["mcc"] == pytest.approx(100 * matthews_corrcoef(labels, pred))
    r = ranking_metrics(scores, labels)
    assert r["ap"] == pytest.approx(100 * average_precision_score(labels, scores))
    assert r["roc_auc"] == pytest.approx(100 * roc_auc_score(labels, scores))
    assert all(math.isnan(v) for v in ranking_metrics(scores, np.ones(100, dtype=int)).values())


def test_labels_must_be_binary():
    with pytest.raises(ValueError, match="binary"):
        find_best_threshold([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="length mismatch"):
        classification_metrics([0.1, 0.2], [0, 1, 1], 0.5)


def _dev_test(seed=5):
    rng = np.random.default_rng(seed)
    dev_y = rng.integers(0, 2, 200)
    dev_s = dev_y + rng.normal(scale=0.8, size=200)
    test_y = rng.integers(0, 2, 300)
    test_s = test_y + 0.5 + rng.normal(scale=0.8, size=300)  # shifted: the dev threshold is not test-optimal
    return dev_s, dev_y, test_s, test_y


def test_dev_threshold_is_applied_unchanged_to_test():
    dev_s, dev_y, test_s, test_y = _dev_test()
    res = pair_classification_metrics(dev_s, dev_y, test_s, test_y)
    t_acc = find_best_threshold(dev_s, dev_y, "accuracy")
    t_f1 = find_best_threshold(dev_s, dev_y, "f1")
    assert res["thresholds"] == {"accuracy": t_acc, "f1": t_f1}
    assert res["metrics"]["accuracy"] == pytest.approx(100 * accuracy_score(test_y, test_s >= t_acc))
    assert res["metrics"]["f1"] == pytest.approx(100 * f1_score(test_y, test_s >= t_f1))
    assert res["metrics"]["acc_thr_mcc"] == pytest.approx(100 * matthews_corrcoef(test_y, test_s >= t_acc))
    # the test-optimal threshold would score higher: proof that test did not choose it
    oracle = find_best_threshold(test_s, test_y, "accuracy")
    assert 100 * accuracy_score(test_y, test_s >= oracle) > res["metrics"]["accuracy"]


def test_test_labels_cannot_influence_threshold():
    dev_s, dev_y, test_s, test_y = _dev_test()
    rng = np.random.default_rng(0)
    base = pair_classification_metrics(dev_s, dev_y, test_s, test_y)["thresholds"]
    for other in (1 - test_y, rng.permutation(test_y), np.zeros_like(test_y), np.ones_like(test_y)):
        assert pair_classification_metrics(dev_s, dev_y, test_s, other)["thresholds"] == base
    # while changing dev labels does move it
    assert pair_classification_metrics(dev_s, 1 - dev_y, test_s, test_y)["thresholds"] != base


def test_find_best_threshold_only_sees_dev_arrays(monkeypatch):
    dev_s, dev_y, test_s, test_y = _dev_test()
    seen = []
    real = clf.find_best_threshold

    def spy(scores, labels, metric="accuracy"):
        seen.append((np.asarray(scores).copy(), np.asarray(labels).copy()))
        return real(scores, labels, metric)

    monkeypatch.setattr(clf, "find_best_threshold", spy)
    pair_classification_metrics(dev_s, dev_y, test_s, test_y)
    assert len(seen) == 2
    for s, y in seen:
        np.testing.assert_array_equal(s, dev_s)
        np.testing.assert_array_equal(y, dev_y)
