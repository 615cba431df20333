"""Evaluation inside a run: the dev metric that picks checkpoints (and averaged weights), and the final
evaluation of the saved model on dev and the test sets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textsiam.training.config import TrainConfig


def dev_metric(config: TrainConfig, model: Any, pairs: Any, task: str | None) -> Any:
    """The dev metric that picks checkpoints (and averaged weights) for ``model``."""
    from textsiam.evaluation import DevMetric

    return DevMetric(
        config.dev_dataset,
        split=config.dev_split,
        batch_size=config.eval_batch_size,
        primary_similarity=model.similarity_fn_name,
        pairs=pairs,
        task=task,
    )


def evaluate_final(config: TrainConfig, model: Any, dev_pairs: Any, dev_task: str | None, model_dir: Path) -> Any:
    """Evaluate the saved ``model`` on the dev pairs and ``config.test_datasets``: an
    :class:`~textsiam.evaluation.EvaluationResults`, or ``None`` when there is nothing to evaluate."""
    from textsiam.evaluation import EvaluationResults, evaluate
    from textsiam.evaluation.evaluator import get_evaluator

    records = []
    start = time.perf_counter()
    boot = {"n_resamples": config.n_resamples, "seed": config.seed, "batch_size": config.eval_batch_size}
    if dev_pairs is not None:
        evaluator = get_evaluator(
            str(config.dev_dataset),
            config.dev_split,
            config.data_dir,
            pairs=dev_pairs,
            dev_pairs=dev_pairs if dev_task == "classification" else None,
            task=dev_task,
            **boot,
        )
        records.append(evaluator.evaluate(model))
    if config.test_datasets:
        tests = evaluate(model, config.test_datasets, "test", config.data_dir, show_progress_bar=False, **boot)
        records += tests.results
    if not records:
        return None
    return EvaluationResults(
        results=records,
        model=str(model_dir),
        split="+".join(dict.fromkeys(r["split"] for r in records)),
        seed=config.seed,
        n_resamples=config.n_resamples,
        wall_time_s=round(time.perf_counter() - start, 3),
    )
