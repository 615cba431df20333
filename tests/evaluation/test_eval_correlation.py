from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from textsiam.evaluation import correlation_metrics
from textsiam.evaluation.correlation import pearson, spearman


def test_hand_computed_values():
    # Spearman: ranks differ by one swap -> 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(80.0)
    # Pearson of x = [1, 2, 3], y = [1, 2, 4]: cov = 3, sxx = 2, syy = 42 / 9
    assert pearson([1, 2, 3], [1, 2, 4]) == pytest.approx(100 * 3 / math.sqrt(2 * 42 / 9))
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-100.0)


def test_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    gold = np.round(rng.uniform(0, 5, 300), 1)  # many ties, like STS gold
    scores = gold + rng.normal(size=300)
    assert spearman(scores, gold) == pytest.approx(100 * stats.spearmanr(scores, gold).statistic)
    assert pearson(scores, gold) == pytest.approx(100 * stats.pearsonr(scores, gold).statistic)


def test_mapping_gives_per_similarity_keys():
    gold = np.array([0.0, 1.0, 2.0, 3.0])
    out = correlation_metrics({"cosine": gold, "dot": -gold}, gold)
    assert out == pytest.approx(
        {"cosine_pearson": 100.0, "cosine_spearman": 100.0, "dot_pearson": -100.0, "dot_spearman": -100.0}
    )
    assert set(correlation_metrics(gold, gold)) == {"pearson", "spearman"}


def test_constant_input_is_nan_and_bad_input_raises():
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(pearson([1, 2, 3], [2, 2, 2]))
    with pytest.raises(ValueError, match="length mismatch"):
        spearman([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        pearson([1.0, float("nan"), 2.0], [1, 2, 3])


def test_scaled_mse_maps_similarity_onto_the_gold_scale():
    from textsiam.evaluation.correlation import scaled_mse

    # s = 0.5 on a 1-5 scale reads as 3; negative and >1 similarities are clipped to the ends
    assert scaled_mse([0.5], [3.0], (1.0, 5.0)) == pytest.approx(0.0)
    assert scaled_mse([-0.3, 1.7], [1.0, 4.0], (1.0, 5.0)) == pytest.approx((0.0 + 1.0) / 2)
    assert scaled_mse([0.25, 0.5], [0.0, 5.0], (0.0, 5.0)) == pytest.approx((1.25**2 + 2.5**2) / 2)
    with pytest.raises(ValueError, match="score_range"):
        scaled_mse([0.5], [3.0], (5.0, 1.0))
