"""Cross-encoders in the evaluation: the metrics of their predict() scores, as scipy / scikit-learn compute them, the
same records, intervals and thresholds as a twin tower's, and clear errors for what they cannot do."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cross_encoders import FakeCrossEncoder, make_sigmoid_multi_label_cross_encoder, make_tiny_cross_encoder
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

from textsiam.evaluation import (
    DevMetric,
    PairClassificationEvaluator,
    STSEvaluator,
    TripletEvaluator,
    compare,
    evaluate,
    find_best_threshold,
)
from textsiam.evaluation.cross_encoding import CROSS_ENCODER, is_cross_encoder
from textsiam.evaluation.evaluator import get_evaluator
from textsiam.evaluation.results import EvaluationResults

from .helpers import HashingEncoder, make_pairs_clf, make_sts

TRIPLETS = [
    ("a man plays a guitar", "a man plays the guitar", "stocks fell on monday"),
    ("the cat sits on the mat", "a cat sits on a mat", "the dog runs in the park"),
    ("it rains in london", "rain falls in london today", "it rains"),  # the negative overlaps more: a miss
    ("learn python fast", "learn python quickly", "cook rice fast"),
] * 3


def pairs_of(table: dict) -> list[tuple[str, str]]:
    return list(zip(table["text_a"], table["text_b"], strict=True))


@pytest.fixture(scope="module")
def cross_encoder(default_tokenizer):
    return make_tiny_cross_encoder(default_tokenizer, seed=1)


@pytest.fixture(scope="module")
def sts_table() -> dict:
    return make_sts(40, 11)


@pytest.fixture(scope="module")
def clf_tables() -> tuple[dict, dict]:
    return make_pairs_clf(48, 12), make_pairs_clf(36, 13)


# ------------------------------------------------------------------------------------------ detection
def test_is_cross_encoder_by_duck_typing(cross_encoder):
    class Both(FakeCrossEncoder):
        def encode(self, texts, **kwargs):  # noqa: ANN001, ANN003, ANN201
            return np.zeros((len(texts), 2))

    assert is_cross_encoder(cross_encoder) and is_cross_encoder(FakeCrossEncoder())
    assert not is_cross_encoder(HashingEncoder())  # encode, no predict
    assert not is_cross_encoder(Both())  # a twin tower that also predicts is still a twin tower
    assert not is_cross_encoder(None)


# ------------------------------------------------------------------------------------------ the real model
def test_sts_metrics_are_scipys_on_the_predict_scores(cross_encoder, sts_table):
    results = evaluate(cross_encoder, {"mine": sts_table}, task="sts", n_resamples=200, show_progress_bar=False)
    record = results["mine"]
    scores = cross_encoder.predict(pairs_of(sts_table))
    gold = np.asarray(sts_table["label"])
    assert record["similarities"] == [CROSS_ENCODER] and record["primary_similarity"] == CROSS_ENCODER
    assert record["primary_metric"] == "cross_encoder_spearman"
    assert record["metrics"]["cross_encoder_spearman"] == pytest.approx(100 * spearmanr(scores, gold)[0], abs=1e-4)
    assert record["metrics"]["cross_encoder_pearson"] == pytest.approx(100 * pearsonr(scores, gold)[0], abs=1e-4)
    assert set(record["metrics"]) == {"cross_encoder_spearman", "cross_encoder_pearson"}  # no similarity functions
    ci = record["ci"]["cross_encoder_spearman"]
    assert ci["low"] < record["primary_value"] < ci["high"]  # a real interval on 40 pairs
    assert record["cross_encoder"] == {"num_labels": 1, "score": "predict() output"}
    assert "cross_encoder" in results.protocol and record["n_unique_texts"] == len(
        set(sts_table["text_a"]) | set(sts_table["text_b"])
    )


def test_classification_thresholds_on_dev_and_metrics_are_sklearns(cross_encoder, clf_tables):
    test, dev = clf_tables
    results = evaluate(cross_encoder, {"mine": test}, dev_pairs=dev, n_resamples=100, show_progress_bar=False)
    record = results["mine"]
    scores, dev_scores = cross_encoder.predict(pairs_of(test)), cross_encoder.predict(pairs_of(dev))
    labels, dev_labels = np.asarray(test["label"]), np.asarray(dev["label"])
    t_acc = find_best_threshold(dev_scores.astype(np.float64), dev_labels, metric="accuracy")
    t_f1 = find_best_threshold(dev_scores.astype(np.float64), dev_labels, metric="f1")
    assert record["thresholds"][CROSS_ENCODER]["accuracy"] == pytest.approx(t_acc)
    assert record["threshold_split"] == "dev" and "notes" not in record
    metrics = record["metrics"]
    assert metrics["cross_encoder_accuracy"] == pytest.approx(100 * accuracy_score(labels, scores >= t_acc))
    assert metrics["cross_encoder_f1"] == pytest.approx(100 * f1_score(labels, scores >= t_f1))
    assert metrics["cross_encoder_ap"] == pytest.approx(100 * average_precision_score(labels, scores), abs=1e-4)
    assert metrics["cross_encoder_roc_auc"] == pytest.approx(100 * roc_auc_score(labels, scores), abs=1e-4)
    assert set(record["ci"]) == {"cross_encoder_accuracy", "cross_encoder_f1"}


def test_the_evaluator_classes_take_a_cross_encoder(cross_encoder, sts_table):
    """The evaluators behind evaluate, called on the model directly, give the same figures."""
    direct = STSEvaluator(sts_table, n_resamples=0)(cross_encoder)
    assert direct == evaluate(cross_encoder, sts_table, task="sts", n_resamples=0)["custom"]["metrics"]
    triplet = TripletEvaluator(TRIPLETS, n_resamples=0)
    positive = cross_encoder.predict([(a, p) for a, p, _ in TRIPLETS])
    negative = cross_encoder.predict([(a, n) for a, _, n in TRIPLETS])
    assert triplet(cross_encoder) == {"cross_encoder_accuracy": pytest.approx(100 * np.mean(positive > negative))}


def test_dev_metric_of_a_cross_encoder(cross_encoder, sts_table):
    metric = DevMetric("mine", pairs=sts_table, task="sts")
    value = metric(cross_encoder)
    assert metric.metric_name == "cross_encoder_spearman"
    gold = np.asarray(sts_table["label"])
    assert value == pytest.approx(100 * spearmanr(cross_encoder.predict(pairs_of(sts_table)), gold)[0], abs=1e-4)


# ------------------------------------------------------------------------------------------ how pairs are scored
def test_each_distinct_pair_is_predicted_once_in_one_call():
    model = FakeCrossEncoder()
    test = {"text_a": ["a b", "a b", "c d", "x y"], "text_b": ["a c", "a c", "c e", "x z"], "label": [1, 1, 0, 1]}
    dev = {"text_a": ["a b", "c d"], "text_b": ["a c", "d c"], "label": [1, 0]}  # ("c d", "d c"): order matters
    evaluator = PairClassificationEvaluator(test, dev_pairs=dev, n_resamples=0)
    evaluator(model)
    assert len(model.calls) == 1
    assert sorted(model.calls[0]) == sorted({("a b", "a c"), ("c d", "c e"), ("x y", "x z"), ("c d", "d c")})


def test_triplets_score_score_anchor_positive_against_anchor_negative_with_a_margin():
    model = FakeCrossEncoder()
    result = evaluate(model, TRIPLETS, n_resamples=0, show_progress_bar=False)["custom"]
    assert result["task"] == "triplet" and result["metrics"] == {"cross_encoder_accuracy": 75.0}
    # ("learn python fast", ...) wins by 0.5 - 0.2 = 0.3; the other two winners by more than 0.5
    assert TripletEvaluator(TRIPLETS, margin=0.45, n_resamples=0)(model)["cross_encoder_accuracy"] == 50.0
    assert TripletEvaluator(TRIPLETS, margin={CROSS_ENCODER: 0.45}, n_resamples=0)(model) == {
        "cross_encoder_accuracy": 50.0
    }


def test_a_two_label_head_scores_by_the_probability_of_label_1(clf_tables):
    test, _ = clf_tables
    model = FakeCrossEncoder(num_labels=2)
    record = evaluate(model, {"mine": test}, n_resamples=0, show_progress_bar=False)["mine"]
    probability = model.predict(pairs_of(test), apply_softmax=True)[:, 1]
    labels = np.asarray(test["label"])
    assert record["cross_encoder"]["positive_label"] == 1 and record["cross_encoder"]["num_labels"] == 2
    assert record["metrics"]["cross_encoder_ap"] == pytest.approx(100 * average_precision_score(labels, probability))
    label_0 = evaluate(model, {"mine": test}, n_resamples=0, show_progress_bar=False, positive_label=0)["mine"]
    assert label_0["metrics"]["cross_encoder_ap"] == pytest.approx(
        100 * average_precision_score(labels, 1 - probability)
    )


def test_three_labels_need_a_positive_label(default_tokenizer, sts_table):
    names = {0: "contradiction", 1: "entailment", 2: "neutral"}
    model = make_tiny_cross_encoder(default_tokenizer, num_labels=3, id2label=names)
    with pytest.raises(
        ValueError, match=r"has 3 labels \(0: contradiction, 1: entailment, 2: neutral\).*positive_label"
    ):
        evaluate(model, sts_table, task="sts", n_resamples=0)
    record = evaluate(model, sts_table, task="sts", n_resamples=0, positive_label="Entailment")["custom"]
    probability = model.predict(pairs_of(sts_table), apply_softmax=True)[:, 1]
    expected = 100 * spearmanr(probability, np.asarray(sts_table["label"]))[0]
    assert record["primary_value"] == pytest.approx(expected, abs=1e-4)
    assert record["cross_encoder"]["score"] == "probability of label 1 (entailment) of 3 (softmax)"
    with pytest.raises(ValueError, match="'neither' is not a label of"):
        evaluate(model, sts_table, task="sts", n_resamples=0, positive_label="neither")
    with pytest.raises(ValueError, match="positive_label=3 is out of range"):
        evaluate(model, sts_table, task="sts", n_resamples=0, positive_label=3)


def test_positive_label_is_ignored_by_models_with_one_score(sts_table):
    plain = evaluate(FakeCrossEncoder(), sts_table, task="sts", n_resamples=0)["custom"]["metrics"]
    assert evaluate(FakeCrossEncoder(), sts_table, task="sts", n_resamples=0, positive_label=2)["custom"][
        "metrics"
    ] == (plain)
    tower = evaluate(HashingEncoder(), sts_table, task="sts", n_resamples=0, positive_label="entailment")
    assert tower["custom"]["primary_metric"] == "cosine_spearman"


def test_a_bad_predict_output_is_an_error(sts_table):
    class Wrong(FakeCrossEncoder):
        def predict(self, pairs, **kwargs):  # noqa: ANN001, ANN003, ANN201
            return np.zeros((len(pairs), 2, 2))

    class NaN(FakeCrossEncoder):
        def predict(self, pairs, **kwargs):  # noqa: ANN001, ANN003, ANN201
            return np.full(len(pairs), np.nan)

    with pytest.raises(ValueError, match=r"model.predict returned shape \(40, 2, 2\) for 40 pairs"):
        evaluate(Wrong(), sts_table, task="sts", n_resamples=0)
    with pytest.raises(ValueError, match="NaN/inf scores for 40 of 40 pairs"):
        evaluate(NaN(), sts_table, task="sts", n_resamples=0)


# ------------------------------------------------------------------------------------------ what it cannot do
@pytest.mark.parametrize(
    ("table", "task"),
    [
        ({"anchor": ["a b", "c d", "e f"], "positive": ["a c", "c e", "e g"]}, "paired_retrieval"),
        ({"text": ["a b", "a c", "c d", "c e"], "label": ["x", "x", "y", "y"]}, "label_retrieval"),
    ],
)
def test_retrieval_tasks_refuse_a_cross_encoder_before_scoring_anything(table, task, sts_table):
    model = FakeCrossEncoder()
    with pytest.raises(ValueError, match=f"second/test: task '{task}' ranks texts by their embeddings"):
        evaluate(model, {"first": sts_table, "second": table}, n_resamples=0)  # sts first: not scored either
    assert model.calls == []
    with pytest.raises(ValueError, match=f"task '{task}' ranks texts by their embeddings"):
        DevMetric("second", pairs=table)(model)


def test_duplicate_retrieval_refuses_a_cross_encoder():
    table = {"text_a": ["a b", "c d"], "text_b": ["a c", "c e"], "label": [1, 1]}
    with pytest.raises(ValueError, match="task 'retrieval' ranks texts by their embeddings"):
        get_evaluator("mine", pairs=table, task="retrieval").evaluate(FakeCrossEncoder())


def test_quora_leaves_out_retrieval_with_a_note(fake_data):
    model = FakeCrossEncoder()
    record = evaluate(model, "quora", n_resamples=0, show_progress_bar=False)["quora"]
    assert record["threshold_split"] == "dev" and "cross_encoder_accuracy" in record["metrics"]
    assert not any("mrr" in key for key in record["metrics"]) and "retrieval" not in record
    assert any("no duplicate-retrieval metrics" in note for note in record["notes"])
    with pytest.raises(ValueError, match="retrieval=True ranks the questions by their embeddings"):
        evaluate(model, "quora", n_resamples=0, retrieval=True)


def test_registered_datasets_keep_their_settings(fake_data):
    """STS-B's score range gives the MSE of the score on the gold scale; MRPC's dev split chooses the thresholds."""
    results = evaluate(FakeCrossEncoder(), ["stsb", "mrpc"], n_resamples=0, show_progress_bar=False)
    assert "cross_encoder_mse" in results["stsb"]["metrics"] and results["stsb"]["score_range"] == [0.0, 5.0]
    assert results["mrpc"]["threshold_split"] == "dev"
    again = EvaluationResults.from_dict(json.loads(results.to_json()))
    assert again["stsb"]["cross_encoder"] == {"num_labels": 1, "score": "predict() output"}


def test_similarity_functions_do_not_apply(sts_table):
    with pytest.raises(ValueError, match="a cross-encoder scores each pair itself and has no similarity functions"):
        evaluate(FakeCrossEncoder(), sts_table, task="sts", n_resamples=0, similarities=["cosine"])
    with pytest.raises(ValueError, match=r"no similarity functions, but \['dot'\] were asked for"):
        evaluate(FakeCrossEncoder(), sts_table, task="sts", n_resamples=0, primary_similarity="dot")


def test_compare_a_twin_tower_with_a_cross_encoder(sts_table):
    out = compare(HashingEncoder(), FakeCrossEncoder(), "mine", pairs=sts_table, task="sts", n_resamples=100)
    assert (out["metric_a"], out["metric_b"]) == ("cosine_spearman", "cross_encoder_spearman")
    gold = np.asarray(sts_table["label"])
    overlap = [FakeCrossEncoder.overlap(a, b) for a, b in pairs_of(sts_table)]
    assert out["value_b"] == pytest.approx(100 * spearmanr(overlap, gold)[0])
    assert out["ci"]["low"] <= out["difference"] <= out["ci"]["high"]


@pytest.mark.slow  # imports sentence-transformers
def test_sentence_transformers_cross_encoder_gives_the_same_record(cross_encoder, sts_table, tmp_path):
    """sentence-transformers' CrossEncoder on the same folder: the same metrics (its predict gives the same scores)."""
    st = pytest.importorskip("sentence_transformers")
    cross_encoder.save(tmp_path / "ce")
    theirs = st.CrossEncoder(str(tmp_path / "ce"), device="cpu")
    ours = evaluate(cross_encoder, sts_table, task="sts", n_resamples=0)["custom"]["metrics"]
    assert evaluate(theirs, sts_table, task="sts", n_resamples=0)["custom"]["metrics"] == pytest.approx(ours, abs=1e-3)


