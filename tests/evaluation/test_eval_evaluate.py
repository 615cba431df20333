from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

from textsiam.evaluation import (
    EvaluationResults,
    compare,
    evaluate,
    evaluate_dataset,
    find_best_threshold,
    make_dev_metric,
)
from textsiam.evaluation import classification as clf
from textsiam.similarity import pairwise_similarity

from .conftest import HashingEncoder, RandomEncoder

N_BOOT = 200  # small for speed; the library default is 1000


def _direct_scores(model, pairs, sim="cosine"):
    """Independent path: encode each side separately, no dedupe."""
    ea = model.encode(pairs["text_a"])
    eb = model.encode(pairs["text_b"])
    return np.asarray(pairwise_similarity(ea, eb, sim), dtype=np.float64)


def test_evaluate_all_datasets(fake_data, encoder):
    data, log = fake_data
    res = evaluate(encoder, ["stsb", "sick", "mrpc", "quora"], n_resamples=N_BOOT, show_progress_bar=False)
    assert isinstance(res, EvaluationResults)
    assert res.datasets == ["stsb", "sick", "mrpc", "quora"]
    assert res.model == "hashing-bow" and res.seed == 0 and res.n_resamples == N_BOOT
    assert set(res.versions) >= {"textsiam", "torch", "transformers", "datasets", "scikit-learn", "scipy", "numpy"}
    # dev is loaded for the classification datasets only
    assert ("mrpc", "dev") in log and ("quora", "dev") in log and ("stsb", "dev") not in log
    assert res["stsb"]["primary_metric"] == "cosine_spearman"
    assert res["mrpc"]["primary_metric"] == "cosine_accuracy"
    for r in res:
        assert r["primary_value"] == r["metrics"][r["primary_metric"]]
        ci = r["ci"][r["primary_metric"]]
        assert ci["low"] <= r["primary_value"] <= ci["high"]
        assert r["wall_time_s"] >= 0 and r["split"] == "test"
    for sim in ("cosine", "dot", "euclidean", "manhattan"):
        assert f"{sim}_spearman" in res["sick"]["metrics"] and f"{sim}_pearson" in res["stsb"]["metrics"]
        assert set(res["mrpc"]["thresholds"][sim]) == {"accuracy", "f1"}
    q = res["quora"]
    for key in ("cosine_mrr@10", "cosine_recall@1", "cosine_recall@5", "cosine_recall@10", "cosine_ndcg@10"):
        assert 0 <= q["metrics"][key] <= 100 and key in q["ci"]
    assert q["retrieval"]["relevance"] == "direct" and q["retrieval"]["n_queries"] > 0
    assert "retrieval" not in res["mrpc"]
    # the word-overlap encoder is a decent model of the word-overlap data
    assert res["stsb"]["primary_value"] > 50 and res["mrpc"]["primary_value"] > 60


def test_each_unique_text_encoded_once(fake_data):
    data, _ = fake_data
    model = HashingEncoder()
    evaluate_dataset(model, "mrpc", n_resamples=0)
    assert len(model.calls) == 1  # dev + test in one call
    texts = model.calls[0]
    assert len(texts) == len(set(texts))
    expected = set()
    for split in ("test", "dev"):
        expected |= set(data[("mrpc", split)]["text_a"]) | set(data[("mrpc", split)]["text_b"])
    assert set(texts) == expected


def test_sts_numbers_match_independent_computation(fake_data, encoder):
    data, _ = fake_data
    r = evaluate_dataset(encoder, "stsb", n_resamples=0)
    pairs = data[("stsb", "test")]
    for sim in ("cosine", "manhattan"):
        s = _direct_scores(encoder, pairs, sim)
        assert r["metrics"][f"{sim}_spearman"] == pytest.approx(100 * stats.spearmanr(s, pairs["label"]).statistic)
        assert r["metrics"][f"{sim}_pearson"] == pytest.approx(100 * stats.pearsonr(s, pairs["label"]).statistic)
    cos = _direct_scores(encoder, pairs, "cosine")  # STS-B gold is 0-5: a similarity s reads as 5 * clip(s, 0, 1)
    expected_mse = np.mean((5 * np.clip(cos, 0, 1) - np.asarray(pairs["label"])) ** 2)
    assert r["metrics"]["cosine_mse"] == pytest.approx(expected_mse)
    assert r["score_range"] == [0.0, 5.0]
    assert r["ci"] == {}


def test_classification_numbers_match_independent_computation(fake_data, encoder):
    data, _ = fake_data
    r = evaluate_dataset(encoder, "mrpc", n_resamples=0)
    dev, test = data[("mrpc", "dev")], data[("mrpc", "test")]
    dev_s, test_s = _direct_scores(encoder, dev), _direct_scores(encoder, test)
    t_acc = find_best_threshold(dev_s, dev["label"], "accuracy")
    t_f1 = find_best_threshold(dev_s, dev["label"], "f1")
    assert r["thresholds"]["cosine"]["accuracy"] == pytest.approx(t_acc)
    assert r["metrics"]["cosine_accuracy"] == pytest.approx(100 * accuracy_score(test["label"], test_s >= t_acc))
    assert r["metrics"]["cosine_f1"] == pytest.approx(100 * f1_score(test["label"], test_s >= t_f1))


