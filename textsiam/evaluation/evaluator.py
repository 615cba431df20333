"""Model-level evaluation: :func:`evaluate` over datasets or your own pairs, through the evaluator registry.

The model is duck-typed (see :mod:`textsiam.evaluation.encoding`): it needs
``encode(texts, batch_size=..., show_progress_bar=...) -> (N, D)``, and optionally
``similarity_fn_name`` (the primary similarity, default ``"cosine"``) and ``name_or_path``.

Each task has one evaluator class, registered in :data:`EVALUATORS`; :func:`get_evaluator` builds
the one of a dataset (its task from :func:`textsiam.data.task_type` unless ``task=`` is given).
Registered datasets are loaded with :func:`textsiam.data.load_pairs` (through
:mod:`textsiam.evaluation.inputs`, which tests may monkeypatch); your own data is a pair table:
a :class:`datasets.Dataset`, a :class:`pandas.DataFrame` or a dict of lists with ``text_a``,
``text_b`` and ``label`` (or ``sentence1``, ``sentence2`` and ``score``).
"""

from __future__ import annotations

import inspect
import logging
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from textsiam.evaluation import inputs
from textsiam.evaluation.base import PairEvaluator
from textsiam.evaluation.encoding import model_name
from textsiam.evaluation.metrics import DEFAULT_PRIMARY_SIMILARITY, TASK_CLASSIFICATION, TASK_RETRIEVAL, TASK_STS
from textsiam.evaluation.pair_classification_evaluator import PairClassificationEvaluator
from textsiam.evaluation.results import EvaluationResults, package_versions, protocol_for
from textsiam.evaluation.retrieval_evaluator import RetrievalEvaluator
from textsiam.evaluation.sts_evaluator import STSEvaluator

logger = logging.getLogger(__name__)

#: Datasets evaluated by default.
DEFAULT_DATASETS: tuple[str, ...] = ("stsb", "sick", "mrpc", "quora")

#: Task name -> evaluator class. A new task is one evaluator module plus one line here.
EVALUATORS: dict[str, type[PairEvaluator]] = {
    TASK_STS: STSEvaluator,
    TASK_CLASSIFICATION: PairClassificationEvaluator,
    TASK_RETRIEVAL: RetrievalEvaluator,
}


def evaluator_class(task: str) -> type[PairEvaluator]:
    """The evaluator class registered for ``task``; ``ValueError`` for an unknown task."""
    try:
        return EVALUATORS[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(map(repr, EVALUATORS))}") from None


