"""Pair / triplet construction and hard-negative mining."""

from __future__ import annotations

import numpy as np
import pytest

from textsiam.training import (
    duplicate_clusters,
    make_pos_neg_pairs,
    mine_hard_negatives,
    positive_pairs,
    silver_pairs,
    triplets_from_clusters,
)

A = ["q1", "q2", "q3", "q5", "q6", "q1", "q8"]
B = ["q2", "q3", "q4", "q6", "q7", "q5", "q9"]
Y = [1, 1, 0, 1, 0, 0, 1]


def test_duplicate_clusters_are_connected_components():
    c = duplicate_clusters(A, B, Y)
    assert c["q1"] == c["q2"] == c["q3"]  # q1-q2, q2-q3
    assert c["q5"] == c["q6"] != c["q1"]
    assert len({c["q4"], c["q7"], c["q1"], c["q5"], c["q8"]}) == 5
    assert c["q8"] == c["q9"]
    assert list(c.values())[0] == 0
    with pytest.raises(ValueError, match="0/1"):
        duplicate_clusters(["a"], ["b"], [0.5])


def test_positive_pairs():
    assert positive_pairs(A, B, Y) == (["q1", "q2", "q5", "q8"], ["q2", "q3", "q6", "q9"])


def test_pos_neg_ratio_subsamples_and_generates():
    a, b, y = make_pos_neg_pairs(A, B, Y, pos_neg_ratio=1.0, seed=0)
    assert y.count(1) == 4 and y.count(0) == 4  # 3 given negatives + 1 generated
    clusters = duplicate_clusters(A, B, Y)
    for ta, tb, label in zip(a, b, y, strict=True):
        if label == 0:
            assert clusters[ta] != clusters[tb]
    a2, b2, y2 = make_pos_neg_pairs(A, B, Y, pos_neg_ratio=4.0, seed=0)
    assert y2.count(1) == 4 and y2.count(0) == 1
    assert make_pos_neg_pairs(A, B, Y, pos_neg_ratio=1.0, seed=0) == (a, b, y)  # seeded


def test_triplets_from_clusters():
    anchors, pos, neg = triplets_from_clusters(A, B, Y, seed=3)
    clusters = duplicate_clusters(A, B, Y)
    assert anchors == ["q1", "q2", "q5", "q8"] and pos == ["q2", "q3", "q6", "q9"]
    assert all(clusters[n] != clusters[a] for a, n in zip(anchors, neg, strict=True))
    assert triplets_from_clusters(A, B, Y, seed=3) == (anchors, pos, neg)
    mined = {"q1": ["q4"]}
    assert triplets_from_clusters(A, B, Y, seed=3, negatives=mined)[2][0] == "q4"
    with pytest.raises(ValueError, match="one duplicate cluster"):
        triplets_from_clusters(["a"], ["b"], [1])


class VectorModel:
    """encode() looks texts up in a fixed table."""

    similarity_fn_name = "cosine"

    def __init__(self, table):
        self.table = table

    def encode(self, texts, batch_size=32, show_progress_bar=False):
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_mine_hard_negatives_skips_duplicates():
    table = {
        "cat": [1.0, 0.0, 0.0],
        "kitten": [0.99, 0.1, 0.0],  # a duplicate of cat
        "tiger": [0.9, 0.3, 0.0],  # similar, but not a duplicate: the hard negative
        "car": [0.0, 1.0, 0.0],
        "boat": [0.0, 0.0, 1.0],
    }
    clusters = {"cat": 0, "kitten": 0, "tiger": 1, "car": 2, "boat": 3}
    out = mine_hard_negatives(VectorModel(table), ["cat", "car"], list(table), clusters=clusters, k=2)
    assert out["cat"] == ["tiger", "car"]
    assert out["car"][0] == "tiger"
    out = mine_hard_negatives(VectorModel(table), ["cat"], list(table), exclude={"cat": {"kitten", "tiger"}}, k=1)
    assert out == {"cat": ["car"]}


def test_mine_hard_negatives_with_tiny_model(tiny_model):
    texts = ["a man plays guitar", "a man plays a guitar", "stocks fell", "the cat sleeps", "a woman sings"]
    clusters = {t: i for i, t in enumerate(texts)}
    clusters[texts[1]] = 0
    out = mine_hard_negatives(tiny_model, [texts[0]], texts, clusters=clusters, k=3)
    assert len(out[texts[0]]) == 3
    assert texts[0] not in out[texts[0]] and texts[1] not in out[texts[0]]


SILVER_TABLE = {
    "cat": [1.0, 0.0, 0.0],
    "kitten": [0.95, 0.3, 0.0],
    "tiger": [0.8, 0.6, 0.0],
    "car": [0.0, 1.0, 0.0],
    "bus": [0.0, 0.9, 0.4],
    "boat": [0.0, 0.0, 1.0],
}


