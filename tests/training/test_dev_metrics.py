"""The dev metric of a run: an evaluator given from Python, the mean over tasks, and the in-memory best weights."""

from __future__ import annotations

import types

import pytest
import torch

from textsiam.training.best_state import KeepBestInMemory
from textsiam.training.dev import EvaluatorMetric, MeanDevMetric, run_dev_metric


class Fixed:
    def __init__(self, value: float, name: str = "m") -> None:
        self.value, self.metric_name = value, name

    def __call__(self, model: object) -> float:
        return self.value


def test_mean_dev_metric_is_the_mean_and_keeps_each_task():
    metric = MeanDevMetric({"a": Fixed(80.0, "cosine_spearman"), "b": Fixed(70.0, "cosine_accuracy")})
    assert metric(None) == 75.0
    assert metric.last_values == {"a_cosine_spearman": 80.0, "b_cosine_accuracy": 70.0}
    with pytest.raises(ValueError, match="at least one task"):
        MeanDevMetric({})


def test_evaluator_metric_reads_a_dict_or_a_number():
    class DictEvaluator:
        primary_metric = "cosine_accuracy"

        def __call__(self, model: object) -> dict[str, float]:
            return {"cosine_accuracy": 61.5, "cosine_f1": 40.0}

    assert EvaluatorMetric(DictEvaluator())(None) == 61.5
    assert EvaluatorMetric(lambda model: 3)(None) == 3.0
    assert EvaluatorMetric(lambda model: 3).metric_name == "dev_metric"

    class Missing(DictEvaluator):
        primary_metric = "cosine_ap"

    with pytest.raises(ValueError, match="without its primary_metric"):
        EvaluatorMetric(Missing())(None)
    with pytest.raises(TypeError, match="dev must be data or an evaluator"):
        EvaluatorMetric(42)


def test_run_dev_metric_means_only_the_tasks_with_dev_data():
    task = types.SimpleNamespace
    tasks = [
        task(name="a", dev=None, dev_evaluator=Fixed(10.0)),
        task(name="b", dev=None, dev_evaluator=None),
        task(name="c", dev=None, dev_evaluator=Fixed(20.0)),
    ]
    metric = run_dev_metric(tasks, model=None)
    assert isinstance(metric, MeanDevMetric) and set(metric.metrics) == {"a", "c"}
    assert metric(None) == 15.0
    assert run_dev_metric([tasks[1]], model=None) is None
    assert run_dev_metric([tasks[0]], model=None).metric_name == "m"  # one task: its own metric, no mean


def test_keep_best_in_memory_restores_the_best_evaluation():
    module = torch.nn.Linear(2, 1)
    keeper = KeepBestInMemory(module, "mean_dev")
    state = types.SimpleNamespace(global_step=0)
    assert keeper.restore() is False
    for step, (weight, value) in enumerate([(1.0, 50.0), (2.0, 70.0), (3.0, 60.0), (4.0, float("nan"))], start=1):
        with torch.no_grad():
            module.weight.fill_(weight)
        state.global_step = step
        keeper.on_evaluate(None, state, None, metrics={"eval_mean_dev": value})
    assert keeper.best == 70.0 and keeper.best_step == 2
    assert keeper.restore() is True
    assert torch.equal(module.weight, torch.full((1, 2), 2.0))
