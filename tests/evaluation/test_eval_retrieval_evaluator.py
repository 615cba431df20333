from __future__ import annotations

import pytest

from textsiam.evaluation import PairClassificationEvaluator, RetrievalEvaluator, retrieval_metrics
from textsiam.evaluation.retrieval import duplicate_queries
from textsiam.evaluation.retrieval_evaluator import NoQueriesError

from .helpers import HashingEncoder, make_quora

KEYS = ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10")


def test_same_numbers_as_the_retrieval_part_of_quora_classification(fake_data, encoder, reference):
    r = RetrievalEvaluator.from_dataset("quora", n_resamples=100).evaluate(encoder)
    quora = next(rec for rec in reference["evaluate"] if rec["dataset"] == "quora")  # before the redesign
    assert r["task"] == "retrieval" and r["primary_metric"] == "cosine_mrr@10" and r["similarities"] == ["cosine"]
    assert r["main_metrics"] == [f"cosine_{k}" for k in KEYS] and r["retrieval"] == quora["retrieval"]
    for key in r["main_metrics"]:
        assert r["metrics"][key] == pytest.approx(quora["metrics"][key], rel=1e-12)
        assert r["ci"][key] == pytest.approx(quora["ci"][key], rel=1e-12)
    assert r["primary_value"] == r["metrics"]["cosine_mrr@10"]


def test_matches_the_array_level_function(encoder):
    pairs = make_quora(90, 5)
    metrics = RetrievalEvaluator(pairs, n_resamples=0)(encoder)
    corpus, query_ids, relevant = duplicate_queries(pairs["text_a"], pairs["text_b"], pairs["label"])
    expected = retrieval_metrics(encoder.encode(corpus), query_ids, relevant, "cosine")
    assert metrics == pytest.approx({f"cosine_{k}": v for k, v in expected.items()})


def test_more_similarities_and_transitive_relevance(encoder):
    pairs = make_quora(90, 5)
    evaluator = RetrievalEvaluator(pairs, similarities=["dot"], transitive_relevance=True, n_resamples=20)
    r = evaluator.evaluate(HashingEncoder(similarity_fn_name="manhattan"))
    assert r["similarities"] == ["dot", "manhattan"] and r["primary_metric"] == "manhattan_mrr@10"
    assert set(r["metrics"]) == {f"{s}_{k}" for s in ("dot", "manhattan") for k in KEYS}
    assert r["main_metrics"][:5] == [f"manhattan_{k}" for k in KEYS] and set(r["ci"]) == set(r["main_metrics"][:5])
    assert r["retrieval"]["relevance"] == "transitive" and r["retrieval"]["similarity"] == "manhattan"
    assert (
        r["retrieval"]["mean_relevant_per_query"]
        >= RetrievalEvaluator(pairs).evaluate(encoder)["retrieval"]["mean_relevant_per_query"]
    )


def test_primary_inputs_are_per_query(encoder):
    evaluator = RetrievalEvaluator(make_quora(60, 6), n_resamples=0)
    primary = evaluator.primary_inputs(encoder)
    assert len(primary.values) == len(evaluator.query_ids) and primary.threshold is None
    assert evaluator.primary_fn(primary.gold, primary.values) == pytest.approx(evaluator(encoder)["cosine_mrr@10"])


def test_no_queries_is_a_clear_error():
    pairs = {"text_a": ["a", "b", "c"], "text_b": ["d", "e", "c"], "label": [0, 0, 1]}  # c-c is a self pair
    with pytest.raises(NoQueriesError, match="no label-1 pair"):
        RetrievalEvaluator(pairs)
    assert issubclass(NoQueriesError, ValueError)
    assert PairClassificationEvaluator(pairs, retrieval=True).retrieval is None
