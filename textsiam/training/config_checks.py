"""The checks behind :meth:`TrainConfig.validate <textsiam.training.config.TrainConfig.validate>`: types, the loss,
the data, the numbers and the choices of a config, before any data or model is loaded.

:func:`config_problems` returns every problem as one line (an empty list when the config is fine). What a loss
allows (batch size, hard negatives, a teacher, duplicates in a batch) comes from its class attributes
(:class:`~textsiam.losses.base.SiameseLoss`), never from its name.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

from textsiam.losses import LOSSES, MODEL_TYPES, losses_for
from textsiam.training.augment import AUGMENTATIONS
from textsiam.training.config_fields import TrainFields, field_types
from textsiam.training.config_values import type_problem
from textsiam.training.dataset_names import check_dataset, dataset_task
from textsiam.training.labels import LABEL_TRANSFORMS, check_label_compatibility
from textsiam.training.silver_checks import silver_problems

#: ``encoder`` values: ``transformer`` loads ``model`` as it is (any saved tower); the others build a new tower.
ENCODER_CHOICES: tuple[str, ...] = ("transformer", "lstm", "cnn")
#: ``encoder_args`` keys besides the tower config's fields (arguments of ``SiameseModel.lstm`` / ``.cnn``).
TOWER_OPTIONS: tuple[str, ...] = ("embeddings", "projection_dim", "projection_activation", "normalize")
#: ``lr_scheduler`` values.
LR_SCHEDULERS: tuple[str, ...] = ("linear", "cosine", "constant")
#: Settings of a twin tower only: a cross-encoder (``model_type: cross_encoder``) has no tower, pooling, similarity
#: function or embeddings, and reads both texts at once (no hard negatives, no teacher embeddings, no prompts).
TWIN_TOWER_SETTINGS: tuple[str, ...] = (
    "pooling",
    "similarity",
    "encoder",
    "encoder_args",
    "hard_negatives",
    "teacher_model",
    "prompts",
    "fgm_epsilon",
)
#: How the messages name each model type.
MODEL_TYPE_NAMES: dict[str, str] = {
    "siamese": "twin tower (SiameseModel)",
    "cross_encoder": "cross-encoder (CrossEncoder)",
}


def config_problems(config: TrainFields) -> list[str]:
    """Every problem with ``config`` (types first: when a value has the wrong type, only those are reported).

    With ``train_datasets`` (multi-task training) each task's view of the config (:mod:`~textsiam.training.tasks`)
    is checked too, its problems prefixed with ``train_datasets.<task>:``.
    """
    problems = check_types(config)
    if problems:  # the checks below compare values and would fail on a value of the wrong type
        return problems
    problems += check_model_type(config)
    problems += silver_problems(config)  # the teacher pipeline (Augmented SBERT): textsiam.training.silver
    if config.train_datasets:
        return problems + check_numbers(config) + check_choices(config) + check_tasks(config)
    problems += check_loss(config)
    problems += check_data(config)
    problems += check_dev_options(config, config.dev_dataset is not None)
    problems += check_numbers(config)
    problems += check_choices(config)
    problems += check_loss_options(config)
    if config.loss in LOSSES:
        problems += check_label_compatibility(config, dataset_task(config.train_dataset), "train_dataset")
    return problems + check_teachers_to_train(config, problems)


def check_teachers_to_train(config: TrainFields, found: list[str]) -> list[str]:
    """The teachers ``silver_teacher`` describes as ``{train: {...}}``: the keys and values of each entry, then the
    teacher's config as a run's (:mod:`~textsiam.training.teacher_recipe`), each problem prefixed with
    ``silver_teacher[i].train:``; problems the run's own checks ``found`` (its data) are not repeated."""
    from textsiam.training.teacher_recipe import recipe_items, teacher_folder, teacher_view

    if config.model_type == "cross_encoder":  # a cross-encoder student is refused by silver_problems
        return []
    problems = []
    for index, label, entry in recipe_items(config.silver_teacher):
        view, errors = teacher_view(config, entry, label, teacher_folder(config.output_dir, index))
        if view is None:
            problems += errors
            continue
        problems += [f"{label}.train: {p}" for p in config_problems(view) if p not in found]
    return problems


