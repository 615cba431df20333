from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from textsiam.evaluation import PairClassificationEvaluator, find_best_threshold
from textsiam.evaluation import classification as clf

from .helpers import HashingEncoder, assert_same, build_fake_data, direct_scores, make_pairs_clf, make_quora


def test_numbers_match_independent_computation(fake_data, encoder):
    data, _ = fake_data
    r = PairClassificationEvaluator.from_dataset("mrpc", n_resamples=0).evaluate(encoder)
    dev, test = data[("mrpc", "dev")], data[("mrpc", "test")]
    dev_s, test_s = direct_scores(encoder, dev), direct_scores(encoder, test)
    t_acc = find_best_threshold(dev_s, dev["label"], "accuracy")
    t_f1 = find_best_threshold(dev_s, dev["label"], "f1")
    assert r["thresholds"]["cosine"]["accuracy"] == pytest.approx(t_acc)
    assert r["metrics"]["cosine_accuracy"] == pytest.approx(100 * accuracy_score(test["label"], test_s >= t_acc))
    assert r["metrics"]["cosine_f1"] == pytest.approx(100 * f1_score(test["label"], test_s >= t_f1))
    assert r["threshold_split"] == "dev" and r["n_dev_pairs"] == len(dev["label"]) and "retrieval" not in r


def test_each_unique_text_encoded_once(fake_data):
    data, log = fake_data
    model = HashingEncoder()
    PairClassificationEvaluator.from_dataset("mrpc", n_resamples=0).evaluate(model)
    assert log == [("mrpc", "test"), ("mrpc", "dev")]
    assert len(model.calls) == 1  # dev + test in one call
    texts = model.calls[0]
    assert len(texts) == len(set(texts))
    expected = set()
    for split in ("test", "dev"):
        expected |= set(data[("mrpc", split)]["text_a"]) | set(data[("mrpc", split)]["text_b"])
    assert set(texts) == expected


def test_threshold_ignores_test_labels(fake_data, encoder, monkeypatch):
    data, _ = fake_data
    n_dev = len(data[("mrpc", "dev")]["label"])
    dev_labels = np.asarray(data[("mrpc", "dev")]["label"])
    seen = []
    real = clf.find_best_threshold

    def spy(scores, labels, metric="accuracy"):
        seen.append((len(scores), np.asarray(labels).copy()))
        return real(scores, labels, metric)

    monkeypatch.setattr(clf, "find_best_threshold", spy)
    base = PairClassificationEvaluator.from_dataset("mrpc", n_resamples=0).evaluate(encoder)
    assert seen and all(n == n_dev and np.array_equal(y, dev_labels) for n, y in seen)

    test = data[("mrpc", "test")]
    rng = np.random.default_rng(0)
    for labels in (1 - np.asarray(test["label"]), rng.permutation(test["label"])):
        flipped = dict(test, label=list(labels))
        r = PairClassificationEvaluator.from_dataset("mrpc", pairs=flipped, n_resamples=0).evaluate(encoder)
        assert r["thresholds"] == base["thresholds"]


def test_without_dev_thresholds_come_from_the_pairs_themselves(encoder, reference, caplog):
    pairs = build_fake_data()[("mrpc", "dev")]
    with caplog.at_level(logging.WARNING):
        r = PairClassificationEvaluator(pairs, name="custom", split="dev", n_resamples=50).evaluate(encoder)
    assert "figures are optimistic" in caplog.text
    # the same record as passing the pairs as their own dev pairs, before the redesign, and a note that says so (#24)
    assert r.pop("notes") == [
        "thresholds chosen on the evaluated pairs themselves (no dev pairs), as sentence-transformers' "
        "BinaryClassificationEvaluator does: the figures are optimistic"
    ]
    assert_same(r, reference["evaluate_dataset"]["custom_clf_same_pairs"])
    r = PairClassificationEvaluator(pairs, n_resamples=0).evaluate(encoder)
    assert r["threshold_split"] == "test" and r["n_dev_pairs"] == len(pairs["label"])


def test_primary_similarity_and_inputs(encoder):
    pairs, dev = make_pairs_clf(80, 21), make_pairs_clf(60, 22)
    evaluator = PairClassificationEvaluator(pairs, dev_pairs=dev, n_resamples=0, similarities=["cosine"])
    r = evaluator.evaluate(HashingEncoder(similarity_fn_name="dot"))
    assert r["similarities"] == ["cosine", "dot"] and r["primary_metric"] == evaluator.primary_metric == "dot_accuracy"
    assert r["main_metrics"][:2] == ["dot_accuracy", "dot_f1"] and r["main_metrics"][-2:] == [
        "cosine_accuracy",
        "cosine_f1",
    ]
    primary = evaluator.primary_inputs(encoder)
    assert primary.threshold == evaluator.evaluate(encoder)["thresholds"]["cosine"]["accuracy"]
    assert set(np.unique(primary.values)) <= {0, 1}
    assert evaluator.primary_fn(primary.gold, primary.values) == evaluator(encoder)["cosine_accuracy"]


def test_retrieval_is_added_for_quora_and_on_request(fake_data, encoder, caplog):
    quora = PairClassificationEvaluator.from_dataset("quora", n_resamples=0).evaluate(encoder)
    assert quora["retrieval"]["n_queries"] > 0 and "cosine_mrr@10" in quora["main_metrics"]
    assert "retrieval" not in PairClassificationEvaluator.from_dataset(
        "quora", retrieval=False, n_resamples=0
    ).evaluate(encoder)
    mine = PairClassificationEvaluator(make_quora(60, 3), retrieval=True, n_resamples=0).evaluate(encoder)
    assert mine["main_metrics"][-5:] == [
        f"cosine_{k}" for k in ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10")
    ]
    no_positives = {"text_a": ["a", "b"], "text_b": ["c", "d"], "label": [0, 0]}
    with caplog.at_level(logging.WARNING):
        evaluator = PairClassificationEvaluator(no_positives, retrieval=True, n_resamples=0)
    assert evaluator.retrieval is None and "skipping retrieval" in caplog.text


def test_labels_must_be_binary():
    with pytest.raises(ValueError, match="binary"):
        PairClassificationEvaluator({"text_a": ["a", "b"], "text_b": ["c", "d"], "label": [0.5, 1.0]})
    with pytest.raises(ValueError, match="binary"):
        PairClassificationEvaluator(make_pairs_clf(5, 1), dev_pairs={"text_a": ["a"], "text_b": ["b"], "label": [2]})
