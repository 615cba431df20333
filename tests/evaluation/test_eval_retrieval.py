from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from textsiam.evaluation import retrieval_metrics
from textsiam.evaluation.retrieval import duplicate_queries, per_query_metrics, rank_relevant


def test_duplicate_queries_direct_and_transitive():
    a = ["q1", "q2", "q4", "q1", "q7"]
    b = ["q2", "q3", "q5", "q6", "q7"]
    y = [1, 1, 0, 0, 1]  # q7-q7 is a self pair: ignored
    corpus, qids, rel = duplicate_queries(a, b, y)
    assert corpus == ["q1", "q2", "q4", "q7", "q3", "q5", "q6"]  # first seen: all text_a, then text_b
    idx = {t: i for i, t in enumerate(corpus)}
    assert [corpus[q] for q in qids] == ["q1", "q2", "q3"]
    assert [sorted(corpus[i] for i in r) for r in rel] == [["q2"], ["q1", "q3"], ["q2"]]
    _, qids_t, rel_t = duplicate_queries(a, b, y, transitive=True)
    np.testing.assert_array_equal(qids_t, qids)
    assert [sorted(corpus[i] for i in r) for r in rel_t] == [["q2", "q3"], ["q1", "q3"], ["q1", "q2"]]
    assert all(idx["q7"] not in r for r in rel)


def test_per_query_metrics_hand_computed():
    out = per_query_metrics([np.array([1]), np.array([3, 12]), np.array([11])])
    np.testing.assert_allclose(out["mrr@10"], [1.0, 1 / 3, 0.0])
    np.testing.assert_allclose(out["recall@1"], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(out["recall@5"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(out["recall@10"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(out["ndcg@10"], [1.0, (1 / math.log2(4)) / (1 + 1 / math.log2(3)), 0.0])


def test_rank_relevant_hand_example_excludes_query_and_uses_chunks():
    # corpus on the unit circle: angles 0, 10, 20, 90, 180 degrees
    ang = np.deg2rad([0, 10, 20, 90, 180])
    emb = np.stack([np.cos(ang), np.sin(ang)], axis=1).astype(np.float32)
    qids = np.array([0, 4])
    rel = [np.array([2, 3]), np.array([0])]
    for chunk in (1, 8):
        ranks = rank_relevant(emb, qids, rel, "cosine", chunk_size=chunk)
        # query 0 ranks 1 (10 deg), 2 (20 deg), 3 (90 deg), 4 (180 deg); itself is not a candidate
        np.testing.assert_array_equal(ranks[0], [2, 3])
        # query 4 (180 deg) ranks 3 (90), 2 (20), 1 (10), 0 (0)
        np.testing.assert_array_equal(ranks[1], [4])
    m = retrieval_metrics(emb, qids, rel)
    assert m["mrr@10"] == pytest.approx(100 * (1 / 2 + 1 / 4) / 2)
    assert m["recall@1"] == pytest.approx(0.0)
    assert m["recall@5"] == pytest.approx(100.0)


def test_ties_are_ranked_pessimistically():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    # query 0: candidates 1, 2, 3 all tie; only 3 is relevant -> rank 3, not 1
    ranks = rank_relevant(emb, np.array([0]), [np.array([3])])
    np.testing.assert_array_equal(ranks[0], [3])
    ranks = rank_relevant(emb, np.array([0]), [np.array([1, 3])])
    np.testing.assert_array_equal(ranks[0], [2, 3])


def test_ndcg_matches_sklearn_without_ties():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(40, 8)).astype(np.float32)
    qids = np.arange(0, 40, 4)
    rel = [np.setdiff1d(rng.choice(40, size=int(rng.integers(1, 5)), replace=False), [q]) for q in qids]
    keep = [i for i, r in enumerate(rel) if len(r)]
    qids, rel = qids[keep], [rel[i] for i in keep]
    out = per_query_metrics(rank_relevant(emb, qids, rel, "dot"))
    sims = emb[qids] @ emb.T
    for i, (q, r) in enumerate(zip(qids, rel, strict=True)):
        cand = np.setdiff1d(np.arange(40), [q])
        y_true = np.isin(cand, r).astype(float)[None, :]
        assert out["ndcg@10"][i] == pytest.approx(ndcg_score(y_true, sims[i, cand][None, :], k=10), abs=1e-6)
