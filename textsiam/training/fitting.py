"""Fine-tuning from Python: :func:`fit` trains the model in hand on data in hand.

It is ``textsiam train`` without the config file: the same trainer, seeds, checkpoints and resume, with data given
as Python objects and a loss given as a name or an object. The same recipe gives the same weights either way.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from textsiam.data.tables import ROLES
from textsiam.training.config import ConfigError, TrainConfig, resolve_key
from textsiam.training.dataset_names import in_memory_name
from textsiam.training.run import TrainResult, run
from textsiam.training.silver_teachers import given_teachers
from textsiam.training.silver_texts import given_texts
from textsiam.training.sources import GivenData
from textsiam.training.tasks import SINGLE_TASK, check_task_name
from textsiam.training.teacher_recipe import recipe_items, with_start_model

logger = logging.getLogger(__name__)

__all__ = ["fit"]

#: Config fields that :func:`fit` takes as its own arguments, not as ``**settings``.
OWN_ARGUMENTS: dict[str, str] = {
    "model": "the model argument",
    "train_dataset": "the train argument",
    "train_datasets": "a dict of tasks as the train argument",
    "dev_dataset": "the dev argument",
    "loss": "the loss argument",
    "output_dir": "the output_dir argument",
    "label_column": "columns={'label': ...}",
    "text_a_column": "columns={'text_a': ...}",
    "text_b_column": "columns={'text_b': ...}",
    "text_c_column": "columns={'text_c': ...}",
}
#: Config fields that change the start model: set on the model in hand instead.
MODEL_SETTINGS: tuple[str, ...] = ("pooling", "similarity", "max_seq_length", "encoder", "encoder_args")
_NOT_SAVED = "<not saved>"


def fit(
    model: Any,
    train: Any,
    loss: Any = None,
    dev: Any = None,
    *,
    columns: Mapping[str, Any] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    resume: bool | str = False,
    overwrite: bool = False,
    callbacks: list[Any] | None = None,
    show_progress: bool = True,
    **settings: Any,
) -> TrainResult:
    """Fine-tune ``model`` on ``train``; the model is trained in place and holds the best weights afterwards.

    Args:
        model: the :class:`~textsiam.SiameseModel` or :class:`~textsiam.CrossEncoder` to fine-tune (or a model name /
            folder to load; ``model_type="cross_encoder"`` loads it as a cross-encoder). A cross-encoder trains on
            labelled pairs (one dataset), with a cross-encoder loss (``binary_cross_entropy``, ``cross_entropy``,
            ``cross_encoder_mse``; see docs/cross-encoder.md).
        train: the training data: a benchmark name (``"stsb"``), a file path (CSV/TSV/JSONL/JSON), a
            :class:`datasets.Dataset`, a :class:`pandas.DataFrame`, a dict of columns, or a list of tuples
            (``(a, b, label)``, ``(anchor, positive)``, ``(anchor, positive, negative)``, ``(text, label)``), in any
            of sentence-transformers' formats. A dict ``{task: data}`` trains on several datasets at once (each
            batch from one task; ``multi_dataset_batch_sampler="proportional"`` or ``"round_robin"``).
        loss: a loss name (``"cosent"``, ``"mnrl"``, ...; keyword arguments in ``loss_kwargs=``), a loss object from
            :mod:`textsiam.losses`, ``None`` to choose one from the data's format and labels (logged), or a dict
            keyed like ``train``.
        dev: dev data that picks the best epoch (any form ``train`` takes), an evaluator from
            :mod:`textsiam.evaluation` (or any callable ``model -> metric``), ``None`` for none, or a dict keyed
            like ``train``. With several tasks the mean of their primary dev metrics picks the checkpoint.
        columns: ``{role: column}`` for tables whose columns are not found by name; roles ``text_a``, ``text_b``,
            ``text_c`` and ``label`` (``"label": None``: no label column). The same map applies to train and dev.
            With several tasks: one map for all, or ``{task: map}``.
        output_dir: the run folder (checkpoints, model, evaluation, model card) as ``textsiam train`` writes it;
            ``None``: nothing is written (the best weights are kept in memory).
        resume: continue from the latest checkpoint in ``output_dir`` (``True``) or a checkpoint path.
        overwrite: replace an earlier run in ``output_dir``.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        show_progress: progress bars (``False``: quiet; the loss goes to ``logging``).
        **settings: any other field of :class:`~textsiam.training.TrainConfig` (``epochs``, ``batch_size``,
            ``learning_rate`` / ``lr``, ``seed``, ``warmup_ratio``, ``max_train_pairs``, ``test_datasets``,
            ``loss_kwargs``, ...; ``textsiam train --list-options`` lists them).

    Returns:
        :class:`~textsiam.training.TrainResult`; ``result.model`` is the trained model, ``result.evaluation`` its
        dev (and test) evaluation.

    Raises:
        TypeError: a model, data, loss or dev of the wrong type.
        ConfigError: a setting that does not exist or does not fit, a loss that does not fit its data (naming the
            loss and the columns), before the model is touched.

    Example:
        >>> import textsiam
        >>> model = textsiam.SiameseModel.from_pretrained()  # doctest: +SKIP
        >>> pairs = [("A man plays guitar.", "Someone plays a guitar.", 4.6), ("A cat sleeps.", "Stocks fell.", 0.2)]
        >>> textsiam.fit(model, pairs, epochs=1)  # doctest: +SKIP
    """
    from textsiam.model.cross_encoder import CrossEncoder
    from textsiam.model.siamese import SiameseModel

    if not isinstance(model, (SiameseModel, CrossEncoder, str, os.PathLike)):
        raise TypeError(
            f"model must be a SiameseModel or a CrossEncoder (or a model name / folder), got {type(model).__name__}"
        )
    given = GivenData()
    config_fields = _settings(settings)
    in_hand = model if isinstance(model, (SiameseModel, CrossEncoder)) else None
    if isinstance(model, CrossEncoder):
        _cross_encoder_fields(train, config_fields)
        given.head_labels = model.num_labels  # with no loss given, several labels train with cross_entropy
    elif in_hand is not None and config_fields.get("model_type", "siamese") != "siamese":
        raise ValueError(f"model_type={config_fields['model_type']!r}, but the model is a SiameseModel")
    if in_hand is None:
        config_fields["model"] = str(model)
    else:
        for name in MODEL_SETTINGS if isinstance(model, SiameseModel) else ("max_seq_length",):
            if name in config_fields:
                raise ValueError(
                    f"{name} changes the start model: set it on the model you pass (e.g. model.max_seq_length = 64)"
                )
    save = output_dir is not None
    if not save and (resume or config_fields.get("checkpoint_soup") or config_fields.get("wise_alphas")):
        raise ValueError("resume, checkpoint_soup and wise_alphas need the run's checkpoints: give output_dir")
    config_fields["output_dir"] = str(output_dir) if save else _NOT_SAVED
    if config_fields.get("silver_teacher") is not None:  # model objects go to given.teachers, names to the config
        config_fields["silver_teacher"] = given_teachers(config_fields["silver_teacher"], given)
        if in_hand is not None and recipe_items(config_fields["silver_teacher"]):  # from the model's folder
            config_fields["silver_teacher"] = with_start_model(config_fields["silver_teacher"], _folder_of(in_hand))
    if config_fields.get("silver_texts") is not None:  # texts given as objects go to given.texts, names stay
        config_fields["silver_texts"] = given_texts(config_fields["silver_texts"], given)
    tasks = _task_names(train)
    if tasks is None:
        config_fields.update(_task_fields(SINGLE_TASK, train, loss, dev, columns, given, config_fields))
        config_fields.setdefault("dev_dataset", None)
    else:
        if isinstance(loss, str):  # one loss name for every task: a top-level loss, its loss_kwargs with it
            config_fields["loss"], loss = loss, None
        elif isinstance(loss, Mapping) and "loss_kwargs" in config_fields:
            raise ValueError("loss_kwargs with a dict of losses: give loss objects with their arguments instead")
        loss_map = _per_task(loss, tasks, "loss")
        dev_map = _per_task(dev, tasks, "dev")
        columns_map = _per_task_columns(columns, tasks)
        entries = {}
        for name in tasks:
            fields = _task_fields(name, train[name], loss_map[name], dev_map[name], columns_map[name], given, {})
            entries[name] = {_ENTRY_KEYS.get(k, k): v for k, v in fields.items()}
        config_fields["train_datasets"] = entries
    config = TrainConfig.from_dict(config_fields)
    logger.debug("fit: %s", config)
    return run(
        config,
        model=in_hand,
        given=given,
        save=save,
        resume=resume,
        overwrite=overwrite,
        callbacks=callbacks,
        show_progress=show_progress,
        command="textsiam.fit(...) from Python",
    )


_ENTRY_KEYS = {"train_dataset": "dataset", "train_split": "split"}
#: A Hub model name, ``org/name``.
_HUB_NAME = re.compile(r"[\w.-]+/[\w.-]+")


def _folder_of(model: Any) -> str | None:
    """The local folder or Hub name (``org/name``) a model object was loaded from (its ``name_or_path``), or
    ``None``: a teacher trained first then starts from the embedded default model, as a recipe with ``model: null``
    does."""
    name = str(getattr(model, "name_or_path", "") or "")
    if name and (os.path.isdir(name) or (_HUB_NAME.fullmatch(name) and not os.path.exists(name))):
        return name
    logger.warning(
        "silver_teacher: the model in hand has no folder or Hub name; a teacher to train starts from the default model"
    )
    return None


def _cross_encoder_fields(train: Any, config_fields: dict[str, Any]) -> None:
    """Set ``model_type: cross_encoder`` for a :class:`~textsiam.CrossEncoder` in hand (one dataset only). The loss,
    when none is given, is chosen with the data as for a recipe: ``cross_entropy`` when the model's head has several
    labels (sentence-transformers' default), whether it came loaded or from a folder."""
    if config_fields.get("model_type", "cross_encoder") != "cross_encoder":
        raise ValueError(f"model_type={config_fields['model_type']!r}, but the model is a CrossEncoder")
    if _task_names(train) is not None:
        raise ValueError(
            "a cross-encoder trains on one dataset: give train as one table, not a dict of tasks (multi-task training "
            "is for twin towers)"
        )
    config_fields["model_type"] = "cross_encoder"


def _settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems = []
    for key, value in settings.items():
        try:
            name = resolve_key(key)
        except KeyError as err:
            problems.append(err.args[0])
            continue
        if name in OWN_ARGUMENTS:
            problems.append(f"{key}: give it as {OWN_ARGUMENTS[name]}")
            continue
        out[name] = value
    if problems:
        raise ConfigError(problems)
    return out


def _task_names(train: Any) -> list[str] | None:
    """The task names when ``train`` is a dict of tasks (rather than one table given as a dict of columns)."""
    if not isinstance(train, Mapping) or not train:
        return None
    values = list(train.values())

    def is_data(value: Any) -> bool:
        if isinstance(value, (str, os.PathLike, Mapping)) or hasattr(value, "column_names"):
            return True
        if type(value).__name__ == "DataFrame":
            return True
        return isinstance(value, Sequence) and bool(value) and isinstance(value[0], (tuple, list, Mapping))

    if not all(is_data(v) for v in values):
        return None  # a dict of columns: one table
    names = list(train)
    for name in names:
        problem = check_task_name(name)
        if problem:
            raise ValueError(problem.replace("train_datasets", "train"))
    return names


def _per_task(value: Any, tasks: list[str], what: str) -> dict[str, Any]:
    if isinstance(value, Mapping) and value and set(value) <= set(tasks) and not _looks_like_table(value):
        return {name: value.get(name) for name in tasks}
    if isinstance(value, Mapping) and value and not _looks_like_table(value):
        raise ValueError(f"{what}: the keys {sorted(value)} are not the tasks of train ({', '.join(tasks)})")
    if what == "dev" and value is not None:
        raise ValueError("with several tasks, dev must be a dict {task: dev data or evaluator}")
    return dict.fromkeys(tasks, value)


def _looks_like_table(value: Mapping[str, Any]) -> bool:
    return any(key in value for key in ("text_a", "sentence1", "anchor", "question1", "text", "label", "score"))


def _per_task_columns(columns: Any, tasks: list[str]) -> dict[str, Any]:
    if isinstance(columns, Mapping) and columns and set(columns) <= set(tasks):
        return {name: columns.get(name) for name in tasks}
    return dict.fromkeys(tasks, columns)


def _task_fields(
    name: str, train: Any, loss: Any, dev: Any, columns: Any, given: GivenData, base: Mapping[str, Any]
) -> dict[str, Any]:
    """The config fields of one task, the Python objects going to ``given`` instead."""
    fields: dict[str, Any] = {}
    if isinstance(train, (str, os.PathLike)):
        fields["train_dataset"] = os.fspath(train)
    else:
        given.train[name] = train
        fields["train_dataset"] = in_memory_name(train)
    if isinstance(loss, str):
        fields["loss"] = loss
    elif loss is not None:
        if "loss_kwargs" in base:
            raise ValueError("loss_kwargs go with a loss name; a loss object carries its own arguments")
        given.losses[name] = loss
    if dev is None:
        fields["dev_dataset"] = None
    elif isinstance(dev, (str, os.PathLike)):
        fields["dev_dataset"] = os.fspath(dev)
    else:
        given.dev[name] = dev
        fields["dev_dataset"] = in_memory_name(dev)
    fields.update(_column_fields(columns))
    return fields


def _column_fields(columns: Any) -> dict[str, Any]:
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise TypeError(f"columns must be a dict {{role: column}}, got {type(columns).__name__}")
    out: dict[str, Any] = {}
    for role, column in columns.items():
        if role not in ROLES:
            raise ValueError(f"columns: unknown role {role!r}; the roles are {', '.join(ROLES)}")
        if column is None and role != "label":
            raise ValueError(f"columns: only 'label' can be None (no label column); leave {role!r} out to find it")
        if column is not None and not isinstance(column, str):
            raise TypeError(f"columns[{role!r}] must be a column name, got {type(column).__name__}")
        out[f"{role}_column"] = column
    return out
