"""Percentile bootstrap confidence intervals and the paired bootstrap test.

* :func:`bootstrap_ci` / :func:`bootstrap_cis`: resample the evaluation items (pairs, or queries
  for retrieval) with replacement ``n_resamples`` times with ``numpy.random.default_rng(seed)``,
  recompute the metric, and report the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
  percentiles. Several metrics computed together share the same resamples.
* :func:`paired_bootstrap`: resample items once per iteration and score **both** systems on the
  same resample; the difference is ``metric(b) - metric(a)`` (positive = ``b`` is better for
  higher-is-better metrics). The two-sided p-value is twice the fraction of resampled
  differences on the other side of zero from the observed difference (a resampled difference of
  exactly 0 counts as the other side), clipped to 1. With ``B`` resamples its resolution is
  ``2 / B``: a reported 0 means ``p < 2 / B``.
* :func:`paired_bootstrap_runs`: the same test between two training recipes run several times
  each (seeds): the runs are resampled too, so training variance enters the interval.

Resamples on which a metric is undefined (NaN, e.g. a correlation of a constant resample) are
dropped and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

MetricFn = Callable[..., float]

#: Recommended minimum number of resamples for a reported confidence interval.
MIN_RECOMMENDED_RESAMPLES = 1000
#: The evaluators report no confidence interval (NaN; ``null`` in JSON, ``n/a`` in tables) for fewer items than this
#: (pairs, or queries for retrieval): resamples of so few items take few distinct values (2 pairs: every resample
#: either repeats a pair or is the data again), so the percentile interval is degenerate, e.g. [100, 100].
MIN_CI_ITEMS = 10
#: The evaluators warn (and note in the result) that a metric of fewer pairs than this says little.
MIN_RELIABLE_PAIRS = 30


@dataclass(frozen=True)
class BootstrapResult:
    """A point estimate with its percentile bootstrap confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return asdict(self)


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Paired bootstrap comparison of two systems on the same items (difference = b - a)."""

    value_a: float
    value_b: float
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return asdict(self)


def _check(arrays: tuple[Any, ...], n_resamples: int, confidence: float) -> tuple[list[np.ndarray], int]:
    if not arrays:
        raise ValueError("bootstrap needs at least one array to resample")
    arrs = [np.asarray(a) for a in arrays]
    n = len(arrs[0])
    if any(len(a) != n for a in arrs):
        raise ValueError(f"arrays to resample must have equal length, got {[len(a) for a in arrs]}")
    if n == 0:
        raise ValueError("cannot bootstrap zero items")
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive int, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n_resamples < MIN_RECOMMENDED_RESAMPLES:
        logger.warning("only %d bootstrap resamples (>= %d recommended)", n_resamples, MIN_RECOMMENDED_RESAMPLES)
    return arrs, n


def _interval(values: np.ndarray, confidence: float, what: str) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size < values.size:
        logger.warning("%s: %d of %d resamples gave NaN and were dropped", what, values.size - finite.size, values.size)
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(finite, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return float(low), float(high)


def bootstrap_cis(
    metric_fns: Mapping[str, MetricFn],
    *arrays: Any,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    show_progress_bar: bool = False,
) -> dict[str, BootstrapResult]:
    """Percentile bootstrap CIs of several metrics over the same resamples.

    Args:
        metric_fns: ``{name: fn}``; each ``fn(*resampled_arrays) -> float``.
        *arrays: equal-length arrays resampled jointly (row ``i`` of each stays together).
        n_resamples: number of bootstrap resamples.
        seed: seed of :func:`numpy.random.default_rng`.
        confidence: interval coverage, e.g. 0.95.
        show_progress_bar: show a tqdm bar over resamples.

    Returns:
        ``{name: BootstrapResult}``; ``estimate`` is the metric on the full (not resampled) data.
    """
    arrs, n = _check(arrays, n_resamples, confidence)
    rng = np.random.default_rng(seed)
    estimates = {name: float(fn(*arrs)) for name, fn in metric_fns.items()}
    samples = {name: np.empty(n_resamples) for name in metric_fns}
    for b in tqdm(range(n_resamples), desc="Bootstrap", unit="resample", disable=not show_progress_bar):
        idx = rng.integers(0, n, size=n)
        resampled = [a[idx] for a in arrs]
        for name, fn in metric_fns.items():
            samples[name][b] = fn(*resampled)
    out: dict[str, BootstrapResult] = {}
    for name in metric_fns:
        low, high = _interval(samples[name], confidence, name)
        out[name] = BootstrapResult(estimates[name], low, high, confidence, int(n_resamples), int(seed))
    return out


def bootstrap_ci(
    metric_fn: MetricFn,
    *arrays: Any,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    show_progress_bar: bool = False,
) -> BootstrapResult:
    """Percentile bootstrap CI of one metric; see :func:`bootstrap_cis`.

    Example:
        >>> import numpy as np
        >>> r = bootstrap_ci(np.mean, np.arange(100.0), n_resamples=1000)
        >>> r.low < r.estimate < r.high
        True
    """
    return bootstrap_cis(
        {"metric": metric_fn},
        *arrays,
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
        show_progress_bar=show_progress_bar,
    )["metric"]


def paired_bootstrap(
    metric_fn: Callable[[np.ndarray, np.ndarray], float],
    gold: Any,
    scores_a: Any,
    scores_b: Any,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    show_progress_bar: bool = False,
) -> PairedBootstrapResult:
    """Paired bootstrap test of ``metric_fn(gold, scores_b) - metric_fn(gold, scores_a)``.

    Args:
        metric_fn: ``fn(gold, scores) -> float``, higher is better (e.g. Spearman, or accuracy of
            0/1 predictions).
        gold: ``(N,)`` gold labels or ratings.
        scores_a: ``(N,)`` scores (or predictions) of system a.
        scores_b: ``(N,)`` scores (or predictions) of system b on the same items.
        n_resamples: number of resamples (same indices for a and b).
        seed: seed of :func:`numpy.random.default_rng`.
        confidence: CI coverage of the difference.
        show_progress_bar: show a tqdm bar.

    Returns:
        :class:`PairedBootstrapResult` with the observed values, ``difference = b - a``, its CI and
        the two-sided p-value described in the module docstring.
    """
    return paired_bootstrap_runs(
        metric_fn, gold, [scores_a], [scores_b], n_resamples, seed, confidence, show_progress_bar
    )


def paired_bootstrap_runs(
    metric_fn: Callable[[np.ndarray, np.ndarray], float],
    gold: Any,
    runs_a: Sequence[Any],
    runs_b: Sequence[Any],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    show_progress_bar: bool = False,
) -> PairedBootstrapResult:
    """Paired bootstrap test of two training recipes, each run several times (seeds), on the same items.

    A recipe's value is the mean of ``metric_fn`` over its runs. Each resample draws the items once
    (shared by every run of both recipes, as in :func:`paired_bootstrap`) and, for a recipe with
    more than one run, its runs with replacement, so the interval and p-value carry the run-to-run
    variance of training as well as the sampling of test items (a two-level bootstrap). With one run
    per recipe it is :func:`paired_bootstrap`, resample for resample.

    Args:
        metric_fn: ``fn(gold, scores) -> float``, higher is better.
        gold: ``(N,)`` gold labels or ratings.
        runs_a: the ``(N,)`` scores (or predictions) of each run of recipe a.
        runs_b: the same for recipe b, on the same items.
        n_resamples: number of resamples.
        seed: seed of :func:`numpy.random.default_rng`.
        confidence: CI coverage of the difference.
        show_progress_bar: show a tqdm bar.

    Returns:
        :class:`PairedBootstrapResult`: ``value_a``/``value_b`` are the means over runs,
        ``difference = value_b - value_a``, its CI and the two-sided p-value of the module docstring.

    Example:
        >>> import numpy as np
        >>> gold = np.arange(50) % 2
        >>> right, wrong = gold.copy(), 1 - gold
        >>> acc = lambda g, p: 100.0 * float(np.mean(g == p))
        >>> r = paired_bootstrap_runs(acc, gold, [wrong, wrong], [right, right, right])
        >>> r.difference, r.p_value
        (100.0, 0.0)
    """
    if len(runs_a) == 0 or len(runs_b) == 0:
        raise ValueError(f"each recipe needs at least one run, got {len(runs_a)} and {len(runs_b)}")
    (g, *runs), n = _check((gold, *runs_a, *runs_b), n_resamples, confidence)
    a, b = runs[: len(runs_a)], runs[len(runs_a) :]
    value_a = float(np.mean([metric_fn(g, r) for r in a]))
    value_b = float(np.mean([metric_fn(g, r) for r in b]))
    observed = value_b - value_a
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_resamples)
    for i in tqdm(range(n_resamples), desc="Paired bootstrap", unit="resample", disable=not show_progress_bar):
        idx = rng.integers(0, n, size=n)
        gi = g[idx]
        pick_a = a if len(a) == 1 else [a[j] for j in rng.integers(0, len(a), size=len(a))]
        pick_b = b if len(b) == 1 else [b[j] for j in rng.integers(0, len(b), size=len(b))]
        mean_b = np.mean([metric_fn(gi, r[idx]) for r in pick_b])
        diffs[i] = mean_b - np.mean([metric_fn(gi, r[idx]) for r in pick_a])
    low, high = _interval(diffs, confidence, "paired difference")
    finite = diffs[np.isfinite(diffs)]
    if finite.size == 0 or not np.isfinite(observed):
        p_value = float("nan")
    elif observed > 0:
        p_value = min(1.0, 2.0 * float(np.mean(finite <= 0)))
    elif observed < 0:
        p_value = min(1.0, 2.0 * float(np.mean(finite >= 0)))
    else:
        p_value = 1.0
    return PairedBootstrapResult(
        value_a, value_b, observed, low, high, p_value, confidence, int(n_resamples), int(seed)
    )
