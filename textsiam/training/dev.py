"""Evaluation inside a run: the dev metric that picks checkpoints (and averaged weights), and the final
evaluation of the saved model on dev and the test sets.

One task: its primary dev metric (e.g. ``cosine_spearman``). Several tasks: :class:`MeanDevMetric`, the mean of
the tasks' primary dev metrics, each also logged on its own (``eval_<task>_<metric>``). A dev set may be data
(any format, :mod:`textsiam.data.tables`) or an evaluator given from Python (:class:`EvaluatorMetric`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.model.prompted import with_prompt
from textsiam.training.class_accuracy import class_accuracy_record, needs_class_accuracy
from textsiam.training.config import TrainConfig
from textsiam.training.prompts import prompt_for_test_set


class EvaluatorMetric:
    """An evaluator given from Python as a dev metric: ``model -> float``.

    Accepts a :mod:`textsiam.evaluation` evaluator (its primary metric, without CIs), anything callable that
    returns ``{metric: value}`` and has a ``primary_metric``, or a callable that returns a number (named by its
    ``metric_name``, e.g. a :class:`~textsiam.evaluation.DevMetric`, else ``dev_metric``).
    """

    greater_is_better = True

    def __init__(self, evaluator: Any) -> None:
        if not callable(evaluator) and not hasattr(evaluator, "primary_inputs"):
            raise TypeError(f"dev must be data or an evaluator (callable), got {type(evaluator).__name__}")
        self.evaluator = evaluator
        name = getattr(evaluator, "primary_metric", None) or getattr(evaluator, "metric_name", None)  # a DevMetric
        self.metric_name = str(name or "dev_metric")

    def __call__(self, model: Any) -> float:
        ev = self.evaluator
        if hasattr(ev, "primary_inputs") and hasattr(ev, "primary_fn"):
            primary = ev.primary_inputs(model)
            self.metric_name = ev.primary_metric
            return float(ev.primary_fn(primary.gold, primary.values))
        out = ev(model)
        if isinstance(out, Mapping):
            if self.metric_name not in out:
                raise ValueError(f"the dev evaluator returned {sorted(out)}, without its primary_metric")
            return float(out[self.metric_name])
        return float(out)


class MeanDevMetric:
    """The mean of several tasks' dev metrics (multi-task training picks checkpoints by it).

    Attributes:
        metric_name: ``"mean_dev"``.
        last_values: ``{"<task>_<metric>": value}`` of the last call (logged next to the mean).
    """

    greater_is_better = True
    metric_name = "mean_dev"

    def __init__(self, metrics: Mapping[str, Any]) -> None:
        if not metrics:
            raise ValueError("MeanDevMetric needs at least one task's dev metric")
        self.metrics = dict(metrics)
        self.last_values: dict[str, float] = {}

    def __call__(self, model: Any) -> float:
        values = {}
        for task, metric in self.metrics.items():
            value = float(metric(model))
            values[f"{task}_{metric.metric_name}"] = value
        self.last_values = values
        return float(np.mean(list(values.values())))


class PromptedMetric:
    """A task's dev metric that sees the model through the task's training prompt (:func:`with_prompt`)."""

    def __init__(self, metric: Any, prompt: str) -> None:
        self.metric = metric
        self.prompt = prompt

    def __call__(self, model: Any) -> float:
        return self.metric(with_prompt(model, self.prompt))

    def __getattr__(self, name: str) -> Any:  # metric_name, greater_is_better, last_values
        if name in ("metric", "prompt"):
            raise AttributeError(name)
        return getattr(self.metric, name)


def dev_metric(config: TrainConfig, model: Any, pairs: Any, task: str | None) -> Any:
    """The dev metric that picks checkpoints (and averaged weights) for ``model``, on the dev ``pairs``."""
    from textsiam.evaluation import DevMetric

    return DevMetric(
        str(config.dev_dataset),
        split=config.dev_split,
        batch_size=config.eval_batch_size,
        primary_similarity=getattr(model, "similarity_fn_name", None),  # a cross-encoder has none
        pairs=pairs,
        task=task,
    )


def named_for(metric: Any, model: Any) -> Any:
    """``metric`` (a :class:`~textsiam.evaluation.DevMetric` or an evaluator) with its metric named for ``model``
    before the first evaluation: ``cross_encoder_spearman`` rather than the default ``cosine_spearman``, so that the
    Trainer finds the name it selects checkpoints by (``metric_for_best_model``)."""
    evaluator = getattr(metric, "evaluator", metric)  # a DevMetric holds its evaluator
    if callable(getattr(evaluator, "resolve", None)) and hasattr(evaluator, "primary_metric"):
        evaluator.resolve(model)  # sets primary_metric for the model; nothing is scored
        if evaluator is not metric and hasattr(metric, "metric_name"):
            metric.metric_name = evaluator.primary_metric
    return metric


def run_dev_metric(tasks: Sequence[Any], model: Any, prompts: Mapping[str, str] | None = None) -> Any:
    """The run's dev metric: the one task's, or the mean over the tasks with dev data; ``None`` without any.
    ``prompts``: ``{task: prefix}`` its dev texts are encoded with (:mod:`~textsiam.training.prompts`)."""
    metrics: dict[str, Any] = {}
    for task in tasks:
        if task.dev_evaluator is not None:  # named for this model (a teacher trained first resolved it for its own)
            metrics[task.name] = EvaluatorMetric(named_for(task.dev_evaluator, model))
        elif task.dev is not None:
            metrics[task.name] = dev_metric(task.config, model, task.dev, task.dev_task)
        prompt = (prompts or {}).get(task.name, "")
        if prompt and task.name in metrics:
            metrics[task.name] = PromptedMetric(metrics[task.name], prompt)
    if not metrics:
        return None
    if len(tasks) == 1:
        return next(iter(metrics.values()))
    return MeanDevMetric(metrics)


def evaluate_final(
    config: TrainConfig,
    model: Any,
    tasks: Sequence[Any],
    model_dir: Path | None,
    prompts: Mapping[str, str] | None = None,
) -> Any:
    """Evaluate the final ``model`` on each task's dev data and on ``config.test_datasets``: an
    :class:`~textsiam.evaluation.EvaluationResults`, or ``None`` when there is nothing to evaluate.

    With training prompts (``prompts``: ``{task: prefix}``) each task's dev set is encoded with its prompt, and a
    test set with the prompt of the task trained on the same dataset
    (:func:`~textsiam.training.prompts.prompt_for_test_set`)."""
    from textsiam.evaluation import EvaluationResults, evaluate
    from textsiam.evaluation.evaluator import get_evaluator

    records = []
    start = time.perf_counter()
    boot = {"n_resamples": config.n_resamples, "seed": config.seed, "batch_size": config.eval_batch_size}
    for task in tasks:
        if task.dev_evaluator is not None and hasattr(task.dev_evaluator, "evaluate"):
            records.append(task.dev_evaluator.evaluate(with_prompt(model, (prompts or {}).get(task.name, ""))))
        elif task.dev is not None and needs_class_accuracy(model):  # a cross-encoder of 3+ classes: its argmax
            name, split = str(task.config.dev_dataset), task.config.dev_split
            records.append(class_accuracy_record(model, task.dev, name, split, **boot))
        elif task.dev is not None:
            evaluator = get_evaluator(
                str(task.config.dev_dataset),
                task.config.dev_split,
                config.data_dir,
                pairs=task.dev,
                dev_pairs=task.dev if task.dev_task == "classification" else None,
                task=task.dev_task,
                **boot,
            )
            records.append(evaluator.evaluate(with_prompt(model, (prompts or {}).get(task.name, ""))))
    trained_on = {task.name: str(task.config.train_dataset) for task in tasks}
    groups: dict[str, list[str]] = {}  # prompt -> the test sets encoded with it, in their order
    for name in config.test_datasets:
        groups.setdefault(prompt_for_test_set(config.prompts, name, trained_on), []).append(name)
    tested: dict[str, Any] = {}
    for prompt, names in groups.items():
        tests = evaluate(with_prompt(model, prompt), names, "test", config.data_dir, show_progress_bar=False, **boot)
        tested.update(zip(names, tests.results, strict=True))
    records += [tested[name] for name in config.test_datasets]
    if not records:
        return None
    return EvaluationResults(
        results=records,
        model=str(model_dir) if model_dir is not None else str(getattr(model, "name_or_path", "model")),
        split="+".join(dict.fromkeys(r["split"] for r in records)),
        seed=config.seed,
        n_resamples=config.n_resamples,
        wall_time_s=round(time.perf_counter() - start, 3),
    )