def test_a_multi_label_sigmoid_head_is_scored_by_its_own_output_not_a_softmax_of_it(default_tokenizer, sts_table):
    """A softmax turns logits into probabilities; after a Sigmoid activation it would give softmax(sigmoid(z))."""
    import torch

    from textsiam.evaluation.cross_encoding import cross_encoder_scores, softmax_applies

    model = make_sigmoid_multi_label_cross_encoder(default_tokenizer)
    pairs = pairs_of(sts_table)
    logits = torch.as_tensor(model.predict(pairs, activation_fn=torch.nn.Identity()))
    sigmoid = torch.sigmoid(logits[:, 1]).numpy()
    mixed = torch.softmax(torch.sigmoid(logits), dim=1)[:, 1].numpy()
    assert np.abs(sigmoid - mixed).max() > 0.05  # the two readings differ clearly on these pairs
    assert not softmax_applies(model)
    scores, info = cross_encoder_scores(model, sts_table["text_a"], sts_table["text_b"])
    np.testing.assert_allclose(scores, sigmoid, atol=1e-6)
    assert info["score"] == "output of label 1 (LABEL_1) of 2 (activation Sigmoid, no softmax)"
    record = evaluate(model, sts_table, task="sts", n_resamples=0, show_progress_bar=False)["custom"]
    expected = 100 * spearmanr(sigmoid, np.asarray(sts_table["label"]))[0]
    assert record["primary_value"] == pytest.approx(expected, abs=1e-4)
    assert record["cross_encoder"]["score"] == info["score"]
    model.activation_fn = torch.nn.Identity()  # raw logits: the softmax makes them probabilities
    assert softmax_applies(model)
    scores, info = cross_encoder_scores(model, sts_table["text_a"], sts_table["text_b"])
    np.testing.assert_allclose(scores, torch.softmax(logits, dim=1)[:, 1].numpy(), atol=1e-6)
    assert info["score"] == "probability of label 1 (LABEL_1) of 2 (softmax)"
