from __future__ import annotations

import pytest

from textsiam.evaluation import compare, evaluate

from .helpers import HashingEncoder, RandomEncoder, assert_same, make_quora

N_BOOT = 100


def test_compare_gives_the_numbers_of_the_old_evaluator(fake_data, encoder, reference):
    for name in ("stsb", "mrpc"):
        assert_same(compare(RandomEncoder(), encoder, name, n_resamples=N_BOOT), reference["compare"][name], name)


def test_compare_paired_bootstrap(fake_data, encoder):
    same = compare(encoder, HashingEncoder(), "stsb", n_resamples=N_BOOT)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0
    better = compare(RandomEncoder(), encoder, "stsb", n_resamples=N_BOOT)
    assert better["difference"] > 0 and better["p_value"] < 0.05 and better["ci"]["low"] > 0
    assert better["value_b"] - better["value_a"] == pytest.approx(better["difference"])
    clf_cmp = compare(RandomEncoder(), encoder, "mrpc", n_resamples=N_BOOT)
    assert clf_cmp["metric"] == "accuracy" and set(clf_cmp["thresholds"]) == {"a", "b"}
    assert clf_cmp["value_b"] == pytest.approx(evaluate(encoder, "mrpc", n_resamples=0)["mrpc"]["primary_value"])


def test_compare_on_own_pairs(encoder):
    pairs = make_quora(60, 4)
    res = compare(RandomEncoder(), encoder, "mine", pairs=pairs, task="retrieval", n_resamples=50)
    assert res["task"] == "retrieval" and res["metric"] == "mrr@10" and res["metric_b"] == "cosine_mrr@10"
    assert res["value_b"] > res["value_a"] and "thresholds" not in res
