"""PairedRetrievalEvaluator: label-free (anchor, positive) pairs, each anchor retrieving its positives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textsiam.evaluation import PairedRetrievalEvaluator
from textsiam.evaluation.paired_retrieval_evaluator import paired_queries
from textsiam.evaluation.retrieval import rank_relevant
from textsiam.evaluation.retrieval_evaluator import NoQueriesError

from .helpers import HashingEncoder, LookupEncoder, angle, make_quora

#: On the unit circle (cosine = angular distance). The candidates are the positives d1 (10°), d2 (30°), d4 (50°)
#: and d3 (90°); q1 has two positives (d1 and d4).
VECTORS = {"q1": 0, "q2": 80, "q3": 25, "d1": 10, "d2": 30, "d3": 90, "d4": 50}
PAIRS = [("q1", "d1"), ("q2", "d2"), ("q3", "d3"), ("q1", "d4")]


def model(**kwargs):
    return LookupEncoder({text: angle(deg) for text, deg in VECTORS.items()}, **kwargs)


def ndcg(ranks, n_relevant):
    return sum(1 / math.log2(r + 1) for r in ranks) / sum(1 / math.log2(k + 2) for k in range(n_relevant))


def test_metrics_by_hand():
    # q1 (0°): d1 10° away, d2 30°, d4 50°, d3 90°: its positives d1, d4 rank 1 and 3
    # q2 (80°): d3 10°, d4 30°, d2 50°, d1 70°: d2 ranks 3
    # q3 (25°): d2 5°, d1 15°, d4 25°, d3 65°: d3 ranks 4
    record = PairedRetrievalEvaluator(PAIRS, n_resamples=0).evaluate(model())
    expected = {
        "cosine_mrr@10": 100 * (1 + 1 / 3 + 1 / 4) / 3,
        "cosine_recall@1": 100 * (1 / 2 + 0 + 0) / 3,
        "cosine_recall@5": 100.0,
        "cosine_recall@10": 100.0,
        "cosine_ndcg@10": 100 * (ndcg([1, 3], 2) + ndcg([3], 1) + ndcg([4], 1)) / 3,
    }
    assert record["metrics"] == pytest.approx(expected, rel=1e-12)
    assert list(record["metrics"]) == list(expected) and record["main_metrics"] == list(expected)
    assert record["task"] == "paired_retrieval" and record["primary_metric"] == "cosine_mrr@10"
    assert record["retrieval"] == {
        "similarity": "cosine",
        "n_queries": 3,
        "n_candidates": 4,
        "relevance": "paired positives",
        "mean_relevant_per_query": 4 / 3,
        "ties": "pessimistic",
    }
    assert record["n_pairs"] == 4 and record["n_unique_texts"] == 7


def test_a_query_is_never_its_own_answer():
    # symmetric pairs: "a" is also b's positive; without the exclusion, a would find itself first (MRR 50)
    vectors = {"a": angle(0), "b": angle(40), "c": angle(100), "d": angle(120)}
    pairs = [("a", "b"), ("b", "a"), ("c", "d")]
    assert PairedRetrievalEvaluator(pairs, n_resamples=0)(LookupEncoder(vectors))["cosine_mrr@10"] == 100.0
    queries, corpus, query_ids, relevant = paired_queries(*zip(*pairs, strict=True))
    assert queries == ["a", "b", "c"] and corpus == ["b", "a", "d"]
    assert query_ids.tolist() == [1, 0, -1] and [r.tolist() for r in relevant] == [[0], [1], [2]]


def test_pairs_of_a_text_with_itself_are_skipped():
    queries, corpus, query_ids, relevant = paired_queries(["x", "x", "y"], ["x", "z", "y"])
    assert queries == ["x"] and corpus == ["x", "z", "y"] and query_ids.tolist() == [0]
    assert [r.tolist() for r in relevant] == [[1]]  # x's only candidates: z and y; z is its positive
    with pytest.raises(NoQueriesError, match="every pair is a text with itself: no queries"):
        PairedRetrievalEvaluator([("x", "x"), ("y", "y")], name="mine")


def test_ranks_with_query_embeddings_match_ranks_of_corpus_rows():
    # the same task, once with the queries as rows of the corpus and once as separate embeddings
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(12, 5)).astype(np.float32)
    ids = np.array([0, 3, 7])
    relevant = [np.array([1, 2]), np.array([4]), np.array([5, 8, 9])]
    as_rows = rank_relevant(corpus, ids, relevant, chunk_size=2)
    as_queries = rank_relevant(corpus, ids, relevant, chunk_size=2, query_embeddings=corpus[ids])
    assert [r.tolist() for r in as_rows] == [r.tolist() for r in as_queries]
    # -1: the query is not in the corpus, so nothing is excluded (its twin row 0 now competes with row 1, 2)
    outside = rank_relevant(corpus, np.array([-1]), relevant[:1], query_embeddings=corpus[:1])
    assert outside[0].tolist() == [r + 1 for r in as_rows[0].tolist()]
    with pytest.raises(ValueError, match="query_ids must be corpus rows"):
        rank_relevant(corpus, np.array([-1]), relevant[:1])


def test_ranks_are_the_pessimistic_ranks_of_the_definition():
    # k + #{non-relevant candidates with score >= s_(k)}, counted one by one, on embeddings with many ties
    rng = np.random.default_rng(3)
    corpus = rng.integers(0, 3, size=(30, 2)).astype(np.float32)  # few distinct vectors: ties everywhere
    ids = np.arange(0, 30, 3)
    relevant = [
        np.sort(rng.choice(np.delete(np.arange(30), q), size=int(rng.integers(1, 8)), replace=False)) for q in ids
    ]
    for sim in ("dot", "euclidean"):
        ranks = rank_relevant(corpus, ids, relevant, sim, chunk_size=4)
        for q, rel, got in zip(ids, relevant, ranks, strict=True):
            row = corpus @ corpus[q] if sim == "dot" else -np.linalg.norm(corpus - corpus[q], axis=1)
            others = [c for c in range(30) if c != q and c not in rel]
            expected = [k + 1 + sum(row[c] >= s for c in others) for k, s in enumerate(sorted(row[rel], reverse=True))]
            assert got.tolist() == expected, (sim, q)


def test_bootstrap_over_queries_and_other_similarities():
    quora = make_quora(90, 3)
    pairs = [(a, b) for a, b, y in zip(quora["text_a"], quora["text_b"], quora["label"], strict=True) if y == 1]
    evaluator = PairedRetrievalEvaluator(pairs, n_resamples=200, similarities=["dot"])
    record = evaluator.evaluate(HashingEncoder())
    assert record["retrieval"]["n_queries"] >= 10 and set(record["ci"]) == {
        f"cosine_{k}" for k in ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10")
    }
    ci = record["ci"]["cosine_mrr@10"]
    assert ci["low"] <= record["primary_value"] <= ci["high"] and ci["low"] < ci["high"]
    assert "dot_mrr@10" in record["metrics"] and record["main_metrics"][0] == "cosine_mrr@10"
    primary = evaluator.primary_inputs(HashingEncoder())
    assert evaluator.primary_fn(primary.gold, primary.values) == pytest.approx(record["primary_value"])


def test_other_formats_are_refused_with_the_task_to_use():
    with pytest.raises(ValueError, match=r"paired_retrieval task evaluates \(anchor, positive\) pairs.*task='triplet'"):
        PairedRetrievalEvaluator([("a", "b", "c")])
    with pytest.raises(ValueError, match=r"these are labelled pairs .*task='sts' or 'classification'"):
        PairedRetrievalEvaluator({"question1": ["a"], "question2": ["b"], "is_duplicate": [1]})
