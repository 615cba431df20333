"""The data of a run, task by task: the training table (a benchmark, a file or data given from Python) in its
canonical form, the loss that suits it (given, or chosen from its format and labels), and the dev data.

Everything here runs before any model is loaded, so a loss that does not fit the data fails in seconds, naming
the loss and the columns.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import datasets

from textsiam.data.tables import TableFormat, as_table, canonical, resolve_format
from textsiam.training.config import ConfigError, TrainConfig
from textsiam.training.dataset_names import dataset_task, is_file_dataset, is_in_memory
from textsiam.training.tasks import SINGLE_TASK, task_views

logger = logging.getLogger(__name__)


@dataclass
class GivenData:
    """What :func:`textsiam.fit` hands over per task instead of names: data, dev data or evaluators, loss objects;
    the teacher models of ``silver_teacher`` and the texts of ``silver_texts`` given as objects, by the name that
    stands for each in the config."""

    train: dict[str, Any] = field(default_factory=dict)
    dev: dict[str, Any] = field(default_factory=dict)
    losses: dict[str, Any] = field(default_factory=dict)
    teachers: dict[str, Any] = field(default_factory=dict)
    #: the texts of ``silver_texts`` given as objects (lists of strings), by the name that stands for each
    texts: dict[str, list[str]] = field(default_factory=dict)
    #: the ``num_labels`` of a cross-encoder given from Python: its head, as a recipe's model folder's, decides
    #: the default loss (``None``: read from the recipe's model)
    head_labels: int | None = None


@dataclass
class TaskData:
    """One task of a run, loaded and checked.

    Attributes:
        name: the task name (``"train"`` for a single-dataset run).
        config: the task's view of the config, its ``loss`` resolved to a registry name.
        train: the canonical training table (subsampled if asked).
        kind: its format (``pair``, ``anchor_positive``, ``triplet``, ``single``).
        score_range: the benchmark's score range, for ``label_transform: scale``; ``None`` = observed.
        dev: the canonical dev table, or ``None``.
        dev_task: the evaluation task of the dev table.
        dev_evaluator: an evaluator given from Python instead of dev data.
        loss_object: a loss given from Python (else the loss is built from ``config``).
    """

    name: str
    config: TrainConfig
    train: datasets.Dataset
    kind: str
    score_range: tuple[float, float] | None = None
    dev: datasets.Dataset | None = None
    dev_task: str | None = None
    dev_evaluator: Any = None
    loss_object: Any = None

    @property
    def has_dev(self) -> bool:
        return self.dev is not None or self.dev_evaluator is not None

    def describe(self) -> dict[str, Any]:
        """What ran, for the model card: data, split, loss and its arguments (a loss object's own), dev data."""
        obj = self.loss_object
        return {
            "dataset": self.config.train_dataset,
            "split": self.config.train_split,
            "loss": self.config.loss,
            "loss_kwargs": obj.get_config() if hasattr(obj, "get_config") else self.config.loss_kwargs,
            "dev_dataset": self.config.dev_dataset if self.has_dev else None,
            "dev_split": self.config.dev_split,
        }


def column_map(config: TrainConfig) -> dict[str, str | None]:
    """The column map of a config (:mod:`textsiam.data.tables`): the columns it names; ``label_column: null`` = none."""
    out: dict[str, str | None] = {}
    for role in ("text_a", "text_b", "text_c"):
        value = getattr(config, f"{role}_column")
        if value is not None:
            out[role] = value
    if config.label_column is None:
        out["label"] = None
    elif config.label_column != "label":
        out["label"] = config.label_column
    return out


@dataclass
class LoadedTable:
    """A canonical table with what the messages need: the format of the source's own columns."""

    table: datasets.Dataset
    format: TableFormat
    score_range: tuple[float, float] | None = None


def load_table(source: Any, split: str, config: TrainConfig, where: str | None = None) -> LoadedTable:
    """A benchmark name, a data file or in-memory data as a canonical table, read with the config's column map
    (the same for every split)."""
    from textsiam.data import dataset_info, load_pairs, load_table_from_file
    from textsiam.data.readers import read_columns

    columns = column_map(config)
    if isinstance(source, os.PathLike) or (isinstance(source, str) and is_file_dataset(source)):
        table = load_table_from_file(source, columns)
        return LoadedTable(table, resolve_format(read_columns(source), columns, str(source)))
    if not isinstance(source, str):
        where = where or "data"
        raw = as_table(source, where)
        return LoadedTable(canonical(raw, columns, where), resolve_format(raw.column_names, columns, where))
    info = dataset_info(source)
    raw = load_pairs(source, split, config.data_dir)
    where = f"{source}/{split}"
    loaded = LoadedTable(canonical(raw, columns, where), resolve_format(raw.column_names, columns, where))
    if info.task == "sts" and columns.get("label", "label") == "label":
        loaded.score_range = tuple(info.score_range)  # type: ignore[assignment]
    return loaded


def dev_task_of(table: datasets.Dataset, name: Any) -> str:
    """The evaluation task of a dev table: a benchmark's own, else by the format and labels
    (:func:`textsiam.evaluation.inputs.infer_task`)."""
    from textsiam.evaluation.inputs import infer_task

    return infer_task(name if isinstance(name, str) else "dev", table)


def subsample_logged(ds: datasets.Dataset, n: int | None, seed: int, what: str) -> datasets.Dataset:
    from textsiam.training.examples import subsample

    out = subsample(ds, n, seed)
    if len(out) < len(ds):
        logger.info("%s: using a seeded random subsample of %d of %d pairs", what, len(out), len(ds))
    return out


# ---------------------------------------------------------------------------------------------- tasks
def load_tasks(config: TrainConfig, given: GivenData | None = None) -> list[TaskData]:
    """Every task of ``config``, loaded and checked: data, loss, labels, dev data.

    Raises:
        ConfigError: a loss that does not fit its data, labels that do not suit the loss, or a config problem of
            the resolved task (each message names the task when there are several).
    """
    given = given or GivenData()
    views = task_views(config)
    multi = bool(config.train_datasets)
    tasks = []
    problems: list[str] = []
    for name, view in views.items():
        try:
            tasks.append(_load_task(name, view, given))
        except ConfigError as err:
            problems += [f"train_datasets.{name}: {p}" if multi else p for p in err.problems]
    if problems:
        raise ConfigError(problems)
    return tasks


def _load_task(name: str, view: TrainConfig, given: GivenData) -> TaskData:
    from textsiam.training.labels import check_label_compatibility
    from textsiam.training.loss_choice import label_problem

    source = given.train.get(name, view.train_dataset)
    if isinstance(source, str) and is_in_memory(source):
        raise ConfigError([f"train_dataset {source!r} stands for data given from Python; give a name or a file"])
    try:
        loaded = load_table(source, view.train_split, view, view.train_dataset)
    except ValueError as err:  # no known format, bad rows: the data's problem (a wrong type stays a TypeError)
        raise ConfigError([str(err)]) from None
    table, fmt, score_range = loaded.table, loaded.format, loaded.score_range
    kind = fmt.kind
    loss_object = given.losses.get(name)
    view = replace(view, loss=_loss_name(view, loss_object, kind, table, name, fmt, given))
    problems = _format_problems(view, kind, fmt, source)
    if not problems:
        problems = _resolved_problems(view)
    if not problems and kind == "pair":
        problems = check_label_compatibility(view, None, "train_dataset", labels=table["label"])
        problem = label_problem(view.loss, table["label"], view.train_dataset)  # type: ignore[arg-type]
        problems += [problem] if problem and view.label_transform != "binarize" else []
    if problems:
        raise ConfigError(problems)
    table = subsample_logged(
        table, view.max_train_pairs, view.seed, f"{name}: train" if name != SINGLE_TASK else "train"
    )
    dev, dev_task, evaluator = _load_dev(name, view, given)
    return TaskData(name, view, table, kind, score_range, dev, dev_task, evaluator, loss_object)


def _loss_name(
    view: TrainConfig,
    loss_object: Any,
    kind: str,
    table: datasets.Dataset,
    name: str,
    fmt: TableFormat,
    given: GivenData | None = None,
) -> str:
    from textsiam.losses import LOSSES
    from textsiam.training.loss_choice import default_loss

    if loss_object is not None:
        found = [n for n, cls in LOSSES.items() if type(loss_object) is cls]
        found = found or [n for n, cls in LOSSES.items() if isinstance(loss_object, cls)]
        if not found:
            raise TypeError(
                f"loss must be a loss name or an instance of a textsiam.losses class, got {type(loss_object).__name__}"
                "; a new loss is registered in textsiam.losses.LOSSES"
            )
        return found[0]
    if view.loss is not None:
        return view.loss
    labels = table["label"] if "label" in table.column_names else None
    task = dataset_task(view.train_dataset)
    if fmt.columns.get("text_a") == "premise":  # NLI (premise, hypothesis, label): classes, not scores
        task = "classification"
    head = None
    if view.model_type == "cross_encoder":  # a head of several labels: cross_entropy, whichever way the model came
        head = given.head_labels if given is not None and given.head_labels is not None else _start_head(view)
    loss, reason = default_loss(kind, labels, task, view.model_type, head)
    what = f"task {name}: " if name != SINGLE_TASK else ""
    logger.warning("%sno loss given: using %s (%s)", what, loss, reason)
    return loss


def _start_head(view: TrainConfig) -> int | None:
    """The ``num_labels`` of the head the recipe's start cross-encoder will have, read from its config files (its
    weights load later, in the model step)."""
    from textsiam.model.cross_encoder_layout import head_num_labels

    return head_num_labels(view.model)


def _format_problems(view: TrainConfig, kind: str, fmt: TableFormat, source: Any) -> list[str]:
    from textsiam.training.loss_choice import format_problem

    where = str(source) if isinstance(source, (str, os.PathLike)) else view.train_dataset
    problem = format_problem(view.loss, kind, ", ".join(fmt.columns.values()), where)  # type: ignore[arg-type]
    if problem:
        return [problem]
    if kind == "triplet" and view.hard_negatives:
        return [f"{where}: hard_negatives mines a negative, but the data already has one (column negative / text_c)"]
    return []


def _resolved_problems(view: TrainConfig) -> list[str]:
    """The checks that need the loss, now that it is known (the loss's options, the batch size)."""
    from textsiam.training.config_checks import check_loss, check_loss_options

    return check_loss(view) + check_loss_options(view)


def _load_dev(name: str, view: TrainConfig, given: GivenData) -> tuple[Any, str | None, Any]:
    source = given.dev.get(name, view.dev_dataset)
    if source is None:
        return None, None, None
    if hasattr(source, "primary_metric") or (callable(source) and not isinstance(source, (str, os.PathLike))):
        return None, None, source  # an evaluator (or any callable model -> metric)
    if isinstance(source, str) and is_in_memory(source):
        raise ConfigError([f"dev_dataset {source!r} stands for data given from Python; give a name or a file"])
    try:
        table = load_table(source, view.dev_split, view, view.dev_dataset).table
    except ValueError as err:
        raise ConfigError([f"dev data: {err}"]) from None
    label = f"{name}: dev" if name != SINGLE_TASK else "dev"
    table = subsample_logged(table, view.max_dev_pairs, view.seed, label)
    return table, dev_task_of(table, source), None


def describe_source(source: Any) -> str:
    """A name for data in logs and configs: the name or path itself, else ``<in-memory: type, N rows>``."""
    from textsiam.training.dataset_names import in_memory_name

    if isinstance(source, (str, os.PathLike)):
        return str(Path(source)) if isinstance(source, os.PathLike) else source
    return in_memory_name(source)
