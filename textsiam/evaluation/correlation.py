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


def _correlation(fn: Any, scores: Any, gold: Any) -> float:
    s, g = as_scores(scores, "scores"), as_scores(gold, "gold")
    check_same_length(scores=s, gold=g)
    if np.ptp(s) == 0 or np.ptp(g) == 0:
        # scipy would warn and return NaN: a constant input has no defined correlation.
        logger.debug("constant input: correlation is undefined, returning NaN")
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(fn(s, g).statistic) * 100.0


def pearson(scores: Any, gold: Any) -> float:
    """Pearson correlation ×100 (:func:`scipy.stats.pearsonr`); NaN if either input is constant.

    Example:
        >>> round(pearson([1, 2, 3], [2, 4, 6]), 6)
        100.0
    """
    return _correlation(stats.pearsonr, scores, gold)


def spearman(scores: Any, gold: Any) -> float:
    """Spearman rank correlation ×100 (:func:`scipy.stats.spearmanr`, ties get average ranks).

    Example:
        >>> round(spearman([1, 2, 3], [1, 10, 100]), 6)
        100.0
    """
    return _correlation(stats.spearmanr, scores, gold)


def scaled_mse(scores: Any, gold: Any, score_range: tuple[float, float]) -> float:
    """Mean squared error of similarities read as scores on the gold scale (not ×100).

    A similarity ``s`` is clipped to ``[0, 1]`` and mapped linearly onto ``score_range``:
    ``pred = low + clip(s, 0, 1) * (high - low)``; the result is ``mean((pred - gold)^2)`` in the
    gold's own units (1-5 for SICK, as in Tai et al. 2015 and Mueller & Thyagarajan 2016). It is only
    meaningful for models trained to put the normalised score into the similarity (MaLSTM's
    ``exp(-L1)``, cosine-MSE); CoSENT and contrastive losses only fix the order, not the scale.

    Example:
        >>> scaled_mse([0.0, 1.0], [1.0, 5.0], (1.0, 5.0))
        0.0
    """
    s, g = as_scores(scores, "scores"), as_scores(gold, "gold")
    check_same_length(scores=s, gold=g)
    low, high = float(score_range[0]), float(score_range[1])
    if not high > low:
        raise ValueError(f"score_range must be (low, high) with high > low, got {score_range!r}")
    pred = low + np.clip(s, 0.0, 1.0) * (high - low)
    return float(np.mean((pred - g) ** 2)) if len(g) else float("nan")


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