def _cos(table, a, b):
    u, v = np.asarray(table[a]), np.asarray(table[b])
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def test_silver_pairs_nearest_neighbours_and_raw_scores():
    sentences = ["cat", "kitten", "tiger", "car", "bus", "boat", "cat"]  # a repeat is paired once
    a, b, y = silver_pairs(VectorModel(SILVER_TABLE), sentences, k_nearest=1, n_random=0, calibration=None)
    got = {frozenset(p) for p in zip(a, b, strict=True)}
    # each sentence's single nearest neighbour; cat-kitten is found from both sides but kept once
    assert got == {frozenset(p) for p in [("cat", "kitten"), ("tiger", "kitten"), ("car", "bus"), ("boat", "bus")]}
    assert len(a) == len(got)
    for ta, tb, score in zip(a, b, y, strict=True):
        assert score == pytest.approx(_cos(SILVER_TABLE, ta, tb), abs=1e-6)


def test_silver_pairs_skip_gold_and_self_pairs_and_calibrate_to_the_gold_scale():
    model = VectorModel(SILVER_TABLE)
    gold = (["cat", "car", "cat", "kitten"], ["kitten", "boat", "car", "tiger"], [5.0, 1.0, 1.5, 4.5])
    a, b, y = silver_pairs(model, list(SILVER_TABLE), k_nearest=5, n_random=3, gold=gold, seed=1)
    pairs = [frozenset(p) for p in zip(a, b, strict=True)]
    assert len(pairs) == len(set(pairs))  # each unordered pair once
    assert all(len(p) == 2 for p in pairs)  # never a sentence with itself
    assert not {frozenset(p) for p in zip(gold[0], gold[1], strict=True)} & set(pairs)
    assert len(pairs) == 15 - 4  # every pair of the 6 sentences but the 4 gold ones (k = 5 reaches them all)
    # isotonic calibration: monotone in the teacher's cosine and inside the gold range
    raw = [_cos(SILVER_TABLE, ta, tb) for ta, tb in zip(a, b, strict=True)]
    order = np.argsort(raw)
    assert np.all(np.diff(np.asarray(y)[order]) >= -1e-12)
    assert min(y) >= 1.0 and max(y) <= 5.0
    a_lin, _, y_lin = silver_pairs(model, list(SILVER_TABLE), k_nearest=5, gold=gold, calibration="linear", seed=1)
    assert a_lin == a  # the same pairs, scored by a line (clipped to the gold range)
    assert min(y_lin) >= 1.0 and max(y_lin) <= 5.0
    assert np.all(np.diff(np.asarray(y_lin)[order]) >= -1e-12) and len(set(y_lin)) > 2


def test_silver_pairs_calibrate_on_gold_texts_outside_the_pool():
    model = VectorModel(SILVER_TABLE)
    gold = (["cat", "car", "cat", "kitten"], ["kitten", "boat", "car", "tiger"], [5.0, 1.0, 1.5, 4.5])
    pool = ["cat", "kitten", "tiger", "car", "bus"]  # "boat" only occurs in the gold pairs
    a, b, y = silver_pairs(model, pool, k_nearest=4, gold=gold, calibration="linear")
    assert "boat" not in a + b and len(a) == 10 - 3  # every pool pair but the 3 gold ones inside the pool
    gold_cos = np.array([_cos(SILVER_TABLE, ta, tb) for ta, tb in zip(gold[0], gold[1], strict=True)])
    slope, intercept = np.polyfit(gold_cos, gold[2], 1)  # the same line, fitted on all four gold pairs
    raw = np.array([_cos(SILVER_TABLE, ta, tb) for ta, tb in zip(a, b, strict=True)])
    assert np.allclose(y, np.clip(slope * raw + intercept, 1.0, 5.0), atol=1e-5)


def test_silver_pairs_random_partners_are_seeded():
    model = VectorModel(SILVER_TABLE)
    first = silver_pairs(model, list(SILVER_TABLE), k_nearest=0, n_random=2, calibration=None, seed=3)
    again = silver_pairs(model, list(SILVER_TABLE), k_nearest=0, n_random=2, calibration=None, seed=3)
    assert first == again and len(first[0]) > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k_nearest": 0, "n_random": 0, "calibration": None}, "not both 0"),
        ({"k_nearest": -1, "calibration": None}, "k_nearest"),
        ({"calibration": "platt", "gold": (["cat"], ["car"], [1.0])}, "calibration must be"),
        ({}, "needs the gold pairs"),
        ({"gold": ([], [], []), "calibration": "linear"}, "gold holds no pairs"),
    ],
)
def test_silver_pairs_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        silver_pairs(VectorModel(SILVER_TABLE), list(SILVER_TABLE), **kwargs)


def test_silver_pairs_need_two_sentences():
    with pytest.raises(ValueError, match="at least 2 distinct"):
        silver_pairs(VectorModel(SILVER_TABLE), ["cat", "cat"], calibration=None)
