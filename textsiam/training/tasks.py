"""The tasks of a run: one per entry of ``train_datasets`` (multi-task training), or the run itself.

A task is a *view* of the run's config: the same fields, with the entry's values in place of the top-level ones
(:func:`task_views`). Everything that works on one dataset (loading, the label checks, the examples, the loss, the
dev metric) then runs once per task on its view, unchanged.

An entry of ``train_datasets`` may set :data:`TASK_KEYS`; ``dataset`` and ``split`` stand for ``train_dataset``
and ``train_split``. What an entry does not set comes from the top level, with two exceptions:

* ``dev_dataset`` defaults to the task's own dataset when that is a benchmark name (its ``dev_split``), and to
  none for a file: a top-level dev set would otherwise be every task's;
* ``loss_kwargs`` comes from the top level only together with the top-level ``loss`` (an entry that names another
  loss starts from no arguments).

Example (YAML)::

    train_datasets:
      stsb: {loss: cosent}                      # dataset: stsb, dev_dataset: stsb (dev split)
      quora: {loss: online_contrastive, loss_kwargs: {margin: 0.5}}
      pairs: {dataset: my_pairs.csv, dev_dataset: my_dev.csv, label_column: relevance}
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from textsiam.training.config_fields import TrainFields, field_types
from textsiam.training.config_values import convert
from textsiam.training.dataset_names import dataset_task

ConfigT = TypeVar("ConfigT", bound=TrainFields)

#: Keys of a ``train_datasets`` entry -> the config field each one sets.
TASK_KEYS: dict[str, str] = {
    "dataset": "train_dataset",
    "split": "train_split",
    **{
        name: name
        for name in (
            "loss",
            "loss_kwargs",
            "dev_dataset",
            "dev_split",
            "label_column",
            "text_a_column",
            "text_b_column",
            "text_c_column",
            "label_transform",
            "binarize_threshold",
            "pos_neg_ratio",
            "max_train_pairs",
            "max_dev_pairs",
            "hard_negatives",
            "no_duplicates_in_batch",
        )
    },
}
#: ``multi_dataset_batch_sampler`` values (sentence-transformers' ``MultiDatasetBatchSamplers`` names).
MULTI_DATASET_SAMPLERS: tuple[str, ...] = ("proportional", "round_robin")
#: The task name of a single-dataset run.
SINGLE_TASK = "train"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def check_task_name(name: Any) -> str | None:
    """A problem with a task name (it names modules and metrics: letters, digits, ``_`` and ``-``), or ``None``."""
    if not isinstance(name, str) or not _NAME.match(name):
        return f"train_datasets: task names must be identifiers (letters, digits, _ and -), got {name!r}"
    return None


def task_view(config: ConfigT, name: str, entry: Mapping[str, Any]) -> ConfigT:
    """The config of task ``name``: ``config`` with the entry's values (see the module docstring).

    Raises:
        ValueError: an unknown key or a value that does not fit its field (the message names the task and key).
    """
    types_ = field_types(type(config))
    changes: dict[str, Any] = {"train_datasets": {}, "train_dataset": name, "train_split": "train"}
    for key, value in entry.items():
        if key not in TASK_KEYS:
            raise ValueError(f"train_datasets.{name}: unknown key {key!r}; an entry may set {', '.join(TASK_KEYS)}")
        field = TASK_KEYS[key]
        changes[field] = convert(value, types_[field], f"train_datasets.{name}.{key}")
    if "loss" in entry and "loss_kwargs" not in entry and changes["loss"] != config.loss:
        changes["loss_kwargs"] = {}  # the top-level arguments belong to the top-level loss
    if "dev_dataset" not in entry:
        dataset = changes["train_dataset"]
        changes["dev_dataset"] = dataset if dataset_task(dataset) is not None else None
    return dataclasses.replace(config, **changes)


def task_views(config: ConfigT) -> dict[str, ConfigT]:
    """``{task name: its config}``: the entries of ``config.train_datasets``, or ``{"train": config}``.

    Raises:
        ValueError: a bad task name or entry (see :func:`task_view`).
    """
    if not config.train_datasets:
        return {SINGLE_TASK: config}
    views = {}
    for name, entry in config.train_datasets.items():
        problem = check_task_name(name)
        if problem:
            raise ValueError(problem)
        if not isinstance(entry, Mapping):
            raise ValueError(f"train_datasets.{name} must be a mapping of settings, got {type(entry).__name__}")
        views[name] = task_view(config, name, entry)
    return views
