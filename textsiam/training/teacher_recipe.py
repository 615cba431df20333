"""Teachers that a run trains first: the ``{train: {settings}}`` entries of ``silver_teacher``, and the config of
each one's training run (:func:`teacher_view`).

A teacher to train is a mapping with one key, ``train``, whose value holds :class:`~textsiam.training.TrainConfig`
fields for the teacher's run (``model``, ``model_type``, ``loss``, ``loss_kwargs``, ``epochs``, ``learning_rate``,
``batch_size``, ``seed``, ``max_seq_length``, ...; the aliases ``lr``, ``bs``, ... too). The teacher's config is,
field by field:

* the data (:data:`DATA_FIELDS`): always the student's, so that the teacher trains on the same gold pairs and
  chooses its checkpoint on the same dev data. ``train`` may not set them, nor a ``silver_*`` field, nor
  ``output_dir`` (the teacher trains into ``output_dir/teachers/<index>`` of the student's run);
* ``model``: the student's ``model`` unless ``train`` sets it; ``model_type``: ``cross_encoder`` unless it sets it;
* :data:`INHERITED` (``seed``, ``bf16``, ``eval_batch_size``, ``n_resamples``, ``dataloader_num_workers``): the
  student's unless ``train`` sets them;
* every other field: what ``train`` sets, else the field's default (``test_datasets``: none).

Example (YAML)::

    silver_teacher:
      - train: {model_type: cross_encoder, epochs: 3, learning_rate: 5.0e-5}   # trained first on the gold pairs
      - runs/my_other_teacher                                                   # a given model

This module only reads configs (the checks of :mod:`~textsiam.training.config_checks` use it before anything is
loaded); :mod:`~textsiam.training.teacher_run` trains the teachers.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping
from typing import Any, TypeVar

from textsiam.training.config_fields import ALIASES, TrainFields, field_types
from textsiam.training.config_values import convert

ConfigT = TypeVar("ConfigT", bound=TrainFields)

__all__ = [
    "DATA_FIELDS",
    "INHERITED",
    "TEACHERS_DIR",
    "TRAIN_KEY",
    "is_recipe",
    "recipe_items",
    "teacher_folder",
    "teacher_view",
    "with_start_model",
]

#: The key of a ``silver_teacher`` entry that describes a teacher to train first.
TRAIN_KEY = "train"
#: The folder of ``output_dir`` that holds the teachers a run trained, one run folder per entry (``teachers/0``, ...).
TEACHERS_DIR = "teachers"
#: The fields that say which gold pairs and dev data a run trains on: a teacher's are always the student's.
DATA_FIELDS: tuple[str, ...] = (
    "train_dataset",
    "train_split",
    "train_datasets",
    "multi_dataset_batch_sampler",
    "dev_dataset",
    "dev_split",
    "data_dir",
    "max_train_pairs",
    "max_dev_pairs",
    "label_column",
    "text_a_column",
    "text_b_column",
    "text_c_column",
    "label_transform",
    "binarize_threshold",
)
#: Fields a teacher takes from the student unless its ``train`` mapping sets them.
INHERITED: tuple[str, ...] = ("seed", "bf16", "eval_batch_size", "n_resamples", "dataloader_num_workers")
#: A teacher's model type unless its ``train`` mapping sets one.
DEFAULT_MODEL_TYPE = "cross_encoder"


def is_recipe(item: Any) -> bool:
    """Whether an entry of ``silver_teacher`` describes a teacher to train (a mapping), not a given model."""
    return isinstance(item, Mapping)


def recipe_items(value: Any) -> list[tuple[int, str, Mapping[str, Any]]]:
    """``(index, label, entry)`` of every teacher to train in a ``silver_teacher`` value; ``label`` names it in
    messages: ``silver_teacher`` for a single mapping, ``silver_teacher[i]`` for the ``i``-th entry of a list."""
    if is_recipe(value):
        return [(0, "silver_teacher", value)]
    if isinstance(value, (list, tuple)):
        return [(i, f"silver_teacher[{i}]", item) for i, item in enumerate(value) if is_recipe(item)]
    return []


def teacher_folder(output_dir: str | os.PathLike[str], index: int) -> str:
    """The run folder of the ``index``-th teacher to train of a run whose folder is ``output_dir``:
    ``output_dir/teachers/<index>``."""
    return os.path.join(os.fspath(output_dir), TEACHERS_DIR, str(index))


def teacher_view(
    config: ConfigT, entry: Mapping[str, Any], label: str, output_dir: str
) -> tuple[ConfigT | None, list[str]]:
    """The config of the teacher run that ``entry`` describes (see the module docstring), and every problem with
    the entry's keys and values (each message starts with ``label``); the config is ``None`` when there are
    problems. Its own checks (loss, model type, numbers) are :func:`~textsiam.training.config_checks.config_problems`'s.

    Args:
        config: the student's config.
        entry: the ``silver_teacher`` entry, ``{train: {settings}}``.
        label: how messages name the entry (``silver_teacher[0]``).
        output_dir: the teacher's run folder (``output_dir/teachers/<index>`` of the student's run, or a temporary
            folder).
    """
    settings, problems = _settings(entry, label)
    if settings is None:
        return None, problems
    types_ = field_types(type(config))
    changes: dict[str, Any] = {name: copy.deepcopy(getattr(config, name)) for name in (*DATA_FIELDS, *INHERITED)}
    changes["model"] = config.model
    changes["model_type"] = DEFAULT_MODEL_TYPE
    changes["output_dir"] = output_dir
    for raw_key, value in settings.items():
        key = ALIASES.get(str(raw_key).strip().replace("-", "_"), str(raw_key).strip().replace("-", "_"))
        problem = _key_problem(key, raw_key, label, types_)
        if problem:
            problems.append(problem)
            continue
        try:
            changes[key] = convert(value, types_[key], f"{label}.{TRAIN_KEY}.{raw_key}")
        except (ValueError, TypeError) as err:
            problems.append(str(err))
    if changes["seed"] != config.seed and (config.max_train_pairs or config.max_dev_pairs):
        problems.append(
            f"{label}.{TRAIN_KEY}.seed: the run subsamples the gold pairs (max_train_pairs / max_dev_pairs) with its "
            f"seed ({config.seed}), and the teacher trains on the same pairs: leave seed out (the run's) or set it in "
            "the run"
        )
    if problems:
        return None, problems
    return dataclasses.replace(type(config)(), **changes), []


def _settings(entry: Mapping[str, Any], label: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The ``train`` mapping of an entry, or ``None`` and the problems with the entry's shape."""
    extra = sorted(str(k) for k in entry if k != TRAIN_KEY)
    if extra or TRAIN_KEY not in entry:
        what = f"unknown key(s) {extra}" if extra else f"no {TRAIN_KEY!r} key"
        return None, [
            f"{label}: a teacher to train first is {{{TRAIN_KEY}: {{settings}}}} (e.g. {{{TRAIN_KEY}: {{model_type: "
            f"cross_encoder, epochs: 3}}}}), or name a model folder / Hub name; {what}"
        ]
    settings = entry[TRAIN_KEY]
    if settings is None:
        return {}, []
    if not isinstance(settings, Mapping):
        return None, [
            f"{label}.{TRAIN_KEY}: expected a mapping of training settings (e.g. {{model_type: cross_encoder, "
            f"epochs: 3}}), got {settings!r}"
        ]
    return dict(settings), []


