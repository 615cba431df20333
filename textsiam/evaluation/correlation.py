"""Correlation metrics for semantic textual similarity (STS-B, SICK-R): Pearson and Spearman ×100."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from textsiam.evaluation.metrics import as_scores, check_same_length

logger = logging.getLogger(__name__)


def _correlation(fn: Any, scores: np.ndarray, gold: np.ndarray) -> float:
    if np.ptp(scores) == 0 or np.ptp(gold) == 0:
        # scipy would warn and return NaN: a constant input has no defined correlation.
        logger.debug("constant input: correlation is undefined, returning NaN")
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(fn(scores, gold).statistic) * 100.0


def pearson(scores: Any, gold: Any) -> float:
    """Pearson correlation ×100 (:func:`scipy.stats.pearsonr`); NaN if either input is constant.

    Example:
        >>> round(pearson([1, 2, 3], [2, 4, 6]), 6)
        100.0
    """
    s, g = as_scores(scores, "scores"), as_scores(gold, "gold")
    check_same_length(scores=s, gold=g)
    return _correlation(stats.pearsonr, s, g)


def spearman(scores: Any, gold: Any) -> float:
    """Spearman rank correlation ×100 (:func:`scipy.stats.spearmanr`, ties get average ranks).

    Example:
        >>> round(spearman([1, 2, 3], [1, 10, 100]), 6)
        100.0
    """
    s, g = as_scores(scores, "scores"), as_scores(gold, "gold")
    check_same_length(scores=s, gold=g)
    return _correlation(stats.spearmanr, s, g)


def correlation_metrics(scores: Any, gold: Any) -> dict[str, float]:
    """Pearson and Spearman ×100 of model scores against gold similarity ratings.

    Args:
        scores: ``(N,)`` model scores, or a mapping ``{similarity_name: (N,) scores}``.
        gold: ``(N,)`` gold ratings (e.g. 0-5 for STS-B).

    Returns:
        ``{"pearson": ..., "spearman": ...}`` for a single array, or
        ``{"{name}_pearson": ..., "{name}_spearman": ...}`` for each entry of a mapping.
    """
    if isinstance(scores, Mapping):
        out: dict[str, float] = {}
        for name, values in scores.items():
            out[f"{name}_pearson"] = pearson(values, gold)
            out[f"{name}_spearman"] = spearman(values, gold)
        return out
    return {"pearson": pearson(scores, gold), "spearman": spearman(scores, gold)}
