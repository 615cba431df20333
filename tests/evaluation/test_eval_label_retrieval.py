"""LabelRetrievalEvaluator: (text, label) tables, each text retrieving the other texts of its class."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from textsiam.evaluation import LabelRetrievalEvaluator
from textsiam.evaluation.label_retrieval_evaluator import label_queries
from textsiam.evaluation.retrieval import average_precision
from textsiam.evaluation.retrieval_evaluator import NoQueriesError

from .helpers import HashingEncoder, LookupEncoder, angle

#: On the unit circle (cosine = angular distance): class A at 0°, 30°, 100°; B at 10°, 80°; C (one text, never a
#: query, always a candidate) at 50°.
ANGLES = {"a1": 0, "a2": 30, "a3": 100, "b1": 10, "b2": 80, "c1": 50}
TABLE = {"text": list(ANGLES), "label": ["A", "A", "A", "B", "B", "C"]}


def model():
    return LookupEncoder({text: angle(deg) for text, deg in ANGLES.items()})


def ndcg(ranks, n_relevant):
    return sum(1 / math.log2(r + 1) for r in ranks) / sum(1 / math.log2(k + 2) for k in range(n_relevant))


#: The ranks of each query's classmates, by hand (the query itself is no candidate):
#: a1 (0°): b1 10°, a2 30°, c1 50°, b2 80°, a3 100° -> a2: 2, a3: 5
#: a2 (30°): b1 20°, c1 20°, a1 30°, b2 50°, a3 70° -> a1: 3, a3: 5
#: a3 (100°): b2 20°, c1 50°, a2 70°, b1 90°, a1 100° -> a2: 3, a1: 5
#: b1 (10°): a1 10°, a2 20°, c1 40°, b2 70°, a3 90° -> b2: 4
#: b2 (80°): a3 20°, c1 30°, a2 50°, b1 70°, a1 80° -> b1: 4
RANKS = [[2, 5], [3, 5], [3, 5], [4], [4]]


def test_metrics_by_hand():
    record = LabelRetrievalEvaluator(TABLE, n_resamples=0).evaluate(model())
    aps = [(1 / 2 + 2 / 5) / 2, (1 / 3 + 2 / 5) / 2, (1 / 3 + 2 / 5) / 2, 1 / 4, 1 / 4]
    expected = {
        "cosine_map": 100 * sum(aps) / 5,  # 33.67
        "cosine_mrr@10": 100 * (1 / 2 + 1 / 3 + 1 / 3 + 1 / 4 + 1 / 4) / 5,  # 33.33
        "cosine_recall@1": 0.0,
        "cosine_recall@5": 100.0,
        "cosine_recall@10": 100.0,
        "cosine_ndcg@10": 100 * sum(ndcg(r, len(r)) for r in RANKS) / 5,
    }
    assert record["metrics"] == pytest.approx(expected, rel=1e-12)
    assert list(record["metrics"]) == list(expected)
    assert record["primary_metric"] == "cosine_map" and record["primary_value"] == pytest.approx(100 * 1.6833333 / 5)
    assert record["task"] == "label_retrieval" and record["n_pairs"] == 6
    assert record["retrieval"]["n_queries"] == 5 and record["retrieval"]["n_candidates"] == 5
    assert record["retrieval"]["mean_relevant_per_query"] == pytest.approx(8 / 5)
    assert record["notes"][0].startswith("only 6 texts (fewer than 30)")


def test_average_precision_by_hand():
    assert average_precision([np.array([2, 5]), np.array([1]), np.array([3, 1])]).tolist() == pytest.approx(
        [(1 / 2 + 2 / 5) / 2, 1.0, (1 / 1 + 2 / 3) / 2]
    )
    with pytest.raises(ValueError, match="query 0 has no relevant candidates"):
        average_precision([np.array([], dtype=np.int64)])


def test_repeated_texts_count_once_and_numeric_labels_work():
    repeated = {"text": [*TABLE["text"], "a1", "b2"], "label": [*TABLE["label"], "A", "B"]}
    numbered = pd.DataFrame({"sentence": TABLE["text"], "label": [0, 0, 0, 1, 1, 2]})
    rows = list(zip(numbered["sentence"], numbered["label"].tolist(), strict=True))  # (text, label) tuples
    base = LabelRetrievalEvaluator(TABLE, n_resamples=0)(model())
    for table in (repeated, numbered, rows):
        assert LabelRetrievalEvaluator(table, n_resamples=0)(model()) == base


def test_queries_and_relevance():
    corpus, query_ids, relevant = label_queries(["x", "y", "z", "x", "w"], [1, 1, 2, 2, 3])
    # x has both labels: it is y's classmate (1) and z's (2); w is alone in class 3 and no query
    assert corpus == ["x", "y", "z", "w"] and query_ids.tolist() == [0, 1, 2]
    assert [r.tolist() for r in relevant] == [[1, 2], [0], [0]]
    assert [r.tolist() for r in relevant[1:]] == [[0], [0]] and len(relevant) == 3
    with pytest.raises(NoQueriesError, match="no class holds two distinct texts: no queries"):
        LabelRetrievalEvaluator({"text": ["a", "a", "b"], "label": [1, 1, 2]})


def test_ties_are_pessimistic():
    # r is q's classmate, n is not: they share a vector, so n ranks first and r second (never first)
    encoder = LookupEncoder({"q": [1.0, 0.0], "r": [0.0, 1.0], "n": [0.0, 1.0]})
    table = {"text": ["q", "r", "n"], "label": ["A", "A", "B"]}
    assert LabelRetrievalEvaluator(table, n_resamples=0)(encoder)["cosine_mrr@10"] == 50.0


def test_bootstrap_over_queries_on_a_larger_table():
    rng = np.random.default_rng(1)
    topics = {label: [f"{label}{i}" for i in range(6)] for label in ("sport", "food", "tech")}
    texts, labels = [], []
    for label, words in topics.items():
        for _ in range(12):
            texts.append(" ".join(rng.choice(words, size=3, replace=False)) + f" n{len(texts)}")
            labels.append(label)
    record = LabelRetrievalEvaluator({"text": texts, "label": labels}, n_resamples=200).evaluate(HashingEncoder())
    ci = record["ci"]["cosine_map"]
    assert ci["low"] <= record["primary_value"] <= ci["high"] and ci["low"] < ci["high"]
    assert record["retrieval"]["n_queries"] == 36 and "notes" not in record
    chance = 100 * 11 / 35  # a random ranking puts the 11 classmates anywhere among 35 candidates
    assert record["primary_value"] > chance + 20


def test_other_formats_are_refused_with_the_task_to_use():
    with pytest.raises(ValueError, match=r"label_retrieval task evaluates single texts .*task='paired_retrieval'"):
        LabelRetrievalEvaluator([("a", "b")])
