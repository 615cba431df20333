"""Model-level evaluation: :func:`evaluate` over datasets or your own pairs, through the evaluator registry.

The model is duck-typed (see :mod:`textsiam.evaluation.encoding`): it needs
``encode(texts, batch_size=..., show_progress_bar=...) -> (N, D)``, and optionally
``similarity_fn_name`` (the primary similarity, default ``"cosine"``) and ``name_or_path``. A cross-encoder
(``predict(pairs, ...)`` and no ``encode``: :mod:`textsiam.evaluation.cross_encoding`) is evaluated on the tasks that
score given pairs (``sts``, ``classification``, ``triplet``), its score named ``cross_encoder``.

Each task has one evaluator class, registered in :data:`EVALUATORS`; :func:`get_evaluator` builds
the one of a dataset (its task from :func:`textsiam.data.task_type` unless ``task=`` is given).
Registered datasets are loaded with :func:`textsiam.data.load_pairs` (through
:mod:`textsiam.evaluation.inputs`, which tests may monkeypatch). Your own data is a table in any of
sentence-transformers' formats (:mod:`textsiam.data.tables`): a :class:`datasets.Dataset`, a
:class:`pandas.DataFrame`, a dict of lists, a list of row tuples or the path of a CSV/TSV/JSONL/JSON file, with
``sentence1, sentence2, score`` / ``question1, question2, is_duplicate`` / ``text_a, text_b, label`` (graded
labels: ``sts``; 0/1 labels: ``classification``), ``anchor, positive`` (``paired_retrieval``), ``anchor,
positive, negative`` (``triplet``) or ``text, label`` (``label_retrieval``); the task is inferred from the
format unless ``task=`` is given (:func:`textsiam.evaluation.inputs.infer_task`).
"""

from __future__ import annotations

import inspect
import logging
import os
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from textsiam.evaluation import inputs
from textsiam.evaluation.base import PairEvaluator
from textsiam.evaluation.encoding import model_name
from textsiam.evaluation.label_retrieval_evaluator import LabelRetrievalEvaluator
from textsiam.evaluation.metrics import (
    DEFAULT_PRIMARY_SIMILARITY,
    TASK_CLASSIFICATION,
    TASK_LABEL_RETRIEVAL,
    TASK_PAIRED_RETRIEVAL,
    TASK_RETRIEVAL,
    TASK_STS,
    TASK_TRIPLET,
)
from textsiam.evaluation.pair_classification_evaluator import PairClassificationEvaluator
from textsiam.evaluation.paired_retrieval_evaluator import PairedRetrievalEvaluator
from textsiam.evaluation.results import EvaluationResults, package_versions, protocol_for
from textsiam.evaluation.retrieval_evaluator import RetrievalEvaluator
from textsiam.evaluation.sts_evaluator import STSEvaluator
from textsiam.evaluation.triplet_evaluator import TripletEvaluator

logger = logging.getLogger(__name__)

#: Datasets evaluated by default.
DEFAULT_DATASETS: tuple[str, ...] = ("stsb", "sick", "mrpc", "quora")

