"""Shared conventions of the evaluation package: metric names, units, similarity functions, validation.

Units: every metric value is reported **×100** (correlations, accuracy, F1, precision, recall,
MCC, average precision, ROC-AUC, MRR, recall@k, nDCG), so ``84.2`` means 0.842. Thresholds are
reported in the raw units of the similarity function and are never scaled.

Metric keys are ``"{similarity}_{metric}"``, e.g. ``cosine_spearman``, ``dot_accuracy``,
``cosine_mrr@10``; see :func:`primary_metric_name` and :func:`main_metric_names`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from textsiam.similarity import check_similarity_name

#: Similarity functions scored for every dataset (the model's own function is added if missing).
DEFAULT_SIMILARITIES: tuple[str, ...] = ("cosine", "dot", "euclidean", "manhattan")

#: Similarity function used for the primary metric when the model does not name one.
DEFAULT_PRIMARY_SIMILARITY = "cosine"

#: Task types, as returned by :func:`textsiam.data.task_type`.
TASK_STS = "sts"
TASK_CLASSIFICATION = "classification"

#: Datasets whose evaluation also includes duplicate-question retrieval.
RETRIEVAL_DATASETS: frozenset[str] = frozenset({"quora", "qqp"})

#: Retrieval cut-offs.
RECALL_KS: tuple[int, ...] = (1, 5, 10)
MRR_K = 10
NDCG_K = 10

#: Metrics computed per threshold for pair classification (all ×100).
CLASSIFICATION_METRICS: tuple[str, ...] = ("accuracy", "f1", "precision", "recall", "mcc")


def retrieval_metric_keys() -> tuple[str, ...]:
    """Names of the retrieval metrics, without the similarity prefix."""
    return (f"mrr@{MRR_K}", *(f"recall@{k}" for k in RECALL_KS), f"ndcg@{NDCG_K}")


def resolve_similarities(
    model: Any = None,
    similarities: Iterable[str] | None = None,
    primary_similarity: str | None = None,
) -> tuple[list[str], str]:
    """Return ``(similarities to score, primary similarity)``.

    The primary similarity is ``primary_similarity`` if given, else ``model.similarity_fn_name``
    if the model has one, else ``"cosine"``. It is always included in the returned list.
    """
    if primary_similarity is None:
        primary_similarity = getattr(model, "similarity_fn_name", None) or DEFAULT_PRIMARY_SIMILARITY
    primary = check_similarity_name(primary_similarity)
    if similarities is None:
        names = list(DEFAULT_SIMILARITIES)
    elif isinstance(similarities, str):
        names = [similarities]
    else:
        names = list(similarities)
    out: list[str] = []
    for name in [*names, primary]:
        check_similarity_name(name)
        if name not in out:
            out.append(name)
    return out, primary


def primary_metric_name(task: str, similarity: str = DEFAULT_PRIMARY_SIMILARITY) -> str:
    """Key of the primary metric: ``{sim}_spearman`` for STS, ``{sim}_accuracy`` for classification."""
    if task == TASK_STS:
        return f"{similarity}_spearman"
    if task == TASK_CLASSIFICATION:
        return f"{similarity}_accuracy"
    raise ValueError(f"unknown task type {task!r}; expected {TASK_STS!r} or {TASK_CLASSIFICATION!r}")


def main_metric_names(task: str, similarities: Sequence[str], primary: str, retrieval: bool = False) -> list[str]:
    """Headline metric keys shown by :meth:`EvaluationResults.to_markdown` (the primary one first)."""
    if task == TASK_STS:
        names = [f"{primary}_spearman", f"{primary}_pearson"]
        for sim in similarities:
            if sim != primary:
                names += [f"{sim}_spearman", f"{sim}_pearson"]
        return names
    if task != TASK_CLASSIFICATION:
        raise ValueError(f"unknown task type {task!r}")
    names = [
        f"{primary}_accuracy",
        f"{primary}_f1",
        f"{primary}_acc_thr_precision",
        f"{primary}_acc_thr_recall",
        f"{primary}_acc_thr_mcc",
        f"{primary}_ap",
        f"{primary}_roc_auc",
    ]
    for sim in similarities:
        if sim != primary:
            names += [f"{sim}_accuracy", f"{sim}_f1"]
    if retrieval:
        names += [f"{primary}_{key}" for key in retrieval_metric_keys()]
    return names


# ------------------------------------------------------------------------------------------ validation
def as_scores(x: Any, name: str = "scores") -> np.ndarray:
    """Return ``x`` as a finite 1-D float64 array, or raise ``ValueError``."""
    if hasattr(x, "detach"):  # torch.Tensor
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values ({int((~np.isfinite(arr)).sum())} of {arr.size})")
    return arr


def as_binary_labels(x: Any, name: str = "labels") -> np.ndarray:
    """Return ``x`` as a 1-D int64 array of 0/1 labels, or raise ``ValueError``."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    values = np.unique(arr)
    if not np.all(np.isin(values, (0, 1))):
        raise ValueError(f"{name} must be binary 0/1, got values {values[:10].tolist()}")
    return arr.astype(np.int64)


def check_same_length(**arrays: np.ndarray) -> int:
    """Return the common length of the arrays, or raise ``ValueError`` naming them."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"length mismatch: {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError(f"empty input: {lengths}")
    return n
