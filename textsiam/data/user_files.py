"""Your own pair files (CSV, TSV, JSON Lines, JSON) as :class:`datasets.Dataset` objects, with the column names
sentence-transformers users already have (``sentence1``, ``sentence2``, ``score``; ``anchor``, ``positive``)
recognised without any mapping."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets

from textsiam.data.readers import DataFormatError, DataNotFoundError, Location, read_columns, read_pair_file
from textsiam.io_utils.input_paths import check_input_file

logger = logging.getLogger(__name__)

#: Column names taken as the first text, the second text and the label when none is named, in order of preference.
TEXT_A_COLUMNS: tuple[str, ...] = ("text_a", "sentence1", "sentence_a", "sentence_A", "anchor", "question1", "query")
TEXT_B_COLUMNS: tuple[str, ...] = (
    "text_b",
    "sentence2",
    "sentence_b",
    "sentence_B",
    "positive",
    "question2",
    "document",
)
LABEL_COLUMNS: tuple[str, ...] = ("label", "score", "similarity", "relatedness_score", "is_duplicate")


def resolve_columns(
    path: Path, text_a: str | None, text_b: str | None, label: str | None, format: str | None, delimiter: str | None
) -> tuple[str, str, str | None]:
    """The text and label columns to read: the ones named, else the first present of the known names."""
    if text_a is not None and text_b is not None and label != "auto":
        return text_a, text_b, label
    present = read_columns(path, format, delimiter)

    def pick(given: str | None, known: Sequence[str]) -> str:
        if given is not None:
            return given
        # none of the known names: the canonical one, whose absence read_pair_file reports with the header
        return next((name for name in known if name in present), known[0])

    a = pick(text_a, TEXT_A_COLUMNS)
    b = pick(text_b, TEXT_B_COLUMNS)
    if label == "auto":
        label = next((name for name in LABEL_COLUMNS if name in present), None)
    return a, b, label


#: label words a file may hold for 1 / 0 (as pandas, and so ``datasets``' CSV reader, reads them: any case)
BOOLEAN_LABELS = {"true": 1.0, "false": 0.0}


def _parse_labels(path: Path, values: Sequence[Any], where: Sequence[Location]) -> tuple[list[Any], str]:
    """Parse labels to numbers: int64 if all are 0/1, otherwise float64; ``true`` / ``false`` (any case) are 1 / 0."""
    numbers: list[float] = []
    for value, (line, prefix) in zip(values, where, strict=True):
        if isinstance(value, (bool, int, float)):
            try:
                number = float(value)
            except OverflowError:  # a JSON integer too large for a float
                raise DataFormatError(path, line, f"{prefix}label {value!r} is out of range") from None
        elif isinstance(value, str) and value.strip().lower() in BOOLEAN_LABELS:
            number = BOOLEAN_LABELS[value.strip().lower()]
        elif isinstance(value, str) and value.strip():
            try:
                number = float(value.strip())
            except ValueError:
                raise DataFormatError(path, line, f"{prefix}non-numeric label {value!r}") from None
        else:
            raise DataFormatError(path, line, f"{prefix}missing or non-numeric label {value!r}")
        if not math.isfinite(number):
            raise DataFormatError(path, line, f"{prefix}non-finite label {value!r}")
        numbers.append(number)
    if all(number in (0.0, 1.0) for number in numbers):
        return [int(number) for number in numbers], "int64"
    return numbers, "float64"


def load_pairs_from_file(
    path: str | os.PathLike[str],
    text_a: str | None = None,
    text_b: str | None = None,
    label: str | None = "auto",
    format: str | None = None,
    delimiter: str | None = None,
) -> datasets.Dataset:
    """Load sentence pairs from your own CSV, TSV, JSON Lines or JSON file.

    Args:
        path: the file. CSV/TSV files need a header row; JSON Lines has one object per line;
            ``.json`` may be JSON Lines or a single array of objects.
        text_a, text_b: names of the two text columns (keys for JSON); by default the first present of
            :data:`TEXT_A_COLUMNS` / :data:`TEXT_B_COLUMNS` (``text_a``/``text_b``, and sentence-transformers'
            ``sentence1``/``sentence2``, ``anchor``/``positive``, ...).
        label: name of the label column; ``"auto"`` (default): the first present of :data:`LABEL_COLUMNS`
            (``label``, ``score``, ...), or none; ``None`` for unlabelled pairs (no ``label`` column in the
            result). A named label column that is absent is an error.
        format: ``csv``, ``tsv``, ``jsonl`` or ``json``; inferred from the extension
            (``.csv``, ``.tsv``/``.txt``, ``.jsonl``, ``.json``) when omitted.
        delimiter: override the delimiter (default ``,`` for CSV, tab for TSV). Tab-delimited
            files are read without quote handling, so raw ``"`` characters are kept as text.

    Returns:
        A :class:`datasets.Dataset` with ``text_a``, ``text_b`` (renamed from the given columns) and,
        unless ``label=None``, ``label``: int64 if every label is 0 or 1, otherwise float64.
        Blank lines are skipped.

    Raises:
        FileNotFoundError: the file does not exist.
        IsADirectoryError / ValueError: the path is a directory / a FIFO, a device or a socket (named in the message).
        DataFormatError: missing column, wrong column count, a single column (wrong delimiter),
            non-numeric label, empty file, bad JSON or invalid UTF-8; the message starts with
            ``file:line`` (``file: item N`` inside a JSON array).
    """
    try:
        path = check_input_file(path, "file")
    except FileNotFoundError as err:
        raise DataNotFoundError(str(err)) from None
    text_a, text_b, label = resolve_columns(path, text_a, text_b, label, format, delimiter)
    wanted = [text_a, text_b] + ([label] if label is not None else [])
    raw, where = read_pair_file(path, wanted, format=format, delimiter=delimiter)
    cols: dict[str, list[Any]] = {}
    for out_name, in_name in (("text_a", text_a), ("text_b", text_b)):
        values = raw[in_name]
        for value, (line, prefix) in zip(values, where, strict=True):
            if not isinstance(value, str):
                found = type(value).__name__
                raise DataFormatError(path, line, f"{prefix}column {in_name!r} must be text, found {found}")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:  # a JSON "\ud800" escape: a lone surrogate, not a character
                bad = value[exc.start : exc.start + 1]
                raise DataFormatError(
                    path, line, f"{prefix}column {in_name!r} holds the lone surrogate {bad!r}"
                ) from None
        cols[out_name] = list(values)
    spec: dict[str, Any] = {"text_a": datasets.Value("string"), "text_b": datasets.Value("string")}
    if label is not None:
        cols["label"], dtype = _parse_labels(path, raw[label], where)
        spec["label"] = datasets.Value(dtype)
    logger.debug("loaded %d pairs from %s", len(where), path)
    return datasets.Dataset.from_dict(cols, features=datasets.Features(spec))


def load_table_from_file(
    path: str | os.PathLike[str],
    columns: Mapping[str, str | None] | None = None,
    format: str | None = None,
    delimiter: str | None = None,
) -> datasets.Dataset:
    """Load a training or evaluation table in any of sentence-transformers' formats from a CSV/TSV/JSONL/JSON file.

    The format is read from the header (:func:`textsiam.data.tables.resolve_format`): ``sentence1, sentence2,
    score``, ``anchor, positive``, ``anchor, positive, negative``, ``question1, question2, is_duplicate``,
    ``text, label`` or textsiam's ``text_a, text_b, label``; ``columns`` maps roles to other names (``None``:
    no such column).

    Returns:
        the canonical table (:func:`textsiam.data.tables.canonical`): ``text_a`` [, ``text_b``] [, ``text_c``]
        [, ``label``].

    Raises:
        FileNotFoundError / IsADirectoryError / ValueError: as :func:`load_pairs_from_file`; a
        :class:`DataFormatError` (``file:line: ...``) for bad rows and labels; ``ValueError`` naming the columns
        when no format fits.
    """
    from textsiam.data.tables import canonical, is_numeric_text, resolve_format

    try:
        path = check_input_file(path, "file")
    except FileNotFoundError as err:
        raise DataNotFoundError(str(err)) from None
    present = read_columns(path, format, delimiter)
    fmt = resolve_format(present, columns, str(path)) if present else None
    wanted = list(fmt.columns.values()) if fmt is not None else ["text_a", "text_b"]  # empty: the reader says why
    raw, where = read_pair_file(path, wanted, format=format, delimiter=delimiter)
    assert fmt is not None
    for role, name in fmt.columns.items():
        if role == "label":
            continue
        for value, (line, prefix) in zip(raw[name], where, strict=True):
            if not isinstance(value, str):
                raise DataFormatError(path, line, f"{prefix}column {name!r} must be text, found {type(value).__name__}")
    if "label" in fmt.columns:
        name = fmt.columns["label"]
        if fmt.kind != "single" or not all(isinstance(v, str) and not is_numeric_text(v) for v in raw[name]):
            raw[name], _ = _parse_labels(path, raw[name], where)
    identity = {role: name for role, name in fmt.columns.items()}
    table = datasets.Dataset.from_dict({name: raw[name] for name in fmt.columns.values()})
    logger.debug("loaded %d rows (%s) from %s", len(table), fmt.kind, path)
    return canonical(table, identity, str(path))
