"""(anchor, positive, negative) triplets: :class:`TripletEvaluator`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from textsiam.evaluation import inputs
from textsiam.evaluation.base import PairEvaluator, PrimaryInputs, TaskResult
from textsiam.evaluation.cross_encoding import CROSS_ENCODER
from textsiam.evaluation.encoding import EncodedPairs
from textsiam.evaluation.inputs import PairData
from textsiam.evaluation.metrics import TASK_TRIPLET
from textsiam.model.scoring import check_similarity_name


class TripletEvaluator(PairEvaluator):
    """Share of triplets whose positive is more similar to the anchor than the negative.

    For every similarity function ``sim`` and triplets ``(a_i, p_i, n_i)``, ``{sim}_accuracy`` =
    ``100 · mean_i [sim(a_i, p_i) > sim(a_i, n_i) + margin]``, as sentence-transformers' ``TripletEvaluator``:
    the inequality is strict (a tie counts as a miss), and the distances are similarities here too
    (``euclidean`` = ``-||u - v||_2``, ``manhattan`` = ``-||u - v||_1``), so for them a triplet is right when
    ``d(a, n) > d(a, p) + margin``. Primary metric: ``{primary}_accuracy``. Confidence interval (percentile
    bootstrap over triplets): the primary accuracy. A cross-encoder scores the two pairs of each triplet itself:
    ``cross_encoder_accuracy`` = ``100 · mean_i [score(a_i, p_i) > score(a_i, n_i) + margin]``.

    Args:
        pairs: a triplet table: ``anchor, positive, negative`` (or ``text_a, text_b, text_c``) columns, rows
            ``(anchor, positive, negative)`` or the path of such a file (:mod:`textsiam.data.tables`).
        margin: how much more similar the positive must be, in the similarity's own units: one number, or
            ``{similarity: margin}`` (0 for the others; ``cross_encoder`` for a cross-encoder's score); default 0,
            as sentence-transformers.
        **kwargs: see :class:`~textsiam.evaluation.base.PairEvaluator` (``similarities`` default to cosine,
            dot, euclidean and manhattan; each costs one pass over the triplets).

    Raises:
        ValueError: not a triplet table (the message names the format found and its task), a bad margin.

    Example:
        >>> triplets = [("A man plays.", "A man is playing.", "A cat sleeps."),  # doctest: +SKIP
        ...             ("It rains.", "Rain is falling.", "Stocks fell.")]
        >>> TripletEvaluator(triplets)(model)["cosine_accuracy"]  # doctest: +SKIP
        100.0
    """

    task = TASK_TRIPLET
    primary_key = "accuracy"
    item_name = "triplets"
    row_name = "triplets"

    def __init__(self, pairs: Any, *, margin: float | Mapping[str, float] = 0.0, **kwargs: Any) -> None:
        what = f"{kwargs.get('name', 'custom')}/{kwargs.get('split', 'test')}"
        table = inputs.format_table(pairs, "triplet", self.task, what)
        anchors, positives, negatives = table["text_a"], table["text_b"], table["text_c"]
        super().__init__(PairData(anchors, positives, np.ones(len(anchors), dtype=np.int64)), **kwargs)
        #: The (anchor, negative) pairs, aligned with :attr:`pairs` (the (anchor, positive) ones).
        self.negatives = PairData(anchors, negatives, np.zeros(len(anchors), dtype=np.int64))
        self.margin = check_margin(margin)

    def pair_sets(self) -> list[PairData]:
        """The (anchor, positive) pairs, then the (anchor, negative) ones."""
        return [self.pairs, self.negatives]

    def margin_of(self, similarity: str) -> float:
        """The margin of ``similarity``."""
        if isinstance(self.margin, Mapping):
            return float(self.margin.get(similarity, 0.0))
        return float(self.margin)

    def correct(self, encoded: EncodedPairs, similarity: str) -> np.ndarray:
        """``(N,)`` 1 where ``sim(anchor, positive) > sim(anchor, negative) + margin``, else 0."""
        positive, negative = encoded.scores[0][similarity], encoded.scores[1][similarity]
        return (positive > negative + self.margin_of(similarity)).astype(np.int64)

    @staticmethod
    def primary_fn(gold: np.ndarray, values: np.ndarray) -> float:
        """Accuracy ×100: the share of triplets ranked right (``values`` 1; ``gold`` is all ones)."""
        return 100.0 * float(np.mean(np.asarray(values) == np.asarray(gold)))

    def compute(self, encoded: EncodedPairs, similarities: list[str], primary: str) -> TaskResult:
        """The accuracy for every similarity; the CI of the primary one."""
        correct = {sim: self.correct(encoded, sim) for sim in similarities}
        metrics = {f"{sim}_accuracy": 100.0 * float(np.mean(c)) for sim, c in correct.items()}
        key = f"{primary}_accuracy"
        ones = np.ones(len(self.pairs), dtype=np.int64)
        return TaskResult(
            metrics=metrics,
            ci=self.bootstrap({key: self.primary_fn}, ones, correct[primary]),
            info={"margin": self.margin},
            main_metrics=[key] + [f"{sim}_accuracy" for sim in similarities if sim != primary],
        )

    def primary_inputs(self, model: Any) -> PrimaryInputs:
        """All-ones gold and the model's per-triplet 0/1 results (1: ranked right)."""
        _, primary = self.resolve(model)
        correct = self.correct(self.encode(model, [primary]), primary)
        return PrimaryInputs(primary, np.ones(len(correct), dtype=np.int64), correct)


def check_margin(margin: float | Mapping[str, float]) -> float | dict[str, float]:
    """``margin`` checked: a finite number, or ``{similarity name (or "cross_encoder"): finite number}``.

    Raises:
        ValueError: an unknown similarity name or a non-finite margin.
        TypeError: neither a number nor a mapping of numbers.
    """
    if isinstance(margin, Mapping):
        return {
            sim if sim == CROSS_ENCODER else check_similarity_name(sim): margin_value(value)
            for sim, value in margin.items()
        }
    return margin_value(margin)


def margin_value(value: Any) -> float:
    """One margin as a float; ``TypeError`` for a non-number, ``ValueError`` for NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"margin must be a number or a dict {{similarity: number}}, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"margin must be finite, got {value}")
    return float(value)
