from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from textsiam.evaluation import STSEvaluator

from .helpers import HashingEncoder, direct_scores, make_sts


def test_numbers_match_independent_computation(fake_data, encoder):
    data, _ = fake_data
    evaluator = STSEvaluator.from_dataset("stsb", n_resamples=0)
    r = evaluator.evaluate(encoder)
    pairs = data[("stsb", "test")]
    for sim in ("cosine", "manhattan"):
        s = direct_scores(encoder, pairs, sim)
        assert r["metrics"][f"{sim}_spearman"] == pytest.approx(100 * stats.spearmanr(s, pairs["label"]).statistic)
        assert r["metrics"][f"{sim}_pearson"] == pytest.approx(100 * stats.pearsonr(s, pairs["label"]).statistic)
    cos = direct_scores(encoder, pairs, "cosine")  # STS-B gold is 0-5: a similarity s reads as 5 * clip(s, 0, 1)
    expected_mse = np.mean((5 * np.clip(cos, 0, 1) - np.asarray(pairs["label"])) ** 2)
    assert r["metrics"]["cosine_mse"] == pytest.approx(expected_mse)
    assert r["score_range"] == [0.0, 5.0] and r["ci"] == {} and r["task"] == "sts"
    assert r["main_metrics"][:2] == ["cosine_spearman", "cosine_pearson"]


def test_call_returns_metrics_and_primary_metric(encoder):
    pairs = make_sts(60, 11)
    evaluator = STSEvaluator(pairs, n_resamples=50)
    assert evaluator.primary_metric == "cosine_spearman"
    metrics = evaluator(encoder)
    assert set(metrics) == {
        f"{s}_{m}" for s in ("cosine", "dot", "euclidean", "manhattan") for m in ("pearson", "spearman")
    }
    record = evaluator.evaluate(encoder)
    assert record["metrics"] == metrics and record["primary_value"] == metrics["cosine_spearman"]
    assert set(record["ci"]) == {"cosine_spearman", "cosine_pearson"} and "score_range" not in record
    assert record["dataset"] == "custom" and record["n_resamples"] == 50


def test_sentence_transformers_columns_and_score_range(encoder):
    pairs = make_sts(60, 12)
    st_format = pd.DataFrame({"sentence1": pairs["text_a"], "sentence2": pairs["text_b"], "score": pairs["label"]})
    ours = STSEvaluator(pairs, n_resamples=0, score_range=(0, 5))(encoder)
    theirs = STSEvaluator(st_format, n_resamples=0, score_range=(0, 5))(encoder)
    assert theirs == ours and "cosine_mse" in ours


def test_primary_similarity_follows_model():
    pairs = make_sts(40, 13)
    evaluator = STSEvaluator(pairs, n_resamples=50)
    r = evaluator.evaluate(HashingEncoder(similarity_fn_name="manhattan"))
    assert r["primary_metric"] == evaluator.primary_metric == "manhattan_spearman" and "manhattan_spearman" in r["ci"]
    r = evaluator.evaluate(HashingEncoder(similarity_fn_name=None))
    assert r["primary_metric"] == "cosine_spearman"
    r = STSEvaluator(pairs, n_resamples=0).evaluate(HashingEncoder(similarity_fn_name="malstm"))
    assert "malstm_spearman" in r["metrics"] and r["primary_metric"] == "malstm_spearman"
    r = STSEvaluator(pairs, n_resamples=0, similarities=["dot"], primary_similarity="cosine").evaluate(
        HashingEncoder(similarity_fn_name="manhattan")
    )
    assert r["similarities"] == ["dot", "cosine"] and r["primary_metric"] == "cosine_spearman"


def test_primary_inputs_give_the_primary_metric(encoder):
    evaluator = STSEvaluator(make_sts(50, 14), n_resamples=0)
    primary = evaluator.primary_inputs(encoder)
    assert primary.similarity == "cosine" and primary.threshold is None
    assert evaluator.primary_fn(primary.gold, primary.values) == evaluator(encoder)["cosine_spearman"]


def test_bad_input_fails_before_encoding():
    with pytest.raises(ValueError, match="NaN"):
        STSEvaluator({"text_a": ["a"], "text_b": ["b"], "label": [float("nan")]})
    with pytest.raises(ValueError, match="unknown|similarity"):
        STSEvaluator(make_sts(5, 1), similarities=["nope"])
