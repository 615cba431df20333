"""Semantic textual similarity (STS-B, SICK-R): :class:`STSEvaluator`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from textsiam.evaluation import inputs
from textsiam.evaluation.base import PairEvaluator, PrimaryInputs, TaskResult
from textsiam.evaluation.correlation import correlation_metrics, pearson, scaled_mse, spearman
from textsiam.evaluation.encoding import EncodedPairs
from textsiam.evaluation.metrics import TASK_STS, as_scores


class STSEvaluator(PairEvaluator):
    """Correlation of the model's similarity with graded gold scores.

    For every similarity function ``sim`` and pairs ``(a_i, b_i)`` with gold scores ``y_i``:

    * ``{sim}_pearson`` = 100 · Pearson r(s, y) and ``{sim}_spearman`` = 100 · Spearman ρ(s, y),
      where ``s_i = sim(embed(a_i), embed(b_i))``;
    * ``{primary}_mse`` (primary similarity only, when ``score_range = (low, high)`` is known) =
      ``mean((low + clip(s, 0, 1) · (high - low) - y)²)`` in the gold's units, not ×100
      (:func:`~textsiam.evaluation.correlation.scaled_mse`).

    Primary metric: ``{primary}_spearman``. Confidence intervals (percentile bootstrap over pairs):
    the primary Spearman, Pearson and MSE.

    Args:
        pairs: pair table with graded ``label`` (or ``score``) values.
        score_range: the gold scale ``(low, high)``, e.g. ``(0, 5)`` for STS-B; enables the MSE.
        **kwargs: see :class:`~textsiam.evaluation.base.PairEvaluator` (``name``, ``split``,
            ``similarities``, ``primary_similarity``, ``batch_size``, ``n_resamples``, ``seed``,
            ``confidence``, ``show_progress_bar``).

    Example:
        >>> evaluator = STSEvaluator(  # doctest: +SKIP
        ...     {"sentence1": ["A man plays.", "A cat sits."], "sentence2": ["A man is playing.", "Rain."],
        ...      "score": [4.8, 0.2]}, score_range=(0, 5))
        >>> evaluator(model)["cosine_spearman"]  # doctest: +SKIP
        100.0
    """

    task = TASK_STS
    primary_key = "spearman"

    def __init__(self, pairs: Any, *, score_range: Iterable[float] | None = None, **kwargs: Any) -> None:
        super().__init__(pairs, **kwargs)
        self.gold = as_scores(self.pairs.labels, "gold scores")
        self.score_range: tuple[float, float] | None = None
        if score_range is not None:
            low, high = (float(v) for v in score_range)
            self.score_range = (low, high)

    @classmethod
    def dataset_defaults(cls, name: str, data_dir: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``kwargs`` with the dataset's gold ``score_range`` unless given (``None`` for custom data)."""
        out = dict(kwargs)
        if out.get("score_range") is None:
            out["score_range"] = inputs.score_range(name)
        return out

    @staticmethod
    def primary_fn(gold: np.ndarray, values: np.ndarray) -> float:
        """Spearman ×100 of model scores ``values`` against ``gold``."""
        return spearman(values, gold)

    def compute(self, encoded: EncodedPairs, similarities: list[str], primary: str) -> TaskResult:
        """Pearson/Spearman for every similarity, MSE and CIs for the primary one."""
        scores = encoded.scores[0]
        metrics = correlation_metrics(scores, self.gold)
        fns = {f"{primary}_spearman": self.primary_fn, f"{primary}_pearson": lambda g, s: pearson(s, g)}
        info: dict[str, Any] = {}
        score_range = self.score_range
        if score_range is not None:  # MSE of the similarity read on the gold scale (see scaled_mse)
            metrics[f"{primary}_mse"] = scaled_mse(scores[primary], self.gold, score_range)
            fns[f"{primary}_mse"] = lambda g, s: scaled_mse(s, g, score_range)
            info["score_range"] = list(score_range)
        main = [f"{primary}_spearman", f"{primary}_pearson"]
        for sim in similarities:
            if sim != primary:
                main += [f"{sim}_spearman", f"{sim}_pearson"]
        ci = self.bootstrap(fns, self.gold, scores[primary])
        return TaskResult(metrics=metrics, ci=ci, info=info, main_metrics=main)

    def primary_inputs(self, model: Any) -> PrimaryInputs:
        """The gold scores and the model's primary-similarity scores."""
        _, primary = self.resolve(model)
        scores = self.encode(model, [primary]).scores[0][primary]
        return PrimaryInputs(primary, self.gold, scores)