def init_options(cls: type[PairEvaluator]) -> set[str]:
    """Keyword arguments the constructor of ``cls`` takes (its own and those of its base classes)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is not None and klass is not object:
            params = inspect.signature(init).parameters.values()
            names |= {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return names - {"self", "pairs"}


def get_evaluator(
    name: str,
    split: str = "test",
    data_dir: Any = None,
    *,
    pairs: Any = None,
    task: str | None = None,
    **options: Any,
) -> PairEvaluator:
    """The evaluator of ``split`` of dataset ``name``, or of your ``pairs`` under that name.

    Options that only other tasks take (e.g. ``retrieval`` or ``dev_pairs`` for an STS dataset) are
    ignored, so one set of options can serve several datasets.

    Args:
        name: a registered dataset (see :mod:`textsiam.data`) or any name for ``pairs``.
        split: split to evaluate.
        data_dir: forwarded to the loader.
        pairs: pair table to evaluate instead of loading ``split``.
        task: ``"sts"``, ``"classification"`` or ``"retrieval"`` (default: the registered task of
            ``name``; required for other names).
        **options: constructor keywords of the evaluators (``batch_size``, ``n_resamples``,
            ``dev_pairs``, ``retrieval``, ...).

    Raises:
        ValueError: unknown task, or no task for a name that is not a registered dataset.
        TypeError: an option no evaluator takes.

    Example:
        >>> get_evaluator("stsb", "dev", n_resamples=0).evaluate(model)["primary_value"]  # doctest: +SKIP
        84.1
    """
    known = set().union(*(init_options(c) for c in EVALUATORS.values())) - {"name", "split"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown evaluation option(s) {unknown}; known: {sorted(known)}")
    if task is None:
        try:
            task = inputs.task_type(name)
        except (KeyError, ValueError) as exc:
            raise ValueError(
                f"{name!r} is not a registered dataset: pass task= (one of {', '.join(map(repr, EVALUATORS))})"
            ) from exc
    cls = evaluator_class(task)
    accepted = init_options(cls)
    kwargs = {k: v for k, v in options.items() if k in accepted}
    return cls.from_dataset(name, split, data_dir, pairs=pairs, **kwargs)


def named_inputs(datasets: Any) -> list[tuple[str, Any]]:
    """``[(name, pair table or None)]`` from what :func:`evaluate` accepts (``None``: load the dataset)."""
    if isinstance(datasets, str):
        return [(datasets, None)]
    if isinstance(datasets, Mapping) and datasets and not inputs.is_pair_table(datasets):
        if all(inputs.column_names(v) is not None for v in datasets.values()):
            return [(str(k), v) for k, v in datasets.items()]
        raise ValueError(
            "a dict passed as datasets must be a pair table (columns text_a/sentence1, text_b/sentence2, "
            f"label/score) or map names to pair tables; got keys {list(datasets)}"
        )
    if inputs.column_names(datasets) is not None:
        return [("custom", datasets)]
    items = list(datasets)
    n_tables = sum(not isinstance(item, str) for item in items)
    out: list[tuple[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, None))
        else:
            out.append(("custom" if n_tables == 1 else f"custom_{len(out) + 1}", item))
    return out


def evaluate(
    model: Any,
    datasets: Any = DEFAULT_DATASETS,
    split: str = "test",
    data_dir: Any = None,
    batch_size: int = 64,
    n_resamples: int = 1000,
    seed: int = 0,
    show_progress_bar: bool | None = None,
    *,
    confidence: float = 0.95,
    similarities: Iterable[str] | None = None,
    primary_similarity: str | None = None,
    retrieval: bool | None = None,
    task: str | None = None,
    dev_pairs: Any = None,
) -> EvaluationResults:
    """Evaluate ``model`` on registered datasets and/or your own pairs.

    Each dataset goes to the evaluator of its task (:data:`EVALUATORS`): :class:`STSEvaluator`
    (Spearman/Pearson), :class:`PairClassificationEvaluator` (thresholds chosen on the dev split)
    or :class:`RetrievalEvaluator`; quora/qqp get retrieval metrics next to classification.

    Args:
        model: see module docstring.
        datasets: a registered dataset name (``stsb``, ``sick``, ``sick-e``, ``mrpc``, ``quora``,
            ``qqp``), a pair table (recorded as ``"custom"``), a dict ``{name: pair table}``, or a
            list of names and tables.
        split: split to evaluate (``test``, ``dev``, ``train``; ``all`` for SICK).
        data_dir: forwarded to the loader (default ``$TEXTSIAM_DATA`` / Hub).
        batch_size: forwarded to ``model.encode``.
        n_resamples: bootstrap resamples for CIs (0 disables CIs).
        seed: bootstrap seed.
        show_progress_bar: tqdm bars for encoding, bootstrap and retrieval; default ``None``: only for data sets
            of 1,000 pairs or more (:data:`~textsiam.evaluation.base.PROGRESS_MIN_PAIRS`), so short evaluations
            stay quiet.
        confidence: CI coverage.
        similarities: similarity functions to score (default cosine, dot, euclidean, manhattan,
            plus the primary one).
        primary_similarity: similarity of the primary metric (default ``model.similarity_fn_name``
            or ``"cosine"``).
        retrieval: add retrieval metrics to classification datasets (default: only quora/qqp).
        task: ``"sts"``, ``"classification"`` or ``"retrieval"``; required for pair tables, and
            overrides the registered task of dataset names.
        dev_pairs: pair table that chooses the classification thresholds of your own pairs (default:
            the pairs themselves, as sentence-transformers' ``BinaryClassificationEvaluator`` does, which is
            optimistic: a warning, a note in the record and the protocol say so); registered datasets use their
            dev split.

    Returns:
        :class:`EvaluationResults` (one record per dataset, in the given order; see
        :meth:`PairEvaluator.evaluate <textsiam.evaluation.base.PairEvaluator.evaluate>`).

    Raises:
        ValueError: no datasets, an unknown task, no ``task`` for a pair table, or a table without
            the columns.

    Example:
        >>> results = evaluate(model, ["stsb", "mrpc"])  # doctest: +SKIP
        >>> print(results.to_markdown())  # doctest: +SKIP
        >>> results.save("results.json")  # doctest: +SKIP
        >>> mine = {"sentence1": ["A man plays."], "sentence2": ["A man is playing."], "score": [4.8]}
        >>> evaluate(model, mine, task="sts", n_resamples=0)["custom"]["metrics"]  # doctest: +SKIP
    """
    items = named_inputs(datasets)
    if not items:
        raise ValueError("no datasets to evaluate")
    options = {
        "batch_size": batch_size,
        "n_resamples": n_resamples,
        "seed": seed,
        "confidence": confidence,
        "show_progress_bar": show_progress_bar,
        "similarities": similarities,
        "primary_similarity": primary_similarity,
        "retrieval": retrieval,
    }
    start = time.perf_counter()
    evaluators = []  # all inputs are loaded and checked before the first encode call
    for name, table in items:
        own = {} if table is None else {"dev_pairs": dev_pairs}  # registered datasets use their dev split
        evaluators.append(get_evaluator(name, split, data_dir, pairs=table, task=task, **options, **own))
    results = []
    for evaluator in evaluators:
        logger.info("evaluating %s on %s/%s", model_name(model), evaluator.name, split)
        results.append(evaluator.evaluate(model))
    return EvaluationResults(
        results=results,
        model=model_name(model),
        split=split,
        seed=seed,
        n_resamples=n_resamples,
        confidence=confidence,
        versions=package_versions(),
        wall_time_s=round(time.perf_counter() - start, 3),
        protocol=protocol_for(results),  # says where the thresholds of your own pairs were chosen
    )


def evaluate_dataset(model: Any, name: str, split: str = "test", data_dir: Any = None, **options: Any) -> dict:
    """Deprecated: one record of :func:`evaluate`; use ``get_evaluator(name, split, ...).evaluate(model)``.

    Kept for one release; the keywords are those of :func:`get_evaluator` and the evaluators
    (``pairs``, ``dev_pairs``, ``task``, ``batch_size``, ``n_resamples``, ``seed``, ``confidence``,
    ``show_progress_bar``, ``similarities``, ``primary_similarity``, ``retrieval``,
    ``transitive_relevance``, ``retrieval_chunk_size``). ``show_progress_bar`` defaults to ``False``.
    """
    warnings.warn(
        "evaluate_dataset is deprecated and will be removed in the next release; use "
        "textsiam.evaluation.evaluate(model, {name: pairs}, split, task=...) or "
        "textsiam.evaluation.evaluator.get_evaluator(name, split, data_dir, ...).evaluate(model)",
        DeprecationWarning,
        stacklevel=2,
    )
    options.setdefault("show_progress_bar", False)
    return get_evaluator(name, split, data_dir, **options).evaluate(model)


def primary_metric_name(task: str, similarity: str = DEFAULT_PRIMARY_SIMILARITY) -> str:
    """Key of the primary metric of ``task``: ``{sim}_spearman`` (STS), ``{sim}_accuracy`` (classification),
    ``{sim}_mrr@10`` (retrieval); see the evaluators' ``primary_key``."""
    return f"{similarity}_{evaluator_class(task).primary_key}"
