"""The model-selection signal of training: :class:`DevMetric` and :func:`make_dev_metric`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from textsiam.evaluation import inputs
from textsiam.evaluation.evaluator import evaluator_class, resolve_data


class DevMetric:
    """Callable ``model -> primary dev metric`` for early stopping / model selection.

    The dev data are loaded once and scored with the primary similarity only, without CIs. STS:
    Spearman ×100; classification: accuracy ×100 at the best-accuracy threshold chosen on the same
    dev pairs (an optimistic but consistent selection signal); retrieval and paired retrieval: MRR@10 ×100;
    triplets: accuracy ×100; label retrieval: MAP ×100. Higher is better.

    Args:
        name: dataset name, or the path of a CSV/TSV/JSONL/JSON file (any name with ``pairs``).
        data_dir: forwarded to the loader.
        split: split to load.
        batch_size: forwarded to ``model.encode``.
        primary_similarity: similarity function (default ``model.similarity_fn_name`` or cosine).
        show_progress_bar: tqdm bar for encoding.
        pairs: table to use instead of loading ``split``, in any of sentence-transformers' formats
            (:mod:`textsiam.data.tables`; in memory or a file path).
        task: task type (default: the registered task of ``name``, else the task of the table's format, see
            :func:`textsiam.evaluation.inputs.infer_task`).
        positive_label: a cross-encoder with several labels: the label whose probability is a pair's score (see
            :func:`textsiam.evaluation.evaluate`).

    A cross-encoder (``predict`` and no ``encode``) is scored on ``sts``, ``classification`` and ``triplet`` data
    (metric names ``cross_encoder_spearman``, ``cross_encoder_accuracy``); a retrieval task refuses it
    (``ValueError`` naming the task).

    Attributes:
        name: dataset name.
        task: task type.
        greater_is_better: always ``True``.
        metric_name: key of the last computed metric (e.g. ``cosine_spearman``).

    Example:
        >>> metric = DevMetric("stsb")  # doctest: +SKIP
        >>> metric(model), metric.metric_name  # doctest: +SKIP
        (84.1, 'cosine_spearman')
    """

    greater_is_better = True

    def __init__(
        self,
        name: str | os.PathLike[str],
        data_dir: Any = None,
        split: str = "dev",
        batch_size: int = 64,
        primary_similarity: str | None = None,
        show_progress_bar: bool = False,
        pairs: Any = None,
        task: str | None = None,
        positive_label: int | str | None = None,
    ) -> None:
        name, pairs, task = resolve_data(name, split, pairs, task)
        self.name = name
        self.split = split
        self.task = task
        self.batch_size = batch_size
        self.primary_similarity = primary_similarity
        self.show_progress_bar = show_progress_bar
        cls = evaluator_class(self.task)
        self.evaluator = cls(
            pairs if pairs is not None else inputs.load_split(name, split, data_dir),
            name=name,
            split=split,
            batch_size=batch_size,
            primary_similarity=primary_similarity,
            show_progress_bar=show_progress_bar,
            n_resamples=0,
            positive_label=positive_label,
        )
        self.metric_name = self.evaluator.primary_metric

    def __call__(self, model: Any) -> float:
        """Primary metric of ``model`` on the dev pairs (×100)."""
        primary = self.evaluator.primary_inputs(model)
        self.metric_name = self.evaluator.primary_metric
        return self.evaluator.primary_fn(primary.gold, primary.values)

    def __repr__(self) -> str:
        n_pairs = len(self.evaluator.pairs)
        return f"DevMetric(name={self.name!r}, split={self.split!r}, task={self.task!r}, n_pairs={n_pairs})"


def make_dev_metric(name: str, data_dir: Any = None, **kwargs: Any) -> Callable[[Any], float]:
    """Return a :class:`DevMetric` for ``name`` (keyword arguments go to its constructor)."""
    return DevMetric(name, data_dir, **kwargs)
