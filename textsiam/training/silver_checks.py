"""The checks of the teacher pipeline's settings (``silver_*``), before any data or model is loaded.

:func:`silver_problems` is one of the checks of :meth:`TrainConfig.validate
<textsiam.training.config.TrainConfig.validate>`: each problem is one line that names the setting and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from textsiam.losses import LOSSES
from textsiam.training.dataset_names import check_dataset, is_file_dataset

__all__ = [
    "SILVER_MAPPINGS",
    "SILVER_SETTINGS",
    "SILVER_STRATEGIES",
    "IN_MEMORY_TEXTS",
    "TRAIN_SOURCE",
    "silver_loss_problem",
    "silver_problems",
    "silver_texts_problems",
]

#: ``silver_strategies`` values: how pairs of the training texts are sampled (:mod:`.silver_sampling`).
SILVER_STRATEGIES: tuple[str, ...] = ("bm25", "nn", "random")
#: The ``silver_texts`` entry that stands for the run's own training texts (:mod:`.silver_texts`).
TRAIN_SOURCE = "train"
#: How a recipe names texts given to :func:`textsiam.fit` (``<in-memory texts N: K texts>``, :mod:`.silver_texts`).
IN_MEMORY_TEXTS = "<in-memory texts"
#: ``silver_mapping`` values: the monotone map of teacher scores onto the gold label scale.
SILVER_MAPPINGS: tuple[str, ...] = ("isotonic", "linear")
#: The settings of the pipeline besides ``silver_teacher`` itself.
SILVER_SETTINGS: tuple[str, ...] = (
    "silver_strategies",
    "silver_texts",
    "silver_per_text",
    "silver_max_pairs",
    "silver_mapping",
    "silver_label_match",
    "silver_batch_size",
    "silver_prompt_name",
)
#: Label kinds of the losses that cannot learn from silver scores (classes, a teacher's embeddings).
_NO_SILVER_KINDS = ("class", "teacher")


def _defaults(config: Any) -> dict[str, Any]:
    return {f.name: f.default_factory() if f.default is MISSING else f.default for f in fields(config)}  # type: ignore[misc]


def silver_problems(config: Any) -> list[str]:
    """Every problem with the ``silver_*`` settings of ``config`` (a :class:`~textsiam.training.TrainConfig` whose
    values have their declared types); an empty list when the pipeline is off and untouched, or fine."""
    teacher = config.silver_teacher
    if teacher is None:
        defaults = _defaults(config)
        given = [name for name in SILVER_SETTINGS if getattr(config, name) != defaults[name]]
        if given:
            return [
                f"{', '.join(given)}: setting(s) of the teacher pipeline, which is off (silver_teacher: null): name a "
                "teacher in silver_teacher or remove them"
            ]
        return []
    problems = _teacher_problems(teacher)
    if config.model_type == "cross_encoder":
        problems.append(
            "silver_teacher: the teacher pipeline trains a twin tower (the student); a cross-encoder student "
            "(model_type: cross_encoder) is not supported: train the cross-encoder on the gold pairs and name it as "
            "the teacher of a twin tower"
        )
    if config.train_datasets:
        problems.append(
            "silver_teacher: silver pairs with multi-task training (train_datasets) are not supported yet; give one "
            "train_dataset"
        )
    strategies = config.silver_strategies
    unknown = [s for s in strategies if s not in SILVER_STRATEGIES]
    if not strategies:
        problems.append(f"silver_strategies: name at least one of {list(SILVER_STRATEGIES)}")
    elif unknown:
        problems.append(f"silver_strategies: unknown {unknown}; choose from {list(SILVER_STRATEGIES)}")
    elif len(set(strategies)) < len(strategies):
        problems.append(f"silver_strategies: each strategy once, got {strategies}")
    if "nn" in strategies and config.encoder != "transformer":
        problems.append(
            f"silver_strategies: nn pairs texts by the start model's embeddings, but a new {config.encoder} tower "
            "has none worth using: use bm25 (or random)"
        )
    problems += silver_texts_problems(config.silver_texts)
    if config.silver_mapping not in SILVER_MAPPINGS:
        problems.append(f"unknown silver_mapping {config.silver_mapping!r}; choose one of {list(SILVER_MAPPINGS)}")
    rules = [
        (config.silver_per_text >= 1, f"silver_per_text must be >= 1, got {config.silver_per_text}"),
        (
            config.silver_max_pairs is None or config.silver_max_pairs >= 1,
            f"silver_max_pairs must be >= 1 or None, got {config.silver_max_pairs}",
        ),
        (config.silver_batch_size >= 1, f"silver_batch_size must be >= 1, got {config.silver_batch_size}"),
        (
            config.silver_prompt_name is None or bool(config.silver_prompt_name.strip()),
            "silver_prompt_name: name one of the twin-tower teachers' saved prompts, or null for none",
        ),
    ]
    problems += [message for ok, message in rules if not ok]
    problem = silver_loss_problem(config.loss)
    return problems + ([problem] if problem else [])


def silver_loss_problem(loss: str | None) -> str | None:
    """Why silver pairs cannot train with ``loss`` (a loss for classes, a teacher's embeddings or no labels), or
    ``None`` (also for ``None``: the loss is chosen from the data, and checked again then)."""
    spec = LOSSES.get(loss)
    if spec is not None and (spec.label_kind in _NO_SILVER_KINDS or spec.label_free):
        return (
            f"silver_teacher: silver pairs carry scores on the gold label scale, which loss {loss!r} does not train "
            "on; use a loss for labelled pairs (cosent, cosine_similarity, online_contrastive, ...)"
        )
    return None


def _teacher_problems(teacher: Any) -> list[str]:
    """The entries of ``silver_teacher``: model names, or mappings of teachers to train first (whose keys and
    values :func:`~textsiam.training.config_checks.check_teachers_to_train` checks)."""
    names = [teacher] if isinstance(teacher, (str, Mapping)) else list(teacher)
    if not names:
        return ["silver_teacher: name a model (or a list of models), or null for no silver pairs"]
    problems = []
    for name in names:
        if isinstance(name, Mapping):
            continue
        if not isinstance(name, str) or not name.strip():
            problems.append(
                "silver_teacher: each teacher is a model folder or Hub name, or {train: {settings}} for a teacher "
                f"trained first on the gold pairs, got {name!r}"
            )
    repeated = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    if repeated:
        problems.append(f"silver_teacher: {', '.join(repeated)} named more than once; name each teacher once")
    return problems


def silver_texts_problems(entries: Any) -> list[str]:
    """The problems of a ``silver_texts`` value (before any data is read): each entry ``train``, ``NAME:SPLIT`` of a
    benchmark, or an existing data file; each once."""
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        return [f"silver_texts: give a list of sources (train, NAME:SPLIT, or a file), got {entries!r}"]
    if not entries:
        return ["silver_texts: name at least one source, e.g. [train] (the training texts)"]
    problems = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            problems.append(f"silver_texts: each source is train, NAME:SPLIT or a file path, got {entry!r}")
        elif entry == TRAIN_SOURCE or entry.startswith(IN_MEMORY_TEXTS):  # texts given to textsiam.fit
            continue
        elif is_file_dataset(entry):
            if not Path(entry).expanduser().is_file():
                problems.append(f"silver_texts: file not found: {entry}")
        elif ":" not in entry:
            problems.append(
                f"silver_texts: {entry!r} names no split; write NAME:SPLIT (e.g. {entry}:train), train for the "
                "training texts, or a file path"
            )
        else:
            name, split = entry.rsplit(":", 1)
            problems += check_dataset(name, split, "silver_texts")
    repeated = sorted({e for e in entries if isinstance(e, str) and list(entries).count(e) > 1})
    if repeated:
        problems.append(f"silver_texts: {', '.join(repeated)} given more than once; give each source once")
    return problems
