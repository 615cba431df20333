"""Shared conventions of the evaluation package: metric names, units, similarity functions, validation.

Units: every metric value is reported **×100** (correlations, accuracy, F1, precision, recall,
MCC, average precision, ROC-AUC, MRR, recall@k, nDCG), so ``84.2`` means 0.842. Thresholds are
reported in the raw units of the similarity function and are never scaled.

Metric keys are ``"{similarity}_{metric}"``, e.g. ``cosine_spearman``, ``dot_accuracy``,
``cosine_mrr@10``; see :func:`textsiam.evaluation.evaluator.primary_metric_name`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from textsiam.evaluation.cross_encoding import CROSS_ENCODER, is_cross_encoder
from textsiam.model.scoring import check_similarity_name

#: Similarity functions scored for every dataset (the model's own function is added if missing).
DEFAULT_SIMILARITIES: tuple[str, ...] = ("cosine", "dot", "euclidean", "manhattan")

#: Similarity function used for the primary metric when the model does not name one.
DEFAULT_PRIMARY_SIMILARITY = "cosine"

#: Task types: the first two as returned by :func:`textsiam.data.task_type`; the keys of the evaluator registry.
TASK_STS = "sts"
TASK_CLASSIFICATION = "classification"
TASK_RETRIEVAL = "retrieval"
#: (anchor, positive, negative) triplets: is the positive closer to the anchor than the negative?
TASK_TRIPLET = "triplet"
#: (anchor, positive) pairs without labels: each anchor retrieves its positives among all positives.
TASK_PAIRED_RETRIEVAL = "paired_retrieval"
#: (text, label) single texts: each text retrieves the other texts of its class.
TASK_LABEL_RETRIEVAL = "label_retrieval"

#: The task of each table format of :mod:`textsiam.data.tables` that has one task; ``pair`` tables are ``sts``
#: (graded labels) or ``classification`` (0/1 labels), see :func:`textsiam.evaluation.inputs.infer_task`.
FORMAT_TASKS: dict[str, str] = {
    "triplet": TASK_TRIPLET,
    "anchor_positive": TASK_PAIRED_RETRIEVAL,
    "single": TASK_LABEL_RETRIEVAL,
}

#: Datasets whose evaluation also includes duplicate-question retrieval.
RETRIEVAL_DATASETS: frozenset[str] = frozenset({"quora", "qqp"})

#: Retrieval cut-offs.
RECALL_KS: tuple[int, ...] = (1, 5, 10)
MRR_K = 10
NDCG_K = 10

#: Metrics computed per threshold for pair classification (all ×100).
CLASSIFICATION_METRICS: tuple[str, ...] = ("accuracy", "f1", "precision", "recall", "mcc")


def resolve_similarities(
    model: Any = None,
    similarities: Iterable[str] | None = None,
    primary_similarity: str | None = None,
) -> tuple[list[str], str]:
    """Return ``(similarities to score, primary similarity)``.

    The primary similarity is ``primary_similarity`` if given, else ``model.similarity_fn_name``
    if the model has one, else ``"cosine"``. It is always included in the returned list.

    A cross-encoder (:func:`~textsiam.evaluation.cross_encoding.is_cross_encoder`) has no similarity functions:
    its one score is ``(["cross_encoder"], "cross_encoder")``.

    Raises:
        ValueError: an unknown similarity name, or similarities named for a cross-encoder.
    """
    if model is not None and is_cross_encoder(model):
        named = [similarities] if isinstance(similarities, str) else list(similarities or [])
        named += [primary_similarity] if primary_similarity is not None else []
        if any(name != CROSS_ENCODER for name in named):
            raise ValueError(
                f"a cross-encoder scores each pair itself and has no similarity functions, but {named} were asked "
                f"for: leave similarities and primary_similarity unset (its score is named {CROSS_ENCODER!r})"
            )
        return [CROSS_ENCODER], CROSS_ENCODER
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