def test_evaluate_dataset_threshold_ignores_test_labels(fake_data, encoder, monkeypatch):
    data, _ = fake_data
    n_dev = len(data[("mrpc", "dev")]["label"])
    dev_labels = np.asarray(data[("mrpc", "dev")]["label"])
    seen = []
    real = clf.find_best_threshold

    def spy(scores, labels, metric="accuracy"):
        seen.append((len(scores), np.asarray(labels).copy()))
        return real(scores, labels, metric)

    monkeypatch.setattr(clf, "find_best_threshold", spy)
    base = evaluate_dataset(encoder, "mrpc", n_resamples=0)
    assert seen and all(n == n_dev and np.array_equal(y, dev_labels) for n, y in seen)

    test = data[("mrpc", "test")]
    rng = np.random.default_rng(0)
    for labels in (1 - np.asarray(test["label"]), rng.permutation(test["label"])):
        flipped = dict(test, label=list(labels))
        r = evaluate_dataset(encoder, "mrpc", n_resamples=0, pairs=flipped)
        assert r["thresholds"] == base["thresholds"]


def test_primary_similarity_follows_model(fake_data):
    model = HashingEncoder(similarity_fn_name="manhattan")
    r = evaluate_dataset(model, "stsb", n_resamples=N_BOOT)
    assert r["primary_metric"] == "manhattan_spearman" and "manhattan_spearman" in r["ci"]
    r = evaluate_dataset(HashingEncoder(similarity_fn_name=None), "stsb", n_resamples=0)
    assert r["primary_metric"] == "cosine_spearman"
    r = evaluate_dataset(model, "mrpc", n_resamples=0, similarities=["cosine"], primary_similarity="dot")
    assert r["similarities"] == ["cosine", "dot"] and r["primary_metric"] == "dot_accuracy"
    r = evaluate_dataset(HashingEncoder(similarity_fn_name="malstm"), "stsb", n_resamples=0)
    assert "malstm_spearman" in r["metrics"] and r["primary_metric"] == "malstm_spearman"


def test_dev_metric(fake_data, encoder):
    sts = make_dev_metric("stsb")
    assert sts(encoder) == pytest.approx(
        evaluate_dataset(encoder, "stsb", "dev", n_resamples=0)["metrics"]["cosine_spearman"]
    )
    assert sts.metric_name == "cosine_spearman" and sts.greater_is_better
    mrpc = make_dev_metric("mrpc")
    dev = fake_data[0][("mrpc", "dev")]
    s = _direct_scores(encoder, dev)
    t = find_best_threshold(s, dev["label"])
    assert mrpc(encoder) == pytest.approx(100 * accuracy_score(dev["label"], s >= t))
    assert mrpc(RandomEncoder()) < mrpc(encoder)


def test_compare_paired_bootstrap(fake_data, encoder):
    same = compare(encoder, HashingEncoder(), "stsb", n_resamples=N_BOOT)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0
    better = compare(RandomEncoder(), encoder, "stsb", n_resamples=N_BOOT)
    assert better["difference"] > 0 and better["p_value"] < 0.05 and better["ci"]["low"] > 0
    assert better["value_b"] - better["value_a"] == pytest.approx(better["difference"])
    clf_cmp = compare(RandomEncoder(), encoder, "mrpc", n_resamples=N_BOOT)
    assert clf_cmp["metric"] == "accuracy" and set(clf_cmp["thresholds"]) == {"a", "b"}
    assert clf_cmp["value_b"] == pytest.approx(evaluate_dataset(encoder, "mrpc", n_resamples=0)["primary_value"])


def test_bad_model_outputs_raise(fake_data):
    class NaNModel(HashingEncoder):
        def encode(self, texts, batch_size=32, show_progress_bar=False):
            out = super().encode(texts)
            out[0, 0] = np.nan
            return out

    class WrongShape(HashingEncoder):
        def encode(self, texts, batch_size=32, show_progress_bar=False):
            return super().encode(texts)[:-1]

    with pytest.raises(ValueError, match="NaN"):
        evaluate_dataset(NaNModel(), "stsb", n_resamples=0)
    with pytest.raises(ValueError, match="shape"):
        evaluate_dataset(WrongShape(), "stsb", n_resamples=0)


@pytest.mark.slow
def test_real_loader_end_to_end(data_dir):
    """Uses the real loader and $TEXTSIAM_DATA (skipped when unset)."""
    res = evaluate(
        HashingEncoder(dim=256), ["stsb", "mrpc"], data_dir=data_dir, n_resamples=100, show_progress_bar=False
    )
    assert res["stsb"]["n_pairs"] == 1379 and res["mrpc"]["n_pairs"] == 1725
    assert res["mrpc"]["n_dev_pairs"] == 400
    assert 0 < res["stsb"]["primary_value"] < 100
