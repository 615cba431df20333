"""Two models on the same pairs: :func:`compare` (paired bootstrap of the primary metric)."""

from __future__ import annotations

from typing import Any

from textsiam.evaluation.bootstrap import paired_bootstrap
from textsiam.evaluation.encoding import model_name
from textsiam.evaluation.evaluator import get_evaluator


def compare(
    model_a: Any,
    model_b: Any,
    dataset: str,
    split: str = "test",
    data_dir: Any = None,
    n_resamples: int = 1000,
    seed: int = 0,
    *,
    batch_size: int = 64,
    confidence: float = 0.95,
    show_progress_bar: bool = False,
    primary_similarity: str | None = None,
    pairs: Any = None,
    dev_pairs: Any = None,
    task: str | None = None,
    positive_label: int | str | None = None,
) -> dict[str, Any]:
    """Paired bootstrap comparison of two models on the primary metric of ``dataset``.

    Each model uses its own primary similarity (``similarity_fn_name``, default cosine) and, for
    classification, its own dev-chosen accuracy threshold; both are scored on the same resampled
    pairs (queries for retrieval). ``difference = metric(b) - metric(a)``: positive means
    ``model_b`` is better. The two-sided p-value is ``2 × fraction of resampled differences on the
    other side of 0``, clipped to 1 (see :func:`textsiam.evaluation.bootstrap.paired_bootstrap`).

    Args:
        model_a, model_b: the models (see :mod:`textsiam.evaluation.evaluator`).
        dataset: registered dataset name, or any name with ``pairs`` and ``task``.
        split: split to evaluate.
        data_dir: forwarded to the loader.
        n_resamples: paired bootstrap resamples.
        seed: bootstrap seed.
        batch_size: forwarded to ``model.encode``.
        confidence: CI coverage of the difference.
        show_progress_bar: tqdm bars.
        primary_similarity: similarity of both models (default: each model's own).
        pairs: pair table instead of loading ``split``.
        dev_pairs: pair table that chooses classification thresholds instead of the dev split.
        task: task type (default: the registered task of ``dataset``).
        positive_label: for a cross-encoder with several labels, the label whose probability is a pair's score
            (see :func:`textsiam.evaluation.evaluate`; ignored by models with one score per pair).

    Either model may be a cross-encoder (on ``sts``, ``classification`` and ``triplet`` data): its metric is
    ``cross_encoder_<metric>``, e.g. a twin tower's ``cosine_spearman`` against a cross-encoder's
    ``cross_encoder_spearman``.

    Returns:
        ``{"dataset", "split", "task", "metric", "model_a", "metric_a", "model_b", "metric_b",
        "value_a", "value_b", "difference", "ci": {"low", "high"}, "p_value", "n_pairs",
        "n_resamples", "seed", "confidence", "thresholds" (classification)}``.

    Example:
        >>> result = compare(baseline, finetuned, "stsb")  # doctest: +SKIP
        >>> result["difference"], result["p_value"]  # doctest: +SKIP
        (3.2, 0.002)
    """
    evaluator = get_evaluator(
        dataset,
        split,
        data_dir,
        pairs=pairs,
        task=task,
        dev_pairs=dev_pairs,
        batch_size=batch_size,
        primary_similarity=primary_similarity,
        show_progress_bar=show_progress_bar,
        retrieval=False,
        positive_label=positive_label,
    )
    out: dict[str, Any] = {"dataset": dataset, "split": split, "task": evaluator.task, "metric": evaluator.primary_key}
    values = []
    thresholds = {}
    for tag, model in (("a", model_a), ("b", model_b)):
        primary = evaluator.primary_inputs(model)
        values.append(primary.values)
        out[f"model_{tag}"] = model_name(model)
        out[f"metric_{tag}"] = evaluator.primary_metric
        if primary.threshold is not None:
            thresholds[tag] = primary.threshold
    gold = primary.gold
    res = paired_bootstrap(
        evaluator.primary_fn,
        gold,
        values[0],
        values[1],
        n_resamples,
        seed,
        confidence,
        show_progress_bar=show_progress_bar,
    )
    out.update(
        value_a=res.value_a,
        value_b=res.value_b,
        difference=res.difference,
        ci={"low": res.low, "high": res.high},
        p_value=res.p_value,
        n_pairs=len(gold),
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
    )
    if thresholds:
        out["thresholds"] = thresholds
    return out