def _key_problem(key: str, raw_key: Any, label: str, types_: Mapping[str, Any]) -> str | None:
    """Why ``train`` may not set ``key`` (unknown, the student's data, a ``silver_*`` field, ``output_dir``)."""
    where = f"{label}.{TRAIN_KEY}.{raw_key}"
    if key not in types_:
        close = [k for k in types_ if key and (key in k or k in key)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return (
            f"{label}.{TRAIN_KEY}: unknown key {raw_key!r}{hint}; a teacher's settings are training config fields "
            "(textsiam train --list-options)"
        )
    if key in DATA_FIELDS:
        return (
            f"{where}: the teacher trains on the run's gold pairs and dev data, so {key} is the run's own: set it "
            "in the run, not here"
        )
    if key.startswith("silver_"):
        return f"{where}: a teacher trained first gets no silver pairs of its own; remove {key}"
    if key == "output_dir":
        return (
            f"{where}: a teacher trains into output_dir/{TEACHERS_DIR}/<index> of the run (a temporary folder "
            "without one); remove output_dir"
        )
    return None


def with_start_model(value: Any, model: str | None) -> Any:
    """``value`` (a ``silver_teacher`` value) with ``model`` as the start model of each teacher to train that names
    none (:func:`textsiam.fit` with a model object: the folder it was loaded from stands for the student's model)."""
    if model is None:
        return value

    def fill(item: Any) -> Any:
        if not is_recipe(item) or not isinstance(item.get(TRAIN_KEY) or {}, Mapping):
            return item
        settings = dict(item.get(TRAIN_KEY) or {})
        if "model" in settings:
            return item
        return {**item, TRAIN_KEY: {**settings, "model": model}}

    if isinstance(value, (list, tuple)):
        return [fill(item) for item in value]
    return fill(value)
