"""The base class of the task evaluators: one encode call per evaluation, bootstrap CIs and the result record.

An evaluator holds the data of one evaluation (e.g. a test split and, for pair classification, the
dev split that chooses the thresholds). Calling it with a model returns ``{metric key: value}``
(all ×100, see :mod:`textsiam.evaluation.metrics`); :meth:`PairEvaluator.evaluate` returns the full
record that :class:`~textsiam.evaluation.results.EvaluationResults` stores.

A new task is one subclass (set :attr:`~PairEvaluator.task` and :attr:`~PairEvaluator.primary_key`,
implement :meth:`~PairEvaluator.compute`, :meth:`~PairEvaluator.primary_inputs` and
:meth:`~PairEvaluator.primary_fn`) plus one entry in :data:`textsiam.evaluation.evaluator.EVALUATORS`.

The model is a twin tower (``encode``) or a cross-encoder (``predict`` and no ``encode``): :meth:`PairEvaluator.encode`
scores the pairs of either (:func:`~textsiam.evaluation.encoding.encode_pairs`), a cross-encoder's under the one
score name ``cross_encoder``. Tasks that rank texts by their embeddings (:attr:`PairEvaluator.needs_embeddings`)
refuse a cross-encoder (:meth:`PairEvaluator.check_model`).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from textsiam.evaluation import inputs
from textsiam.evaluation.bootstrap import MIN_CI_ITEMS, MIN_RELIABLE_PAIRS, MetricFn, bootstrap_cis
from textsiam.evaluation.cross_encoding import CROSS_ENCODER_TASKS, is_cross_encoder
from textsiam.evaluation.encoding import EncodedPairs, encode_pairs, model_name
from textsiam.evaluation.inputs import PairData, pair_columns
from textsiam.evaluation.metrics import DEFAULT_PRIMARY_SIMILARITY, resolve_similarities

logger = logging.getLogger(__name__)

EvaluatorT = TypeVar("EvaluatorT", bound="PairEvaluator")
#: ``show_progress_bar=None`` shows bars for data sets of at least this many pairs (long enough to wait for).
PROGRESS_MIN_PAIRS = 1000


@dataclass
class TaskResult:
    """What :meth:`PairEvaluator.compute` returns.

    Attributes:
        metrics: ``{key: value}`` (×100 unless the metric says otherwise).
        ci: ``{key: {"low", "high"}}`` for the bootstrapped metrics.
        info: task-specific record fields (thresholds, score range, retrieval protocol, ...).
        main_metrics: headline keys for :meth:`EvaluationResults.to_markdown`, the primary one first.
    """

    metrics: dict[str, float]
    ci: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    main_metrics: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrimaryInputs:
    """Per-item inputs of the primary metric of one model: ``primary_fn(gold, values)`` is the metric.

    Attributes:
        similarity: the similarity function used.
        gold: ``(N,)`` gold labels or scores (for retrieval: one entry per query).
        values: ``(N,)`` model scores, predictions or per-query values, aligned with ``gold``.
        threshold: the decision threshold behind 0/1 predictions, if any.
    """

    similarity: str
    gold: np.ndarray
    values: np.ndarray
    threshold: float | None = None


class PairEvaluator(ABC):
    """Base class of the evaluators of sentence-pair data (see the module docstring).

    Args:
        pairs: the pairs to evaluate: a pair table (:func:`textsiam.evaluation.inputs.pair_columns`).
        name: dataset name for records and logs.
        split: split name for records and logs.
        similarities: similarity functions to score (default cosine, dot, euclidean, manhattan, plus
            the primary one).
        primary_similarity: similarity of the primary metric (default ``model.similarity_fn_name`` or
            ``"cosine"``).
        batch_size: forwarded to ``model.encode``.
        n_resamples: bootstrap resamples for CIs (0 disables CIs).
        seed: bootstrap seed.
        confidence: CI coverage.
        show_progress_bar: tqdm bars for encoding and bootstrap; ``None``: only for :data:`PROGRESS_MIN_PAIRS` pairs
            or more.
        positive_label: a cross-encoder with several labels: the label (index or name) whose probability is the
            score of a pair (default: label 1 of two; required for three or more, see
            :func:`~textsiam.evaluation.cross_encoding.positive_label_index`); ignored by models that give one score
            per pair (twin towers, cross-encoders with one label), so that one setting serves several models.

    Attributes:
        primary_metric: key of the primary metric, e.g. ``cosine_spearman``; it follows the model's
            similarity function after each call.
    """

    #: Task name (the key of the evaluator in the registry and the record's ``task``).
    task: ClassVar[str]
    #: Metric whose ``{similarity}_{primary_key}`` value is the primary one.
    primary_key: ClassVar[str]
    #: Higher primary values are better.
    greater_is_better: ClassVar[bool] = True
    #: What the bootstrap resamples, for messages: ``pairs`` (``queries`` for retrieval).
    item_name: ClassVar[str] = "pairs"
    #: What one row of the evaluated data is, for messages: ``pairs`` (``triplets``, ``texts``).
    row_name: ClassVar[str] = "pairs"
    #: The task ranks texts by their embeddings, so a cross-encoder (which has none) cannot be evaluated on it.
    needs_embeddings: ClassVar[bool] = False

    def __init__(
        self,
        pairs: Any,
        *,
        name: str = "custom",
        split: str = "test",
        similarities: Iterable[str] | None = None,
        primary_similarity: str | None = None,
        batch_size: int = 64,
        n_resamples: int = 1000,
        seed: int = 0,
        confidence: float = 0.95,
        show_progress_bar: bool | None = False,
        positive_label: int | str | None = None,
    ) -> None:
        self.name = name
        self.split = split
        self.pairs: PairData = pair_columns(pairs, f"{name}/{split}")
        if similarities is not None:  # a list, so that a generator is not used up by the check below
            similarities = [similarities] if isinstance(similarities, str) else list(similarities)
        self.similarities = similarities
        self.primary_similarity = primary_similarity
        resolve_similarities(None, similarities, primary_similarity)  # fail early on an unknown name
        self.batch_size = batch_size
        self.n_resamples = n_resamples
        self.seed = seed
        self.confidence = confidence
        self.show_progress_bar = show_progress_bar
        self.positive_label = positive_label
        self.primary_metric = f"{primary_similarity or DEFAULT_PRIMARY_SIMILARITY}_{self.primary_key}"

    @property
    def progress(self) -> bool:
        """Whether to show progress bars: ``show_progress_bar``, or for ``None`` whether the data set is long."""
        if self.show_progress_bar is None:
            return len(self.pairs) >= PROGRESS_MIN_PAIRS
        return bool(self.show_progress_bar)

    @classmethod
    def from_dataset(
        cls: type[EvaluatorT], name: str, split: str = "test", data_dir: Any = None, *, pairs: Any = None, **kwargs: Any
    ) -> EvaluatorT:
        """The evaluator of ``split`` of the registered dataset ``name``.

        Args:
            name: dataset name (see :mod:`textsiam.data`) or the path of a table file; any name when ``pairs`` is
                given.
            split: split to evaluate.
            data_dir: forwarded to the loader (default ``$TEXTSIAM_DATA`` / Hub).
            pairs: use this table instead of loading ``split`` (the dataset's own settings, such as
                its score range or dev split, still apply when ``name`` is registered).
            **kwargs: constructor keywords.
        """
        if pairs is None:
            pairs = inputs.load_split(name, split, data_dir)
        return cls(pairs, name=name, split=split, **cls.dataset_defaults(name, data_dir, kwargs))

    @classmethod
    def dataset_defaults(cls, name: str, data_dir: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Constructor keywords for dataset ``name``: ``kwargs`` plus what the dataset provides (nothing here)."""
        return dict(kwargs)

    # ------------------------------------------------------------------------------ subclass API
    @abstractmethod
    def compute(self, encoded: EncodedPairs, similarities: list[str], primary: str) -> TaskResult:
        """Metrics from the encoded data; ``encoded.scores`` follows :meth:`pair_sets`."""

    @abstractmethod
    def primary_inputs(self, model: Any) -> PrimaryInputs:
        """Per-item inputs of the primary metric of ``model`` (for :func:`compare` and :class:`DevMetric`)."""

    @staticmethod
    @abstractmethod
    def primary_fn(gold: np.ndarray, values: np.ndarray) -> float:
        """The primary metric from :class:`PrimaryInputs` ``gold`` and ``values`` (resampled by bootstraps)."""

    def pair_sets(self) -> list[PairData]:
        """The sets of pairs whose texts are encoded (the evaluated pairs first)."""
        return [self.pairs]

    # ------------------------------------------------------------------------------ shared machinery
    def check_model(self, model: Any) -> None:
        """Refuse a model this evaluation cannot score, before any work.

        Raises:
            ValueError: a cross-encoder on a task that ranks texts by their embeddings (:attr:`needs_embeddings`).
        """
        if is_cross_encoder(model):
            if self.needs_embeddings:
                raise ValueError(
                    f"{self.name}/{self.split}: task {self.task!r} ranks texts by their embeddings, and a "
                    f"cross-encoder ({model_name(model)}) has none: evaluate it on a task that scores given pairs "
                    f"({', '.join(CROSS_ENCODER_TASKS)}), or evaluate a twin tower (SiameseModel) on {self.task!r}"
                )

    def resolve(self, model: Any) -> tuple[list[str], str]:
        """``(similarities to score, primary similarity)`` for ``model``; updates :attr:`primary_metric`.

        A cross-encoder gives ``(["cross_encoder"], "cross_encoder")``; :meth:`check_model` runs first.
        """
        self.check_model(model)
        sims, primary = resolve_similarities(model, self.similarities, self.primary_similarity)
        self.primary_metric = f"{primary}_{self.primary_key}"
        return sims, primary

    def encode(self, model: Any, similarities: Iterable[str]) -> EncodedPairs:
        """Encode every distinct text of :meth:`pair_sets` once and score each set with ``similarities`` (a
        cross-encoder: score every distinct pair once, :func:`~textsiam.evaluation.encoding.encode_pairs`)."""
        sets = [(p.text_a, p.text_b) for p in self.pair_sets()]
        return encode_pairs(
            model, sets, similarities, self.batch_size, self.progress, positive_label=self.positive_label
        )

    def bootstrap(self, metric_fns: Mapping[str, MetricFn], *arrays: Any) -> dict[str, dict[str, Any]]:
        """Percentile bootstrap CIs ``{key: {"low", "high"}}`` with this evaluator's settings (``{}`` if off).

        Fewer than :data:`~textsiam.evaluation.bootstrap.MIN_CI_ITEMS` items: no interval, ``{"low": nan,
        "high": nan, "undefined": <why>}`` for every key (a warning is logged, and :meth:`evaluate` notes it).
        """
        if not self.n_resamples:
            return {}
        n = len(arrays[0]) if arrays else 0
        if n < MIN_CI_ITEMS:
            why = f"only {n} {self.item_name} to resample, fewer than {MIN_CI_ITEMS}"
            logger.warning("%s/%s: no confidence interval: %s", self.name, self.split, why)
            return {key: {"low": float("nan"), "high": float("nan"), "undefined": why} for key in metric_fns}
        results = bootstrap_cis(
            metric_fns,
            *arrays,
            n_resamples=self.n_resamples,
            seed=self.seed,
            confidence=self.confidence,
            show_progress_bar=self.progress,
        )
        return {key: {"low": r.low, "high": r.high} for key, r in results.items()}

    # ------------------------------------------------------------------------------ public API
    def notes(self, result: TaskResult) -> list[str]:
        """Caveats of a result, for its record's ``notes`` (and the markdown table): too few pairs for the figures
        to say much (logged as a warning here), intervals that could not be computed (logged when skipped)."""
        notes: list[str] = []
        n = len(self.pairs)
        if n < MIN_RELIABLE_PAIRS:
            note = f"only {n} {self.row_name} (fewer than {MIN_RELIABLE_PAIRS}): "
            note += "the metrics and their intervals say little"
            logger.warning("%s/%s: %s", self.name, self.split, note)
            notes.append(note)
        for why in dict.fromkeys(ci["undefined"] for ci in result.ci.values() if "undefined" in ci):
            notes.append(f"no confidence interval: {why}")
        return notes

    def __call__(self, model: Any) -> dict[str, float]:
        """``{metric key: value}`` of ``model``; the primary value is at :attr:`primary_metric`."""
        return self.evaluate(model)["metrics"]

    def evaluate(self, model: Any) -> dict[str, Any]:
        """The full result record of ``model``.

        Returns:
            A dict with ``dataset``, ``split``, ``task``, ``model``, ``n_pairs``, ``similarities``,
            ``primary_similarity``, ``primary_metric``, the task's own fields, ``n_unique_texts``,
            ``primary_value``, ``metrics`` (``{key: value}``), ``ci`` (``{key: {"low", "high"}}``),
            ``main_metrics``, ``n_resamples``, ``seed``, ``confidence``, ``wall_time_s`` and, if there are any,
            ``notes`` (see :meth:`notes`). For a cross-encoder, ``similarities`` is ``["cross_encoder"]`` and
            ``cross_encoder`` says how a pair's score was made (``num_labels``, ``score``[, ``positive_label``]).
        """
        start = time.perf_counter()
        sims, primary = self.resolve(model)
        record: dict[str, Any] = {
            "dataset": self.name,
            "split": self.split,
            "task": self.task,
            "model": model_name(model),
            "n_pairs": len(self.pairs),
            "similarities": sims,
            "primary_similarity": primary,
            "primary_metric": self.primary_metric,
        }
        encoded = self.encode(model, sims)
        if encoded.cross_encoder is not None:
            record["cross_encoder"] = encoded.cross_encoder
        result = self.compute(encoded, sims, primary)
        record.update(result.info)
        key = self.primary_metric
        record.update(
            n_unique_texts=len(encoded.texts),
            primary_value=result.metrics[key],
            metrics=result.metrics,
            ci=result.ci,
            main_metrics=result.main_metrics,
            n_resamples=self.n_resamples,
            seed=self.seed,
            confidence=self.confidence,
            wall_time_s=round(time.perf_counter() - start, 3),
        )
        notes = self.notes(result)
        if notes:  # only then: records of enough data keep their keys
            record["notes"] = notes
        logger.info("%s/%s: %s = %.2f (%.1fs)", self.name, self.split, key, result.metrics[key], record["wall_time_s"])
        return record

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, n_pairs={len(self.pairs)})"
