"""Training prompts: a fixed prefix before every text of a task, in training, in its dev metric and at test time.

sentence-transformers' ``prompts`` training argument, for one prefix per dataset. Several datasets whose labels
mean different things (STS-B's similarity and SICK-R's relatedness) pull one embedding space apart; a prefix per
task lets one model serve each (``prompts: {stsb: "similarity: ", sick: "relatedness: "}``). The fine-tuned model
keeps the prefixes as named prompts, so ``model.encode(texts, prompt_name="sick")`` encodes as SICK was trained.

``prompts`` is one string (every text of every task) or ``{task: prefix}`` (tasks left out: no prefix).
sentence-transformers' per-column form (``{column: prefix}``, e.g. ``query: `` / ``passage: ``) is not supported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The name of the prompt a one-string ``prompts`` is saved under (the saved model's default prompt).
SINGLE_PROMPT_NAME = "train"


def prompts_problem(prompts: Any, tasks: Sequence[str]) -> str | None:
    """What is wrong with a ``prompts`` setting for a run with these ``tasks`` (``train_datasets`` names, empty for
    a one-dataset run), or ``None``."""
    if prompts is None or isinstance(prompts, str):
        return None
    if not isinstance(prompts, Mapping):
        return f"prompts must be a string or a dict {{task: prefix}}, got {type(prompts).__name__}"
    if not tasks:
        return (
            f"prompts {dict(prompts)!r}: a dict names the tasks of train_datasets; a run on one dataset takes one "
            "string (per-column prompts are not supported)"
        )
    unknown = sorted(str(k) for k in prompts if k not in tasks)
    if unknown:
        return f"prompts: {unknown} are not tasks of train_datasets ({', '.join(tasks)})"
    bad = sorted(str(k) for k, v in prompts.items() if not isinstance(v, str))
    if bad:
        return f"prompts: the prompt of {bad} must be a string (per-column prompts are not supported)"
    return None


def task_prompts(prompts: Any, tasks: Sequence[str], multi: bool) -> dict[str, str]:
    """``{task: prefix}`` for every task (``""``: none) of a multi-task run (``multi``) or of the one task.

    Raises:
        ValueError: the setting does not fit the tasks (see :func:`prompts_problem`).
    """
    problem = prompts_problem(prompts, tasks if multi else [])
    if problem:
        raise ValueError(problem)
    if prompts is None:
        return dict.fromkeys(tasks, "")
    if isinstance(prompts, str):
        return dict.fromkeys(tasks, prompts)
    return {task: str(prompts.get(task, "")) for task in tasks}


def model_prompts(prompts: Any) -> tuple[dict[str, str], str | None]:
    """The named prompts a model trained with ``prompts`` keeps, and its default prompt name: ``{task: prefix}``
    without a default, or one string as the default prompt :data:`SINGLE_PROMPT_NAME` (every text was trained with
    it, so ``encode`` uses it unless told otherwise)."""
    if not prompts:
        return {}, None
    if isinstance(prompts, str):
        return {SINGLE_PROMPT_NAME: prompts}, SINGLE_PROMPT_NAME
    return {str(k): str(v) for k, v in prompts.items() if v}, None


def prompt_for_test_set(prompts: Any, dataset: str, task_datasets: Mapping[str, str]) -> str:
    """The prefix a test set is encoded with: the one string, or the prompt of the task trained on the same dataset
    (``task_datasets``: ``{task: its train_dataset}``); ``""`` when no task trained on it."""
    if not prompts:
        return ""
    if isinstance(prompts, str):
        return prompts
    for task, train_dataset in task_datasets.items():
        if train_dataset == dataset and prompts.get(task):
            return str(prompts[task])
    return ""
