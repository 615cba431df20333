"""The public surface of :mod:`textsiam.evaluation` and the layout rules of the package."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import textsiam.evaluation as evaluation

PACKAGE_DIR = Path(evaluation.__file__).parent

PUBLIC = {
    "evaluate",
    "compare",
    "EvaluationResults",
    "STSEvaluator",
    "PairClassificationEvaluator",
    "RetrievalEvaluator",
    "TripletEvaluator",
    "PairedRetrievalEvaluator",
    "LabelRetrievalEvaluator",
    "DevMetric",
    "make_dev_metric",
    "bootstrap_ci",
    "paired_bootstrap",
    "correlation_metrics",
    "pair_classification_metrics",
    "retrieval_metrics",
    "find_best_threshold",
}

#: Names imported from the package by textsiam/, benchmarks/, tests/ and notebooks/ before the redesign.
OLD_PACKAGE_NAMES = [
    "DevMetric",
    "EvaluationResults",
    "classification_metrics",
    "compare",
    "evaluate",
    "evaluate_dataset",
    "find_best_threshold",
    "make_dev_metric",
    "package_versions",
    "ranking_metrics",
    "threshold_sweep",
    # the rest of the old __all__
    "DEFAULT_DATASETS",
    "DEFAULT_SIMILARITIES",
    "BootstrapResult",
    "PairedBootstrapResult",
    "accuracy_metric",
    "bootstrap_cis",
    "candidate_thresholds",
    "duplicate_queries",
    "encode_unique",
    "f1_metric",
    "pair_scores",
    "pearson",
    "per_query_metrics",
    "predictions_metrics",
    "primary_metric_name",
    "rank_relevant",
    "scaled_mse",
    "spearman",
]


def test_all_lists_only_the_user_api():
    assert set(evaluation.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(evaluation, name) is not None


@pytest.mark.parametrize("name", OLD_PACKAGE_NAMES)
def test_old_package_names_still_import(name):
    if name in PUBLIC or name == "evaluate_dataset":
        exec(f"from textsiam.evaluation import {name}", {})
        return
    with pytest.warns(DeprecationWarning, match=r"import it from textsiam\.evaluation\.\w+") as record:
        value = getattr(evaluation, name)
    module = re.search(r"import it from ([\w.]+)", str(record[0].message)).group(1)
    assert getattr(importlib.import_module(module), name) is value


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        evaluation.nope  # noqa: B018


def test_primary_metric_name_comes_from_the_evaluators():
    from textsiam.evaluation.evaluator import primary_metric_name

    assert primary_metric_name("sts", "dot") == "dot_spearman"
    assert primary_metric_name("classification") == "cosine_accuracy"
    assert primary_metric_name("retrieval") == "cosine_mrr@10"
    assert primary_metric_name("triplet", "dot") == "dot_accuracy"
    assert primary_metric_name("paired_retrieval") == "cosine_mrr@10"
    assert primary_metric_name("label_retrieval") == "cosine_map"
    with pytest.raises(ValueError, match="unknown task"):
        primary_metric_name("nli")


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE_DIR.glob("*.py"))}


def test_private_names_stay_in_their_module():
    """A name with a leading underscore is never imported, or read as ``other._name``, by another module."""
    offenders = []
    for stem, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                offenders += [f"{stem}: {a.name}" for a in node.names if a.name.startswith("_")]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                    offenders.append(f"{stem}: {ast.unparse(node)}")
    assert offenders == []


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE_DIR.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes
