"""Evaluation of sentence-embedding models: STS correlation, pair classification, duplicate retrieval, triplets,
paired retrieval and retrieval by class label.

High level::

    from textsiam.evaluation import evaluate, compare
    results = evaluate(model, ["stsb", "sick", "mrpc", "quora"], split="test")
    print(results.to_markdown())
    results.save("results.json")

    # your own data, in any of sentence-transformers' formats (the task follows from the columns):
    # a datasets.Dataset, a pandas.DataFrame, a dict of lists, a list of tuples or a CSV/TSV/JSONL/JSON file
    results = evaluate(model, {"sentence1": [...], "sentence2": [...], "score": [...]})  # graded: sts
    results = evaluate(model, "triplets.csv")  # anchor, positive, negative: triplet accuracy

One evaluator per task, in the style of sentence-transformers (call it with a model to get
``{metric: value}``; ``primary_metric`` names the headline one): :class:`STSEvaluator`,
:class:`PairClassificationEvaluator`, :class:`RetrievalEvaluator`, :class:`TripletEvaluator`,
:class:`PairedRetrievalEvaluator`, :class:`LabelRetrievalEvaluator`. Array level (for training loops
and your own scores): :func:`correlation_metrics`, :func:`find_best_threshold`,
:func:`pair_classification_metrics`, :func:`retrieval_metrics`, :func:`bootstrap_ci`,
:func:`paired_bootstrap`. All metric values are ×100.

Everything else lives in its module (e.g. :mod:`textsiam.evaluation.classification`); the old
package-level names still import from here, with a :class:`DeprecationWarning`, for one release.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from textsiam.evaluation.bootstrap import bootstrap_ci, paired_bootstrap
from textsiam.evaluation.classification import find_best_threshold, pair_classification_metrics
from textsiam.evaluation.comparison import compare
from textsiam.evaluation.correlation import correlation_metrics
from textsiam.evaluation.dev_metric import DevMetric, make_dev_metric
from textsiam.evaluation.evaluator import evaluate
from textsiam.evaluation.evaluator import evaluate_dataset as evaluate_dataset  # deprecated; not in __all__
from textsiam.evaluation.label_retrieval_evaluator import LabelRetrievalEvaluator
from textsiam.evaluation.pair_classification_evaluator import PairClassificationEvaluator
from textsiam.evaluation.paired_retrieval_evaluator import PairedRetrievalEvaluator
from textsiam.evaluation.results import EvaluationResults
from textsiam.evaluation.retrieval import retrieval_metrics
from textsiam.evaluation.retrieval_evaluator import RetrievalEvaluator
from textsiam.evaluation.sts_evaluator import STSEvaluator
from textsiam.evaluation.triplet_evaluator import TripletEvaluator

__all__ = [
    "DevMetric",
    "EvaluationResults",
    "LabelRetrievalEvaluator",
    "PairClassificationEvaluator",
    "PairedRetrievalEvaluator",
    "RetrievalEvaluator",
    "STSEvaluator",
    "TripletEvaluator",
    "bootstrap_ci",
    "compare",
    "correlation_metrics",
    "evaluate",
    "find_best_threshold",
    "make_dev_metric",
    "pair_classification_metrics",
    "paired_bootstrap",
    "retrieval_metrics",
]

#: Names the package exported before the 0.2 redesign -> the module that holds them now.
_MOVED: dict[str, str] = {
    **dict.fromkeys(("BootstrapResult", "PairedBootstrapResult", "bootstrap_cis"), "bootstrap"),
    **dict.fromkeys(
        (
            "accuracy_metric",
            "candidate_thresholds",
            "classification_metrics",
            "f1_metric",
            "predictions_metrics",
            "ranking_metrics",
            "threshold_sweep",
        ),
        "classification",
    ),
    **dict.fromkeys(("pearson", "scaled_mse", "spearman"), "correlation"),
    **dict.fromkeys(("encode_unique", "pair_scores"), "encoding"),
    "DEFAULT_DATASETS": "evaluator",
    "DEFAULT_SIMILARITIES": "metrics",
    "primary_metric_name": "evaluator",
    "package_versions": "results",
    **dict.fromkeys(("duplicate_queries", "per_query_metrics", "rank_relevant"), "retrieval"),
}


def __getattr__(name: str) -> Any:
    """The old package-level names, read from their module with a :class:`DeprecationWarning`."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = f"{__name__}.{_MOVED[name]}"
    warnings.warn(
        f"importing {name} from {__name__} is deprecated and will be removed in the next release; "
        f"import it from {module}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
