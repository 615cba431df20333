"""``silver_label_match``: the silver pairs kept follow the gold labels' distribution (0/1 labels by class, graded
labels in bins of the gold range), as many as fit, by a seeded choice; bins the silver pairs leave empty are left
out of the match and recorded."""

from __future__ import annotations

import numpy as np
import pytest

from textsiam.training.silver_matching import match_label_distribution


def test_binary_labels_keep_the_gold_share_of_each_class():
    gold = [1] * 68 + [0] * 32  # MRPC-like: two-thirds positive
    silver = np.array([0] * 970 + [1] * 30)  # what a teacher makes of BM25 neighbours: almost all negative
    keep, record = match_label_distribution(gold, silver, seed=1, binary=True)
    kept = silver[keep]
    assert (kept == 1).sum() == 30 and (kept == 0).sum() == 14  # all 30 positives, 30 · 32 / 68 negatives
    assert record["kept"] == 44 and record["of"] == 1000 and record["silver_kept"] == [14, 30]
    assert record["gold_share"] == [0.32, 0.68] and record["bins_left_out"] == []
    assert np.array_equal(keep, np.sort(keep)) and len(set(keep.tolist())) == 44
    again, _ = match_label_distribution(gold, silver, seed=1, binary=True)
    other, _ = match_label_distribution(gold, silver, seed=2, binary=True)
    assert np.array_equal(keep, again) and not np.array_equal(keep, other)  # seeded


def test_graded_labels_follow_the_gold_histogram():
    rng = np.random.default_rng(0)
    gold = np.concatenate([[0.0, 5.0], rng.uniform(0, 5, 2000)])  # flat over 0-5
    silver = np.concatenate([rng.uniform(0, 1, 900), rng.uniform(1, 5, 100)])  # mostly dissimilar pairs
    keep, record = match_label_distribution(gold, silver, seed=0)
    counts = np.histogram(silver[keep], bins=10, range=(0, 5))[0]
    assert record["bins"] == "10 equal-width bins of [0, 5]" and record["kept"] == len(keep)
    assert counts.max() - counts.min() <= 2 and len(keep) < 200  # flat, limited by the rarest bin
    assert record["silver_kept"] == counts.tolist()


def test_a_bin_the_silver_pairs_leave_empty_is_left_out():
    gold = [0.0] * 50 + [2.5] * 25 + [5.0] * 25
    silver = [0.0] * 100 + [5.0] * 10  # none near 2.5
    keep, record = match_label_distribution(gold, silver, seed=0)
    assert record["bins_left_out"] == [5] and len(keep) == 30  # 20 + 10: the 50 : 25 share of the two left
    assert sorted(np.asarray(silver)[keep].tolist()) == [0.0] * 20 + [5.0] * 10
    none, record = match_label_distribution([0, 1], [], seed=0, binary=True)
    assert len(none) == 0 and record["kept"] == 0 and record["bins_left_out"] == [0, 1]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="silver_label_match: no gold labels to match"):
        match_label_distribution([], [1.0], seed=0)
    with pytest.raises(ValueError, match="bins must be at least 1, got 0"):
        match_label_distribution([1.0], [1.0], seed=0, bins=0)