def check_tasks(config: TrainFields) -> list[str]:
    """The entries of ``train_datasets``: names, keys and values, and each task's loss, data and labels."""
    from textsiam.training.tasks import check_task_name, task_view

    problems: list[str] = []
    defaults = {f.name: f.default for f in fields(config)}
    for attr, key in (("train_dataset", "dataset"), ("train_split", "split"), ("dev_dataset", "dev_dataset")):
        if getattr(config, attr) != defaults[attr]:
            problems.append(f"{attr} is not used with train_datasets: set {key} in each task's entry")
    has_dev = False
    for name, entry in config.train_datasets.items():
        problem = check_task_name(name)
        if problem is None and not isinstance(entry, Mapping):
            problem = f"train_datasets.{name} must be a mapping of settings, got {type(entry).__name__}"
        if problem:
            problems.append(problem)
            continue
        try:
            view = task_view(config, name, entry)
        except ValueError as err:
            problems.append(str(err))
            continue
        has_dev = has_dev or view.dev_dataset is not None
        found = check_types(view) or (
            check_loss(view) + check_data(view) + check_loss_options(view) + _label_problems(view)
        )
        problems += [f"train_datasets.{name}: {p}" for p in found]
    return problems + check_dev_options(config, has_dev)


def _label_problems(config: TrainFields) -> list[str]:
    if config.loss not in LOSSES:
        return []
    return check_label_compatibility(config, dataset_task(config.train_dataset), "train_dataset")


def check_types(config: TrainFields) -> list[str]:
    """Every field holds a value of its declared type (see :func:`~textsiam.training.config_values.type_problem`).

    A config built directly (``TrainConfig(bf16="false")``, no conversion) fails here rather than being read as
    ``bool("false") is True``; floats must be finite.
    """
    problems = []
    for name, tp in field_types(type(config)).items():
        problem = type_problem(getattr(config, name), tp, name)
        if problem and name in ("train_dataset", "dev_dataset"):
            problem += "; to train on data in memory, use textsiam.fit(model, data, ...)"
        if problem:
            problems.append(problem)
    return problems


def check_loss(config: TrainFields) -> list[str]:
    """A registered loss, and ``loss_kwargs`` its constructor accepts."""
    if config.loss is None:
        if config.loss_kwargs:
            return ["loss_kwargs need a loss: name the loss they belong to"]
        return []  # chosen from the data once it is loaded
    if config.loss not in LOSSES:
        return [f"unknown loss {config.loss!r}; valid losses: {', '.join(sorted(LOSSES))}"]
    if config.model_type in MODEL_TYPES and LOSSES[config.loss].model_type != config.model_type:
        return [loss_model_problem(config.loss, config.model_type)]
    params = inspect.signature(LOSSES[config.loss].__init__).parameters
    accepted = [n for n, p in params.items() if n != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]
    problems = [
        f"loss {config.loss!r} has no argument {key!r}; it accepts {accepted}"
        for key in config.loss_kwargs
        if key not in accepted
    ]
    if "loss_fct" in config.loss_kwargs:
        problems.append("loss_kwargs.loss_fct cannot be set from a config")
    return problems


def loss_model_problem(loss: str, model_type: str) -> str:
    """Why ``loss`` cannot train a ``model_type`` model: it trains the other kind; the message lists those that fit."""
    trains = LOSSES[loss].model_type
    return (
        f"loss {loss!r} trains a {MODEL_TYPE_NAMES[trains]}, not a {MODEL_TYPE_NAMES[model_type]} (model_type: "
        f"{model_type}); the losses for a {model_type} model: {', '.join(losses_for(model_type))}"
    )


def check_model_type(config: TrainFields) -> list[str]:
    """A known ``model_type``; a cross-encoder without the settings of a twin tower (:data:`TWIN_TOWER_SETTINGS`)
    and without multi-task training."""
    if config.model_type not in MODEL_TYPES:
        return [f"unknown model_type {config.model_type!r}; choose one of {list(MODEL_TYPES)}"]
    if config.model_type != "cross_encoder":
        return []
    defaults = {f.name: f.default_factory() if f.default is MISSING else f.default for f in fields(config)}  # type: ignore[misc]
    given = [name for name in TWIN_TOWER_SETTINGS if getattr(config, name) != defaults[name]]
    problems = []
    if given:
        problems.append(
            f"{', '.join(given)}: setting(s) of a twin tower, which a cross-encoder (model_type: cross_encoder) does "
            "not have: remove them"
        )
    if config.train_datasets:
        problems.append(
            "train_datasets: multi-task training is for twin towers; a cross-encoder (model_type: cross_encoder) "
            "trains on one train_dataset"
        )
    return problems


def check_data(config: TrainFields) -> list[str]:
    """Dataset names and splits exist; the options that choose on dev have a dev set."""
    problems = []
    for attr, split_attr in (("train_dataset", "train_split"), ("dev_dataset", "dev_split")):
        name = getattr(config, attr)
        if name is None:
            if attr == "train_dataset":
                problems.append("train_dataset is required")
            continue
        problems += check_dataset(name, getattr(config, split_attr), attr)
    for name in config.test_datasets:
        problems += check_dataset(name, "test", "test_datasets", registry_only=True)
    return problems