#: Task name -> evaluator class. A new task is one evaluator module plus one line here.
EVALUATORS: dict[str, type[PairEvaluator]] = {
    TASK_STS: STSEvaluator,
    TASK_CLASSIFICATION: PairClassificationEvaluator,
    TASK_RETRIEVAL: RetrievalEvaluator,
    TASK_TRIPLET: TripletEvaluator,
    TASK_PAIRED_RETRIEVAL: PairedRetrievalEvaluator,
    TASK_LABEL_RETRIEVAL: LabelRetrievalEvaluator,
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


def resolve_data(name: Any, split: str, pairs: Any = None, task: str | None = None) -> tuple[str, Any, str]:
    """``(name, data, task)`` of what :func:`get_evaluator` and :class:`DevMetric` are given.

    A ``name`` that is the path of an existing file is the data when ``pairs`` is not given; file paths and lists
    of rows are read into tables (:func:`textsiam.evaluation.inputs.as_input`); ``data`` is ``None`` for a
    registered dataset to load. Without ``task`` it is inferred (:func:`textsiam.evaluation.inputs.infer_task`).

    Raises:
        ValueError: ``name`` is neither a registered dataset nor an existing file (without ``pairs``), a table of
            no known format, or an unknown ``task``.
    """
    name = os.fspath(name) if isinstance(name, os.PathLike) else name
    if pairs is None and inputs.is_file_path(name):
        pairs = name
    if pairs is not None:
        pairs = inputs.as_input(pairs, f"{name}/{split}")
    if task is None:
        task = inputs.infer_task(name, pairs, f"{name}/{split}")
    evaluator_class(task)  # an unknown task fails before anything is loaded
    return name, pairs, task


def get_evaluator(
    name: str | os.PathLike[str],
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
        name: a registered dataset (see :mod:`textsiam.data`), the path of a CSV/TSV/JSONL/JSON file (the name of
            its records), or any name for ``pairs``.
        split: split to evaluate.
        data_dir: forwarded to the loader.
        pairs: table to evaluate instead of loading ``split``: any of sentence-transformers' formats
            (:mod:`textsiam.data.tables`), in memory or as a file path.
        task: one of :data:`EVALUATORS` (``"sts"``, ``"classification"``, ``"retrieval"``, ``"triplet"``,
            ``"paired_retrieval"``, ``"label_retrieval"``); default: the registered task of ``name``, else the
            task of the table's format (:func:`textsiam.evaluation.inputs.infer_task`).
        **options: constructor keywords of the evaluators (``batch_size``, ``n_resamples``,
            ``dev_pairs``, ``retrieval``, ``margin``, ...).

    Raises:
        ValueError: unknown task, a name that is neither a registered dataset nor an existing file, or a table
            of no known format.
        TypeError: an option no evaluator takes.

    Example:
        >>> get_evaluator("stsb", "dev", n_resamples=0).evaluate(model)["primary_value"]  # doctest: +SKIP
        84.1
        >>> get_evaluator("triplets.csv").task  # doctest: +SKIP
        'triplet'
    """
    known = set().union(*(init_options(c) for c in EVALUATORS.values())) - {"name", "split"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown evaluation option(s) {unknown}; known: {sorted(known)}")
    name, pairs, task = resolve_data(name, split, pairs, task)
    cls = evaluator_class(task)
    accepted = init_options(cls)
    kwargs = {k: v for k, v in options.items() if k in accepted}
    return cls.from_dataset(name, split, data_dir, pairs=pairs, **kwargs)


def named_inputs(datasets: Any) -> list[tuple[str, Any]]:
    """``[(name, table or None)]`` from what :func:`evaluate` accepts (``None``: load the dataset).

    Tables are named ``custom`` (``custom_<i>`` in a list of several), file paths by their path.
    """
    if inputs.is_file_path(datasets):
        return [(os.fspath(datasets), datasets)]
    if isinstance(datasets, (str, os.PathLike)):
        return [(os.fspath(datasets), None)]
    if isinstance(datasets, Mapping) and datasets:
        if all(inputs.is_table(v) for v in datasets.values()):
            return [(str(k), v) for k, v in datasets.items()]
        if not inputs.is_pair_table(datasets):
            raise ValueError(
                "a dict passed as datasets must be a pair table (columns text_a/sentence1, text_b/sentence2, "
                "label/score), a table of another format (anchor, positive[, negative]; text, label) or map names "
                f"to tables or file paths; got keys {list(datasets)}"
            )
    if inputs.column_names(datasets) is not None or inputs.is_rows(datasets) or isinstance(datasets, inputs.PairData):
        return [("custom", datasets)]
    items = list(datasets)
    n_tables = sum(not isinstance(item, (str, os.PathLike)) for item in items)
    out: list[tuple[str, Any]] = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            out.append((os.fspath(item), item if inputs.is_file_path(item) else None))
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
    positive_label: int | str | None = None,
) -> EvaluationResults:
    """Evaluate ``model`` on registered datasets and/or your own pairs.

    Each dataset goes to the evaluator of its task (:data:`EVALUATORS`): :class:`STSEvaluator`
    (Spearman/Pearson), :class:`PairClassificationEvaluator` (thresholds chosen on the dev split),
    :class:`RetrievalEvaluator`, :class:`TripletEvaluator`, :class:`PairedRetrievalEvaluator` or
    :class:`LabelRetrievalEvaluator`; quora/qqp get retrieval metrics next to classification.

    A cross-encoder (``predict`` and no ``encode``) is evaluated on ``sts``, ``classification`` and ``triplet``
    data with the same metrics, thresholds and intervals, its score named ``cross_encoder`` (e.g.
    ``cross_encoder_spearman``); the retrieval tasks need embeddings and are refused before anything is scored.

    Args:
        model: see module docstring: a twin tower or a cross-encoder.
        datasets: a registered dataset name (``stsb``, ``sick``, ``sick-e``, ``mrpc``, ``quora``,
            ``qqp``), a table in any of sentence-transformers' formats (a :class:`datasets.Dataset`, a
            :class:`pandas.DataFrame`, a dict of lists or a list of row tuples, recorded as ``"custom"``), the path
            of a CSV/TSV/JSONL/JSON file (recorded under its path), a dict ``{name: table or path}``, or a list
            of names, paths and tables.
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
        task: one of :data:`EVALUATORS`; overrides the registered task of dataset names and the task
            inferred from a table's format (graded ``pair`` labels: ``sts``; 0/1 labels: ``classification``;
            triplets: ``triplet``; ``anchor, positive``: ``paired_retrieval``; ``text, label``:
            ``label_retrieval``).
        dev_pairs: pair table that chooses the classification thresholds of your own pairs (default:
            the pairs themselves, as sentence-transformers' ``BinaryClassificationEvaluator`` does, which is
            optimistic: a warning, a note in the record and the protocol say so); registered datasets use their
            dev split.
        positive_label: a cross-encoder with several labels: the label (index, or name from its ``id2label``) whose
            probability is a pair's score; default label 1 of a two-label head, required for three or more labels
            (:func:`~textsiam.evaluation.cross_encoding.positive_label_index`). Ignored by models with one score.

    Returns:
        :class:`EvaluationResults` (one record per dataset, in the given order; see
        :meth:`PairEvaluator.evaluate <textsiam.evaluation.base.PairEvaluator.evaluate>`).

    Raises:
        ValueError: no datasets, an unknown task, a name that is neither a registered dataset nor an existing
            file, or a table of no known format (or not the format of ``task``); a cross-encoder on a retrieval
            task, or with several labels and no ``positive_label``.

    Example:
        >>> results = evaluate(model, ["stsb", "mrpc"])  # doctest: +SKIP
        >>> print(results.to_markdown())  # doctest: +SKIP
        >>> results.save("results.json")  # doctest: +SKIP
        >>> mine = {"sentence1": ["A man plays."], "sentence2": ["A man is playing."], "score": [4.8]}
        >>> evaluate(model, mine, task="sts", n_resamples=0)["custom"]["metrics"]  # doctest: +SKIP
        >>> evaluate(model, "triplets.csv", n_resamples=0)["triplets.csv"]["primary_metric"]  # doctest: +SKIP
        'cosine_accuracy'
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
        "positive_label": positive_label,
    }
    start = time.perf_counter()
    evaluators = []  # all inputs are loaded and checked before the first encode call
    for name, table in items:
        own = {} if table is None else {"dev_pairs": dev_pairs}  # registered datasets use their dev split
        evaluators.append(get_evaluator(name, split, data_dir, pairs=table, task=task, **options, **own))
    for evaluator in evaluators:  # a model an evaluation cannot score fails before the first is scored
        evaluator.check_model(model)
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
    """Key of the primary metric of ``task``: ``{sim}_spearman`` (STS), ``{sim}_accuracy`` (classification,
    triplet), ``{sim}_mrr@10`` (retrieval, paired_retrieval), ``{sim}_map`` (label_retrieval); see the
    evaluators' ``primary_key``."""
    return f"{similarity}_{evaluator_class(task).primary_key}"
