"""Training and evaluation tables in any of sentence-transformers' formats, as one canonical table.

sentence-transformers (ST) trains on tables whose columns say what they hold. textsiam reads the same tables,
from a file or from memory, and turns each into a :class:`datasets.Dataset` with *canonical* columns:

=====================  ===========================================  =====================================
format (``kind``)      ST columns (any of the names below)           canonical columns
=====================  ===========================================  =====================================
``pair``               ``sentence1, sentence2, score``;              ``text_a, text_b, label``
                       ``question1, question2, is_duplicate``
``anchor_positive``    ``anchor, positive`` (no label)               ``text_a, text_b``
``triplet``            ``anchor, positive, negative``                ``text_a, text_b, text_c``
``single``             ``text, label`` (one text with a class)       ``text_a, label``
=====================  ===========================================  =====================================

Columns are found by name (:data:`COLUMN_NAMES`, first present wins) or named by a *column map*
``{"text_a": ..., "text_b": ..., "text_c": ..., "label": ...}``: a role missing from the map is found by name,
and a role mapped to ``None`` is absent (``{"label": None}`` reads an ``anchor, positive, score`` file as
label-free pairs). Other columns (ids, ...) are ignored.

In-memory data (:func:`as_table`): a :class:`datasets.Dataset`, a :class:`pandas.DataFrame`, a dict of columns, a
list of dicts, or a list of tuples, read by shape: ``(a, b)`` anchor/positive, ``(a, b, c)`` triplets when the
third item is text, ``(a, b, label)`` labelled pairs, ``(text, label)`` single texts.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import datasets
import pyarrow as pa

logger = logging.getLogger(__name__)

#: The canonical roles of a table's columns.
ROLES: tuple[str, ...] = ("text_a", "text_b", "text_c", "label")
#: Column names recognised for each role, in order of preference (sentence-transformers' names included).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "text_a": (
        "text_a",
        "sentence1",
        "sentence_a",
        "sentence_A",
        "anchor",
        "question1",
        "query",
        "premise",
        "text",
        "sentence",
    ),
    "text_b": ("text_b", "sentence2", "sentence_b", "sentence_B", "positive", "question2", "document", "hypothesis"),
    "text_c": ("text_c", "negative", "sentence3"),
    "label": ("label", "score", "similarity", "relatedness_score", "is_duplicate"),
}
#: The formats, by which roles are present.
FORMATS: dict[frozenset[str], str] = {
    frozenset({"text_a", "text_b", "label"}): "pair",
    frozenset({"text_a", "text_b"}): "anchor_positive",
    frozenset({"text_a", "text_b", "text_c"}): "triplet",
    frozenset({"text_a", "label"}): "single",
}
#: What each format holds, for messages.
FORMAT_TEXT: dict[str, str] = {
    "pair": "labelled pairs (sentence1, sentence2, score)",
    "anchor_positive": "(anchor, positive) pairs without labels",
    "triplet": "(anchor, positive, negative) triplets",
    "single": "single texts with a class label (text, label)",
}

ColumnMap = Mapping[str, "str | None"]


@dataclass(frozen=True)
class TableFormat:
    """Which columns of a table hold which role, and the format that makes.

    Attributes:
        kind: ``pair``, ``anchor_positive``, ``triplet`` or ``single`` (see :data:`FORMATS`).
        columns: ``{role: source column}`` for the roles present.
    """

    kind: str
    columns: dict[str, str]

    def describe(self) -> str:
        """E.g. ``"labelled pairs (sentence1, sentence2, score) from columns sentence1, sentence2, score"``."""
        return f"{FORMAT_TEXT[self.kind]} from columns {', '.join(self.columns.values())}"


def check_column_map(columns: ColumnMap | None) -> dict[str, str | None]:
    """``columns`` as a plain dict, checked: known roles, and column names that are strings or ``None``.

    Raises:
        TypeError: not a mapping, or a value that is neither a string nor ``None``.
        ValueError: an unknown role.
    """
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise TypeError(f"columns must be a dict {{role: column name or None}}, got {type(columns).__name__}")
    out: dict[str, str | None] = {}
    for role, name in columns.items():
        if role not in ROLES:
            raise ValueError(f"columns: unknown role {role!r}; the roles are {', '.join(ROLES)}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"columns[{role!r}] must be a column name or None, got {type(name).__name__}")
        out[role] = name
    return out


def resolve_format(names: Sequence[str], columns: ColumnMap | None = None, where: str = "data") -> TableFormat:
    """The format of a table with columns ``names``, under the column map ``columns``.

    Raises:
        ValueError: a mapped column that is absent, or no known format (the message lists the columns found and
            the formats accepted).
    """
    mapping = check_column_map(columns)
    present = list(names)
    found: dict[str, str] = {}
    for role in ROLES:
        if role in mapping:
            name = mapping[role]
            if name is None:
                continue
            if name not in present:
                raise ValueError(f"{where} has no column {name!r} (given for {role}); its columns: {present}")
            found[role] = name
            continue
        used = set(found.values()) | {v for v in mapping.values() if v is not None}
        match = next((n for n in COLUMN_NAMES[role] if n in present and n not in used), None)
        if match is not None:
            found[role] = match
    if "text_c" in found and "label" in found and "text_b" in found:  # ST triplets carry no label: an extra column
        found.pop("label")
    if "text_b" not in found and "text_c" in found:
        found.pop("text_c")
    kind = FORMATS.get(frozenset(found))
    if kind is None:
        accepted = "; ".join(FORMAT_TEXT.values())
        raise ValueError(
            f"{where}: no known format in the columns {present} (found {found or 'no known column'}); "
            f"accepted: {accepted}; name the columns (textsiam.fit: columns={{'text_a': ...}}; a recipe: "
            "text_a_column, text_b_column, text_c_column, label_column; textsiam evaluate: --text-a-column ...)"
        )
    return TableFormat(kind, {role: found[role] for role in ROLES if role in found})


def as_table(data: Any, where: str = "data") -> datasets.Dataset:
    """An in-memory table (see the module docstring) as a :class:`datasets.Dataset`, columns as given.

    Raises:
        TypeError: a type that is not a table, or rows of mixed shapes.
        ValueError: no rows, or columns of different lengths.
    """
    if isinstance(data, datasets.Dataset):
        table = data
    elif isinstance(data, Mapping):
        lengths = {k: len(v) for k, v in data.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{where}: columns differ in length: {lengths}")
        table = _from_columns({str(k): list(v) for k, v in data.items()}, where)
    elif _is_dataframe(data):
        try:
            table = datasets.Dataset.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column of mixed types: say which
            table = _from_columns({str(k): list(v) for k, v in data.to_dict("list").items()}, where)
    elif isinstance(data, (list, tuple)):
        table = _rows_table(list(data), where)
    else:
        raise TypeError(
            f"{where} must be a datasets.Dataset, a pandas.DataFrame, a dict of columns, a list of tuples or dicts, "
            f"a file path or a benchmark name; got {type(data).__name__}"
        )
    if len(table) == 0:
        raise ValueError(f"{where} holds no rows")
    return table


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns") and hasattr(data, "to_dict")


def _rows_table(rows: list[Any], where: str) -> datasets.Dataset:
    if not rows:
        raise ValueError(f"{where} holds no rows")
    if all(isinstance(r, Mapping) for r in rows):
        names = list(dict.fromkeys(str(k) for r in rows for k in r))
        return _from_columns({n: [r.get(n) for r in rows] for n in names}, where)
    if not all(isinstance(r, (tuple, list)) for r in rows):
        bad = next((type(r).__name__ for r in rows if not isinstance(r, (tuple, list, Mapping))), None)
        if bad is None:  # dicts and tuples mixed
            raise TypeError(f"{where}: rows mix dicts and tuples; use one kind of row per table")
        raise TypeError(f"{where}: rows must be tuples (or dicts), found a {bad}")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise TypeError(f"{where}: rows of different lengths {sorted(widths)}; use one format per table")
    width = widths.pop()
    last_is_text = [isinstance(r[-1], str) for r in rows]
    if any(last_is_text) and not all(last_is_text):
        i = last_is_text.index(not last_is_text[0])
        raise TypeError(
            f"{where}: row {i} ends with a {type(rows[i][-1]).__name__} where row 0 ends with a "
            f"{type(rows[0][-1]).__name__}; use one format per table"
        )
    names = {
        (2, True): ("anchor", "positive"),
        (3, True): ("anchor", "positive", "negative"),
        (3, False): ("text_a", "text_b", "label"),
        (2, False): ("text", "label"),
    }.get((width, last_is_text[0]))
    if names is None:
        raise TypeError(
            f"{where}: rows of {width} items; expected (anchor, positive), (anchor, positive, negative), "
            "(text_a, text_b, label) or (text, label)"
        )
    if names == ("anchor", "positive"):
        seconds = {r[1] for r in rows}
        if len(rows) >= 10 and len(seconds) <= min(20, len(rows) // 2):
            logger.warning(
                "%s: the second items of the (text, text) rows take only %d values: read as (anchor, positive) "
                "pairs; if they are class names, give {'text': [...], 'label': [...]}",
                where,
                len(seconds),
            )
    return _from_columns({n: [r[i] for r in rows] for i, n in enumerate(names)}, where)


def _from_columns(columns: dict[str, list[Any]], where: str) -> datasets.Dataset:
    """A Dataset of ``columns``; a column of mixed value types (which Arrow cannot hold) is a ``ValueError``."""
    try:
        return datasets.Dataset.from_dict(columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        for name, values in columns.items():
            kinds = list(dict.fromkeys(type(v).__name__ for v in values if v is not None))
            if len(kinds) > 1:
                raise ValueError(f"{where}: column {name!r} mixes {' and '.join(kinds)} values") from None
        raise ValueError(f"{where}: cannot make a table of these columns: {err}") from None


def canonical(table: datasets.Dataset, columns: ColumnMap | None = None, where: str = "data") -> datasets.Dataset:
    """``table`` with its format's columns renamed to the canonical ones (others dropped), texts and labels checked.

    Labels become int64 when all are 0/1 (or class names in the ``single`` format, numbered in sorted order),
    float64 otherwise. :func:`table_format` reads the format back
    from the columns.

    Raises:
        ValueError: see :func:`resolve_format`; a non-text text cell (empty texts are texts), a missing or
            non-finite label.
    """
    fmt = resolve_format(table.column_names, columns, where)
    cols: dict[str, list[Any]] = {}
    for role, name in fmt.columns.items():
        values = list(table[name])
        if role == "label":
            cols[role] = _labels(values, fmt.kind, name, where)
        else:
            for i, value in enumerate(values):
                if not isinstance(value, str):
                    raise ValueError(f"{where}: row {i}: column {name!r} must be text, found {type(value).__name__}")
            cols[role] = values
    features = {role: datasets.Value("string") for role in cols if role != "label"}
    if "label" in cols:
        is_int = all(isinstance(v, int) for v in cols["label"])
        features["label"] = datasets.Value("int64" if is_int else "float64")
    return datasets.Dataset.from_dict(cols, features=datasets.Features(features))


def table_format(table: datasets.Dataset) -> str:
    """The format kind of a table made by :func:`canonical` (read from its columns)."""
    return FORMATS[frozenset(c for c in table.column_names if c in ROLES)]


def _labels(values: list[Any], kind: str, name: str, where: str) -> list[Any]:
    names = values and all(isinstance(v, str) for v in values) and not all(map(is_numeric_text, values))
    if kind == "single" and names:
        classes = sorted(set(values))  # class names: numbered in sorted order
        index = {c: i for i, c in enumerate(classes)}
        return [index[v] for v in values]
    numbers_: list[float] = []
    for i, value in enumerate(values):
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError(f"{where}: row {i}: non-numeric label {value!r} in column {name!r}") from None
        if not isinstance(value, numbers.Real):
            raise ValueError(f"{where}: row {i}: missing or non-numeric label {value!r} in column {name!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{where}: row {i}: non-finite label {value!r} in column {name!r}")
        numbers_.append(float(value))
    if all(v == int(v) for v in numbers_) and (kind == "single" or all(v in (0.0, 1.0) for v in numbers_)):
        return [int(v) for v in numbers_]
    return numbers_


def is_numeric_text(value: str) -> bool:
    """Whether a text reads as a number (``"2"``, ``"0.5"``): numeric class labels from a file or from memory."""
    try:
        float(value)
    except ValueError:
        return False
    return True
