"""Evaluation inputs: registered datasets (through :mod:`textsiam.data`) and user tables of sentence pairs.

A *pair table* is a :class:`datasets.Dataset`, a :class:`pandas.DataFrame` or a dict of equal-length
lists with the columns ``text_a``, ``text_b`` and ``label``. The sentence-transformers names
(``sentence1``, ``sentence2``, ``score``, ``anchor``, ``positive``, ...) are accepted as well, in the order of
:data:`textsiam.data.TEXT_A_COLUMNS` / ``TEXT_B_COLUMNS`` / ``LABEL_COLUMNS`` (``label`` wins over ``score``).

:func:`load_pairs`, :func:`task_type` and :func:`dataset_info` are the only places that reach
:mod:`textsiam.data`; the evaluators call them through this module, so tests can monkeypatch them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from textsiam.data.user_files import LABEL_COLUMNS, TEXT_A_COLUMNS, TEXT_B_COLUMNS

#: Accepted names of each column, in order of preference (the same names :func:`textsiam.data.load_pairs_from_file`
#: recognises).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "text_a": TEXT_A_COLUMNS,
    "text_b": TEXT_B_COLUMNS,
    "label": LABEL_COLUMNS,
}


@dataclass(frozen=True)
class PairData:
    """Sentence pairs with their gold labels (0/1) or scores (graded); ``len()`` is the number of pairs."""

    text_a: list[str]
    text_b: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.text_a)


# ------------------------------------------------------------------------------------------ dataset hooks
def load_pairs(name: str, split: str, data_dir: Any = None) -> Any:
    """Load a split with :func:`textsiam.data.load_pairs` (imported lazily; monkeypatch this in tests)."""
    from textsiam.data import load_pairs as load_registered

    return load_registered(name, split, data_dir=data_dir)


def task_type(name: str) -> str:
    """``"sts"`` or ``"classification"`` via :func:`textsiam.data.task_type` (monkeypatch this in tests)."""
    from textsiam.data import task_type as registered_task

    return registered_task(name)


def dataset_info(name: str) -> Any:
    """:func:`textsiam.data.dataset_info` of ``name``, or ``None`` when it is not a registered dataset."""
    from textsiam.data import dataset_info as registered_info

    try:
        return registered_info(name)
    except (KeyError, ValueError):
        return None


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered dataset (rather than a name given to custom data)."""
    return dataset_info(name) is not None


def score_range(name: str) -> tuple[float, float] | None:
    """The gold score range of a registered dataset, or ``None`` (custom data)."""
    info = dataset_info(name)
    if info is None:
        return None
    low, high = info.score_range
    return float(low), float(high)


# ------------------------------------------------------------------------------------------ tables
def column_names(data: Any) -> list[str] | None:
    """Column names of a pair table, or ``None`` when ``data`` is not a table."""
    if isinstance(data, Mapping):
        return [str(k) for k in data]
    for attr in ("column_names", "columns"):  # datasets.Dataset, pandas.DataFrame
        names = getattr(data, attr, None)
        if names is not None and not callable(names):
            return [str(c) for c in names]
    return None


def is_pair_table(data: Any) -> bool:
    """Whether ``data`` is a table with the sentence columns (any accepted name) rather than a dataset name."""
    names = column_names(data)
    return names is not None and any(alias in names for alias in COLUMN_ALIASES["text_a"])


def pair_columns(data: Any, what: str = "pairs") -> PairData:
    """Read ``text_a``, ``text_b`` and ``label`` (or their sentence-transformers names) from a pair table.

    Args:
        data: a :class:`datasets.Dataset`, :class:`pandas.DataFrame` or dict of lists (a
            :class:`PairData` is returned as it is).
        what: how to name ``data`` in error messages (e.g. ``"stsb/test"``).

    Returns:
        :class:`PairData` with the texts as ``str`` and the labels as an array.

    Raises:
        ValueError: ``data`` is not a table, a column is missing, the columns differ in length or
            there are no pairs.
    """
    if isinstance(data, PairData):
        return data
    names = column_names(data)
    if names is None:
        raise ValueError(
            f"{what} must be a datasets.Dataset, a pandas.DataFrame or a dict of lists, got {type(data).__name__}"
        )
    found: dict[str, str] = {}
    for column, aliases in COLUMN_ALIASES.items():
        match = next((alias for alias in aliases if alias in names), None)
        if match is None:
            expected = " or ".join(repr(a) for a in aliases)
            raise ValueError(f"{what} must have columns text_a, text_b and label: no column {expected} among {names}")
        found[column] = match
    text_a = [str(t) for t in data[found["text_a"]]]
    text_b = [str(t) for t in data[found["text_b"]]]
    labels = np.asarray(list(data[found["label"]]))
    if not (len(text_a) == len(text_b) == len(labels)):
        raise ValueError(f"{what}: column lengths differ ({len(text_a)}, {len(text_b)}, {len(labels)})")
    if len(text_a) == 0:
        raise ValueError(f"{what} is empty")
    return PairData(text_a, text_b, labels)
