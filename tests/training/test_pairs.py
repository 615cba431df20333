"""Pair / triplet construction and hard-negative mining."""

from __future__ import annotations

import numpy as np
import pytest

from textsiam.training import (
    duplicate_clusters,
    make_pos_neg_pairs,
    mine_hard_negatives,
    positive_pairs,
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