def check_dev_options(config: TrainFields, has_dev: bool) -> list[str]:
    """The options that choose on dev have a dev set (``has_dev``: the run, or one of its tasks, has one)."""
    problems = []
    if config.early_stopping_patience is not None and not has_dev:
        problems.append("early_stopping_patience needs a dev_dataset to watch; set dev_dataset or remove it")
    for name, on in (("checkpoint_soup", config.checkpoint_soup), ("wise_alphas", bool(config.wise_alphas))):
        if on and not has_dev:
            problems.append(f"{name} chooses weights on dev: set dev_dataset or turn {name} off")
    return problems


def check_numbers(config: TrainFields) -> list[str]:
    """Every number is in its range (the loss's ``min_batch_size`` included)."""
    c = config
    rules: list[tuple[bool, str]] = [
        (c.epochs > 0, f"epochs must be > 0, got {c.epochs}"),
        (c.max_steps is None or c.max_steps >= 1, f"max_steps must be >= 1 or None, got {c.max_steps}"),
        (c.batch_size >= 1, f"batch_size must be >= 1, got {c.batch_size}"),
        (c.learning_rate > 0, f"learning_rate must be > 0, got {c.learning_rate}"),
        (0 <= c.warmup_ratio < 1, f"warmup_ratio must be in [0, 1), got {c.warmup_ratio}"),
        (c.weight_decay >= 0, f"weight_decay must be >= 0, got {c.weight_decay}"),
        (c.max_grad_norm >= 0, f"max_grad_norm must be >= 0 (0 = no clipping), got {c.max_grad_norm}"),
        (c.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be >= 1"),
        (c.eval_steps is None or c.eval_steps >= 1, f"eval_steps must be >= 1 or None, got {c.eval_steps}"),
        (
            c.early_stopping_patience is None or c.early_stopping_patience >= 1,
            f"early_stopping_patience must be >= 1 or None, got {c.early_stopping_patience}",
        ),
        (
            c.save_total_limit is None or c.save_total_limit >= 1,
            f"save_total_limit must be >= 1 or None, got {c.save_total_limit}",
        ),
        (c.logging_steps >= 1, f"logging_steps must be >= 1, got {c.logging_steps}"),
        (c.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {c.eval_batch_size}"),
        (c.n_resamples >= 0, f"n_resamples must be >= 0 (0 = no CIs), got {c.n_resamples}"),
        (c.max_train_pairs is None or c.max_train_pairs >= 1, "max_train_pairs must be >= 1 or None"),
        (c.max_dev_pairs is None or c.max_dev_pairs >= 2, "max_dev_pairs must be >= 2 or None"),
        (c.max_seq_length is None or c.max_seq_length >= 1, "max_seq_length must be >= 1 or None"),
        (0 <= c.augment_prob <= 1, f"augment_prob must be in [0, 1], got {c.augment_prob}"),
        (
            all(0 < a <= 1 for a in c.wise_alphas),
            f"wise_alphas are weights of the fine-tuned model and must be in (0, 1], got {c.wise_alphas}",
        ),
        (c.fgm_epsilon >= 0, f"fgm_epsilon must be >= 0 (0 = off), got {c.fgm_epsilon}"),
        (c.pos_neg_ratio is None or c.pos_neg_ratio > 0, "pos_neg_ratio must be > 0 or None"),
        (c.dataloader_num_workers >= 0, "dataloader_num_workers must be >= 0"),
        (bool(str(c.output_dir).strip()), "output_dir must not be empty"),
        (c.seed >= 0, f"seed must be >= 0, got {c.seed}"),
    ]
    return [message for ok, message in rules if not ok]


def check_choices(config: TrainFields) -> list[str]:
    """Names from a fixed set (transforms, schedulers, pooling, ...) and options that need a particular loss."""
    from textsiam.encoders.pooling import check_pooling_mode
    from textsiam.model.scoring import check_similarity_name

    c = config
    problems = []
    if c.label_transform not in LABEL_TRANSFORMS:
        problems.append(f"unknown label_transform {c.label_transform!r}; choose one of {list(LABEL_TRANSFORMS)}")
    if c.label_transform == "binarize" and c.binarize_threshold is None:
        problems.append("label_transform=binarize needs binarize_threshold (e.g. 4.0 on STS-B)")
    if c.binarize_threshold is not None and c.label_transform not in ("binarize", "auto"):
        problems.append(f"binarize_threshold is set but label_transform is {c.label_transform!r}")
    if c.lr_scheduler not in LR_SCHEDULERS:
        problems.append(f"unknown lr_scheduler {c.lr_scheduler!r}; choose one of {list(LR_SCHEDULERS)}")
    if c.augment not in AUGMENTATIONS:
        problems.append(f"unknown augment {c.augment!r}; choose one of {list(AUGMENTATIONS)}")
    problems += check_encoder(c)
    checks = [("similarity", check_similarity_name)]
    if c.encoder not in ("lstm", "cnn"):  # the new towers check their own pooling modes
        checks.append(("pooling", check_pooling_mode))
    for attr, check in checks:
        value = getattr(c, attr)
        if value is not None:
            try:
                check(value)
            except (ValueError, TypeError) as err:
                problems.append(f"{attr}: {err}")
    from textsiam.training.tasks import MULTI_DATASET_SAMPLERS

    if c.multi_dataset_batch_sampler not in MULTI_DATASET_SAMPLERS:
        problems.append(
            f"unknown multi_dataset_batch_sampler {c.multi_dataset_batch_sampler!r}; "
            f"choose one of {list(MULTI_DATASET_SAMPLERS)}"
        )
    from textsiam.training.prompts import prompts_problem

    problem = prompts_problem(c.prompts, list(c.train_datasets))
    if problem:
        problems.append(problem)
    return problems


def _losses_with(attribute: str) -> str:
    return ", ".join(name for name, cls in LOSSES.items() if getattr(cls, attribute)) or "none"


def check_loss_options(config: TrainFields) -> list[str]:
    """Options that only some losses use (by the loss's class attributes): hard negatives, pos:neg, a teacher."""
    spec = LOSSES.get(config.loss)
    if spec is None:
        return []  # reported by check_loss
    problems = []
    if config.batch_size >= 1 and config.batch_size < spec.min_batch_size:
        problems.append(
            f"loss {config.loss!r} compares examples within a batch: batch_size must be >= {spec.min_batch_size}, "
            f"got {config.batch_size}"
        )
    twin_tower = config.model_type != "cross_encoder"  # else check_model_type names the settings
    if config.hard_negatives and not spec.accepts_hard_negatives and twin_tower:
        problems.append(
            f"hard_negatives does not apply to loss {config.loss!r} (it takes no hard negative); "
            f"losses that do: {_losses_with('accepts_hard_negatives')}"
        )
    if config.pos_neg_ratio is not None and spec.label_kind not in ("binary", "float"):
        problems.append(
            f"pos_neg_ratio applies to pair losses with 0/1 labels, not {config.loss!r} "
            f"(label kind {spec.label_kind!r})"
        )
    if config.teacher_model is not None and not spec.needs_teacher and twin_tower:
        problems.append(
            f"teacher_model is only used by losses that learn from a teacher ({_losses_with('needs_teacher')}), "
            f"not {config.loss!r}"
        )
    return problems


def check_encoder(config: TrainFields) -> list[str]:
    """``encoder`` / ``encoder_args``: known names, and settings a new LSTM / CNN tower accepts."""
    if config.encoder not in ENCODER_CHOICES:
        return [f"unknown encoder {config.encoder!r}; choose one of {list(ENCODER_CHOICES)}"]
    if config.encoder == "transformer":
        if config.encoder_args:
            return ["encoder_args apply to a new tower (encoder: lstm or cnn), not to encoder: transformer"]
        return []
    from textsiam.encoders import CNNConfig, LSTMConfig

    config_class = LSTMConfig if config.encoder == "lstm" else CNNConfig
    names = [f.name for f in fields(config_class)]
    settings = {k: v for k, v in config.encoder_args.items() if k in names}
    unknown = sorted(set(config.encoder_args) - set(names) - set(TOWER_OPTIONS))
    if unknown:
        return [f"encoder_args: unknown {config.encoder} setting(s) {unknown}; valid: {names + list(TOWER_OPTIONS)}"]
    problems = _check_tower_options(config.encoder_args)
    if problems:
        return problems
    if config.pooling is not None:
        settings["pooling"] = config.pooling
    try:
        config_class.from_dict(settings).check()
    except (TypeError, ValueError) as err:
        return [f"encoder_args: {err}"]
    modes = {"lstm": ("last", "max", "mean"), "cnn": ("max", "mean")}[config.encoder]
    pooling = settings.get("pooling", config_class.pooling)
    if pooling not in modes:
        return [f"pooling {pooling!r} does not apply to {config.encoder} towers; choose one of {list(modes)}"]
    return []


def _check_tower_options(args: dict[str, Any]) -> list[str]:
    """The :data:`TOWER_OPTIONS` in ``encoder_args`` have the types of ``SiameseModel.lstm`` / ``.cnn``'s arguments."""
    problems = []
    if "normalize" in args and not isinstance(args["normalize"], bool):
        problems.append(f"encoder_args.normalize: expected a boolean (true / false), got {args['normalize']!r}")
    dim = args.get("projection_dim")
    if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 1):
        problems.append(f"encoder_args.projection_dim: expected a positive integer or none, got {dim!r}")
    for name in ("projection_activation", "embeddings"):
        if name in args and not isinstance(args[name], str):
            problems.append(f"encoder_args.{name}: expected a string, got {args[name]!r}")
    return problems
