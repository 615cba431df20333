from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from textsiam.evaluation import bootstrap_ci, paired_bootstrap
from textsiam.evaluation.bootstrap import bootstrap_cis, paired_bootstrap_runs
from textsiam.evaluation.correlation import spearman


def test_ci_contains_estimate_and_shrinks_with_more_data():
    rng = np.random.default_rng(0)
    small = bootstrap_ci(np.mean, rng.normal(size=50))
    large = bootstrap_ci(np.mean, rng.normal(size=2000))
    for r in (small, large):
        assert r.low < r.estimate < r.high
        assert r.n_resamples == 1000 and r.seed == 0 and r.confidence == 0.95
    assert (large.high - large.low) < 0.5 * (small.high - small.low)
    # ~ 2 * 1.96 / sqrt(n) for the mean of N(0, 1)
    assert large.high - large.low == pytest.approx(2 * 1.96 / math.sqrt(2000), rel=0.15)


def test_seeded_and_joint_resampling():
    x = np.random.default_rng(1).normal(size=100)
    assert bootstrap_ci(np.mean, x, seed=3) == bootstrap_ci(np.mean, x, seed=3)
    assert bootstrap_ci(np.mean, x, seed=3) != bootstrap_ci(np.mean, x, seed=4)
    both = bootstrap_cis({"a": np.mean, "b": np.mean}, x, n_resamples=200)
    assert (both["a"].low, both["a"].high) == (both["b"].low, both["b"].high)
    # rows of several arrays stay together: metric of (x, x) pairs is always exactly 0
    diff = bootstrap_ci(lambda u, v: float(np.max(np.abs(u - v))), x, x.copy(), n_resamples=200)
    assert diff.low == diff.high == 0.0


def test_nan_resamples_are_dropped(caplog):
    """The interval is the percentile interval of the finite resampled metrics; the NaN ones are counted in the log."""
    x = np.array([0.1, 0.5, 1.7, 2.2, 4.0])
    seen: list[float] = []
    means: list[float] = []

    def mean_of_varied(v: np.ndarray) -> float:  # undefined on a resample of fewer than 3 distinct items
        value = float("nan") if len(np.unique(v)) < 3 else float(np.mean(v))
        seen.append(value)
        means.append(float(np.mean(v)))
        return value

    with caplog.at_level(logging.WARNING, logger="textsiam.evaluation.bootstrap"):
        r = bootstrap_ci(mean_of_varied, x, n_resamples=300, confidence=0.9)
    assert r.estimate == pytest.approx(1.7) and seen[0] == r.estimate  # the first call: the full data
    resampled = np.array(seen[1:])
    assert resampled.size == 300
    undefined = np.isnan(resampled)
    dropped = int(undefined.sum())
    # 5 draws of 5 items hit at most 2 of them with probability (5 + 10 * 30) / 5^5 = 0.098: about 29 of 300
    assert 12 < dropped < 50
    want_low, want_high = np.percentile(resampled[~undefined], [5.0, 95.0])
    assert r.low == pytest.approx(want_low, abs=1e-12) and r.high == pytest.approx(want_high, abs=1e-12)
    # the check tells dropping apart from scoring those resamples by their mean
    as_mean = np.where(undefined, means[1:], resampled)
    assert np.percentile(as_mean, [5.0, 95.0]) != pytest.approx([want_low, want_high], abs=1e-6)
    assert f"metric: {dropped} of 300 resamples gave NaN and were dropped" in caplog.text


def test_bad_arguments():
    with pytest.raises(ValueError, match="equal length"):
        bootstrap_ci(np.mean, np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci(np.mean, np.zeros(3), n_resamples=0)


def _sts(n=300, seed=0):
    rng = np.random.default_rng(seed)
    gold = rng.uniform(0, 5, n)
    return gold, gold + rng.normal(scale=3.0, size=n), gold + rng.normal(scale=0.5, size=n)


def metric(g, s):
    return spearman(s, g)


def test_paired_bootstrap_detects_a_clearly_better_model():
    gold, weak, strong = _sts()
    res = paired_bootstrap(metric, gold, weak, strong)
    assert res.difference == pytest.approx(res.value_b - res.value_a) and res.difference > 20
    assert res.low > 0 and res.p_value < 0.01
    rev = paired_bootstrap(metric, gold, strong, weak)
    assert rev.difference == pytest.approx(-res.difference)
    assert rev.high < 0 and rev.p_value == res.p_value


def test_paired_bootstrap_identical_models():
    gold, weak, _ = _sts()
    res = paired_bootstrap(metric, gold, weak, weak.copy(), n_resamples=300)
    assert res.difference == 0.0 and res.p_value == 1.0 and res.low == res.high == 0.0


def test_paired_bootstrap_similar_models_not_significant():
    rng = np.random.default_rng(5)
    gold = rng.uniform(0, 5, 200)
    a = gold + rng.normal(scale=1.0, size=200)
    b = gold + rng.normal(scale=1.0, size=200)
    res = paired_bootstrap(metric, gold, a, b, n_resamples=500)
    assert res.p_value > 0.05 and res.low < 0 < res.high
    # the p-value is 2 x the fraction of resampled differences on the other side of zero
    assert 0 < res.p_value <= 1


def test_paired_bootstrap_runs_with_one_run_each_is_the_paired_bootstrap():
    gold, weak, strong = _sts()
    one = paired_bootstrap(metric, gold, weak, strong, n_resamples=200, seed=7)
    runs = paired_bootstrap_runs(metric, gold, [weak], [strong], n_resamples=200, seed=7)
    assert runs == one


def test_paired_bootstrap_runs_carries_the_run_to_run_variance():
    """b's runs are better than a's on average, and resampling the test pairs alone would call it significant; but
    one of b's three runs is much worse, and resampling the runs too says the gap may be luck of training."""
    rng = np.random.default_rng(11)
    gold = rng.uniform(0, 5, 400)
    a = gold + rng.normal(scale=1.0, size=400)
    b_runs = [gold + rng.normal(scale=scale, size=400) for scale in (0.5, 0.6, 1.4)]
    pooled = paired_bootstrap_runs(metric, gold, [a], b_runs, n_resamples=1000)
    assert pooled.value_b == pytest.approx(np.mean([metric(gold, r) for r in b_runs]))
    assert pooled.difference > 2 and pooled.p_value >= 0.05 and pooled.low < -5
    # the items alone: b's mean over its fixed runs against a, on the same resampled pairs
    item_rng = np.random.default_rng(0)
    diffs = []
    for _ in range(1000):
        idx = item_rng.integers(0, 400, size=400)
        diffs.append(np.mean([metric(gold[idx], r[idx]) for r in b_runs]) - metric(gold[idx], a[idx]))
    assert np.percentile(diffs, 2.5) > 0


def test_paired_bootstrap_runs_needs_a_run_per_recipe():
    gold, weak, _ = _sts()
    with pytest.raises(ValueError, match="each recipe needs at least one run, got 0 and 1"):
        paired_bootstrap_runs(metric, gold, [], [weak])
