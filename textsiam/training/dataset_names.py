"""Dataset names in a config: a benchmark name, a data file, or data given from Python (``<in-memory ...>``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

#: Dataset names that start with this stand for data given from Python (:func:`textsiam.fit`), not a name or file.
IN_MEMORY_PREFIX = "<in-memory"


def in_memory_name(data: Any) -> str:
    """The name that stands for in-memory ``data`` in a config and a model card, e.g. ``<in-memory: list, 3 rows>``."""
    try:
        n = len(next(iter(data.values()))) if isinstance(data, dict) and data else len(data)  # a dict of columns
        rows = f", {n} rows"
    except (TypeError, StopIteration):
        rows = ""
    return f"{IN_MEMORY_PREFIX}: {type(data).__name__}{rows}>"


def is_in_memory(name: Any) -> bool:
    """Whether a dataset name stands for data given from Python."""
    return isinstance(name, str) and name.startswith(IN_MEMORY_PREFIX)


def dataset_task(name: str | None) -> str | None:
    """``"sts"`` / ``"classification"`` for a benchmark name; ``None`` for files (known only once loaded)."""
    if name is None or is_file_dataset(name) or is_in_memory(name):
        return None
    from textsiam.data import task_type

    try:
        return task_type(name)
    except ValueError:
        return None


def is_file_dataset(name: str) -> bool:
    """Whether a dataset name refers to a data file rather than a benchmark."""
    return bool(re.search(r"\.(csv|tsv|txt|jsonl|json)$", str(name), re.IGNORECASE)) or os.sep in str(name)


def check_dataset(name: Any, split: str, attr: str, registry_only: bool = False) -> list[str]:
    from textsiam.data import dataset_info

    if not isinstance(name, str) or not name.strip():
        return [f"{attr}: dataset names must be non-empty strings, got {name!r}"]
    if is_in_memory(name):
        if registry_only:
            return [f"{attr}: test datasets must be benchmark names (stsb, sick, mrpc, ...), got {name!r}"]
        return []
    if is_file_dataset(name):
        if registry_only:
            return [f"{attr}: {name!r} is a file; test datasets must be benchmark names (stsb, sick, mrpc, ...)"]
        if not Path(name).expanduser().is_file():
            return [f"{attr}: data file not found: {name}"]
        return []
    try:
        info = dataset_info(name)
    except ValueError as err:
        return [f"{attr}: {err}"]
    canonical = {"validation": "dev", "trial": "dev"}.get(split.strip().lower(), split.strip().lower())
    if canonical not in info.splits:
        return [f"{attr}: dataset {info.name!r} has no split {split!r}; available: {', '.join(info.splits)}"]
    return []
