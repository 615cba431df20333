"""Evaluation of sentence-embedding models: STS correlation, pair classification, duplicate retrieval.

High level::

    from textsiam.evaluation import evaluate, compare
    results = evaluate(model, ["stsb", "sick", "mrpc", "quora"], split="test")
    print(results.to_markdown())
    results.save("results.json")

Array level (for training loops and custom data): :func:`correlation_metrics`,
:func:`find_best_threshold`, :func:`classification_metrics`, :func:`pair_classification_metrics`,
:func:`ranking_metrics`, :func:`retrieval_metrics`, :func:`bootstrap_ci`, :func:`paired_bootstrap`.
All metric values are ×100.
"""

from __future__ import annotations

from textsiam.evaluation.bootstrap import (
    BootstrapResult,
    PairedBootstrapResult,
    bootstrap_ci,
    bootstrap_cis,
    paired_bootstrap,
)
from textsiam.evaluation.classification import (
    accuracy_metric,
    candidate_thresholds,
    classification_metrics,
    f1_metric,
    find_best_threshold,
    pair_classification_metrics,
    predictions_metrics,
    ranking_metrics,
    threshold_sweep,
)
from textsiam.evaluation.correlation import correlation_metrics, pearson, scaled_mse, spearman
from textsiam.evaluation.encoding import encode_unique, pair_scores
from textsiam.evaluation.evaluator import (
    DEFAULT_DATASETS,
    DevMetric,
    compare,
    evaluate,
    evaluate_dataset,
    make_dev_metric,
)
from textsiam.evaluation.metrics import DEFAULT_SIMILARITIES, primary_metric_name
from textsiam.evaluation.results import EvaluationResults, package_versions
from textsiam.evaluation.retrieval import duplicate_queries, per_query_metrics, rank_relevant, retrieval_metrics

__all__ = [
    "DEFAULT_DATASETS",
    "DEFAULT_SIMILARITIES",
    "BootstrapResult",
    "DevMetric",
    "EvaluationResults",
    "PairedBootstrapResult",
    "accuracy_metric",
    "bootstrap_ci",
    "bootstrap_cis",
    "candidate_thresholds",
    "classification_metrics",
    "compare",
    "correlation_metrics",
    "scaled_mse",
    "duplicate_queries",
    "encode_unique",
    "evaluate",
    "evaluate_dataset",
    "f1_metric",
    "find_best_threshold",
    "make_dev_metric",
    "package_versions",
    "pair_classification_metrics",
    "pair_scores",
    "paired_bootstrap",
    "pearson",
    "per_query_metrics",
    "predictions_metrics",
    "primary_metric_name",
    "rank_relevant",
    "ranking_metrics",
    "retrieval_metrics",
    "spearman",
    "threshold_sweep",
]
