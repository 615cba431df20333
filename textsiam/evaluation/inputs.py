"""Evaluation inputs: registered datasets (through :mod:`textsiam.data`) and user tables in any of
sentence-transformers' formats (:mod:`textsiam.data.tables`).

A *pair table* is a :class:`datasets.Dataset`, a :class:`pandas.DataFrame` or a dict of equal-length
lists with the columns ``text_a``, ``text_b`` and ``label``. The sentence-transformers names
(``sentence1``, ``sentence2``, ``score``, ``anchor``, ``positive``, ...) are accepted as well, in the order of
:data:`textsiam.data.TEXT_A_COLUMNS` / ``TEXT_B_COLUMNS`` / ``LABEL_COLUMNS`` (``label`` wins over ``score``).
A list of row tuples (or dicts) and the path of a CSV/TSV/JSONL/JSON file are tables too (:func:`read_table`),
and so are the other formats: ``anchor, positive`` pairs without labels, ``anchor, positive, negative``
triplets and ``text, label`` single texts; :func:`infer_task` gives each its task.

:func:`load_pairs`, :func:`task_type` and :func:`dataset_info` are the only places that reach the registered
datasets of :mod:`textsiam.data`; the evaluators call them through this module, so tests can monkeypatch them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import datasets
import numpy as np

from textsiam.data.tables import COLUMN_NAMES, FORMAT_TEXT, as_table, canonical, resolve_format, table_format
from textsiam.data.user_files import LABEL_COLUMNS, TEXT_A_COLUMNS, TEXT_B_COLUMNS
from textsiam.evaluation.metrics import FORMAT_TASKS, TASK_CLASSIFICATION, TASK_STS

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


def load_split(name: str | os.PathLike[str], split: str, data_dir: Any = None) -> Any:
    """The table of ``split`` of the registered dataset ``name`` (:func:`load_pairs`), or of the file ``name``.

    Raises:
        ValueError: ``name`` is neither a registered dataset nor an existing file (the message says both).
    """
    if is_file_path(name):
        return read_table(name, str(name))
    try:
        return load_pairs(str(name), split, data_dir)
    except (KeyError, ValueError) as exc:
        if is_registered(str(name)):
            raise
        raise ValueError(unknown_name(name)) from exc


def unknown_name(name: Any) -> str:
    """The message for a name that is neither a registered dataset nor an existing file."""
    from textsiam.data import DATASETS

    return (
        f"{str(name)!r} is neither a registered dataset ({', '.join(DATASETS)}) nor an existing file; "
        "pass a dataset name, the path of a CSV, TSV, JSONL or JSON file, or a table"
    )


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
    """Whether ``data`` is a table of columns with a first text column (any accepted name, of any format of
    :mod:`textsiam.data.tables`) rather than a dataset name or a dict of named tables."""
    names = column_names(data)
    return names is not None and any(alias in names for alias in (*COLUMN_ALIASES["text_a"], *COLUMN_NAMES["text_a"]))


def is_file_path(data: Any) -> bool:
    """Whether ``data`` is a path (``str`` or :class:`os.PathLike`) of an existing file: a table, not a name."""
    if not isinstance(data, (str, os.PathLike)):
        return False
    try:
        return os.path.isfile(data)
    except (OSError, ValueError):  # e.g. a NUL character or a name too long for the file system
        return False


def is_rows(data: Any) -> bool:
    """Whether ``data`` is a non-empty list of rows: tuples (or lists), or dicts of single values."""
    if not isinstance(data, (list, tuple)) or not data:
        return False
    if all(isinstance(row, (tuple, list)) for row in data):
        return True
    return all(
        isinstance(row, Mapping) and not any(isinstance(v, (list, tuple, np.ndarray)) for v in row.values())
        for row in data
    )


def is_table(data: Any) -> bool:
    """Whether ``data`` is evaluation data (a table of columns, a list of rows, a file path or :class:`PairData`)."""
    return isinstance(data, PairData) or is_file_path(data) or is_rows(data) or column_names(data) is not None


def read_table(data: Any, what: str = "data") -> datasets.Dataset:
    """``data`` as a canonical table (:func:`textsiam.data.tables.canonical`): a file path is loaded with
    :func:`textsiam.data.load_table_from_file`, anything else read by :func:`textsiam.data.tables.as_table`.

    Raises:
        ValueError / TypeError: see those functions (no known format, a bad row, ...); for a path that is not
            an existing file, a :class:`FileNotFoundError` naming it.
    """
    if isinstance(data, (str, os.PathLike)):
        from textsiam.data import load_table_from_file

        return load_table_from_file(data)
    if isinstance(data, PairData):
        data = {"text_a": data.text_a, "text_b": data.text_b, "label": data.labels.tolist()}
    return canonical(as_table(data, what), None, what)


def as_input(data: Any, what: str = "data") -> Any:
    """Evaluation data in a shape the evaluators read: file paths and lists of rows become canonical tables
    (:func:`read_table`); tables of columns and :class:`PairData` are returned as they are."""
    if isinstance(data, (str, os.PathLike, list, tuple)):
        return read_table(data, what)
    return data


def table_kind(data: Any, what: str = "data") -> str:
    """The format of a table (``pair``, ``anchor_positive``, ``triplet`` or ``single``; see
    :mod:`textsiam.data.tables`), read from its column names (file paths and rows: see :func:`as_input`).

    Raises:
        ValueError: no known format (the message lists the columns found and the formats accepted).
    """
    if isinstance(data, PairData):
        return "pair"
    names = column_names(data)
    if names is None:
        names = read_table(data, what).column_names
    return resolve_format(names, None, what).kind


def infer_task(name: Any, data: Any = None, what: str | None = None) -> str:
    """The task of ``data`` named ``name``, or of the registered dataset ``name`` when ``data`` is ``None``.

    A registered dataset keeps its own task (:func:`task_type`), also for a pair table given under its name.
    Other data: ``pair`` tables are ``"classification"`` when every label is 0 or 1 (or a bool), ``"sts"``
    otherwise; triplets are ``"triplet"``, label-free ``anchor, positive`` pairs ``"paired_retrieval"`` and
    ``text, label`` tables ``"label_retrieval"`` (:data:`~textsiam.evaluation.metrics.FORMAT_TASKS`).

    Raises:
        ValueError: no data and ``name`` is neither a registered dataset nor an existing file; a table of no
            known format.
    """
    what = what or str(name)
    if data is None:
        if is_file_path(name):
            data = read_table(name, what)
        else:
            try:
                return task_type(str(name))
            except (KeyError, ValueError) as exc:
                raise ValueError(unknown_name(name)) from exc
    kind = table_kind(data, what)
    if kind != "pair":
        return FORMAT_TASKS[kind]
    try:
        return task_type(str(name))
    except (KeyError, ValueError):  # not a registered dataset: the labels say
        labels = np.unique(pair_columns(data, what).labels)
        binary = labels.dtype == bool or (labels.dtype.kind in "iuf" and bool(np.isin(labels, (0, 1)).all()))
        return TASK_CLASSIFICATION if binary else TASK_STS


def format_table(data: Any, kind: str, task: str, what: str = "data") -> datasets.Dataset:
    """``data`` as a canonical table of the format ``kind`` (see :func:`read_table`), for the evaluator of ``task``.

    Raises:
        ValueError: a table of another format (the message names both, and the task of the one found).
    """
    table = read_table(data, what)
    found = table_format(table)
    if found != kind:
        other = FORMAT_TASKS.get(found, f"{TASK_STS}' or '{TASK_CLASSIFICATION}")
        raise ValueError(
            f"{what}: the {task} task evaluates {FORMAT_TEXT[kind]}, but these are {FORMAT_TEXT[found]}: "
            f"evaluate them with task='{other}'"
        )
    return table


def pair_columns(data: Any, what: str = "pairs") -> PairData:
    """Read ``text_a``, ``text_b`` and ``label`` (or their sentence-transformers names) from a pair table.

    Args:
        data: a :class:`datasets.Dataset`, :class:`pandas.DataFrame` or dict of lists, a list of row tuples
            (or dicts) or the path of a table file (see :func:`as_input`); a :class:`PairData` is returned as it
            is.
        what: how to name ``data`` in error messages (e.g. ``"stsb/test"``).

    Returns:
        :class:`PairData` with the texts as ``str`` and the labels as an array.

    Raises:
        ValueError: ``data`` is not a table, a column is missing, the columns differ in length or
            there are no pairs.
    """
    if isinstance(data, PairData):
        return data
    data = as_input(data, what)
    names = column_names(data)
    if names is None:
        raise ValueError(
            f"{what} must be a datasets.Dataset, a pandas.DataFrame, a dict of lists, a list of tuples or the path "
            f"of a table file, got {type(data).__name__}"
        )
    found: dict[str, str] = {}
    for column, aliases in COLUMN_ALIASES.items():
        match = next((alias for alias in aliases if alias in names), None)
        if match is None:
            expected = " or ".join(repr(a) for a in aliases)
            message = f"{what} must have columns text_a, text_b and label: no column {expected} among {names}"
            try:
                kind = resolve_format(names, None, what).kind
            except ValueError:
                kind = "pair"
            if kind != "pair":
                message += f"; these are {FORMAT_TEXT[kind]}: evaluate them with task={FORMAT_TASKS[kind]!r}"
            raise ValueError(message)
        found[column] = match
    text_a = [str(t) for t in data[found["text_a"]]]
    text_b = [str(t) for t in data[found["text_b"]]]
    labels = np.asarray(list(data[found["label"]]))
    if not (len(text_a) == len(text_b) == len(labels)):
        raise ValueError(f"{what}: column lengths differ ({len(text_a)}, {len(text_b)}, {len(labels)})")
    if len(text_a) == 0:
        raise ValueError(f"{what} is empty")
    return PairData(text_a, text_b, labels)
