"""Low-level, strict readers for the benchmark files and for user pair files.

Every reader reads raw bytes, decodes them strictly as UTF-8 line by line and reports problems as
:class:`DataFormatError` with a ``file:line`` location. Readers return plain column dictionaries
(``dict[str, list]``) that keep file order; :mod:`textsiam.data.loaders` turns them into
:class:`datasets.Dataset` objects.

Nothing is skipped silently. The only documented skip in the benchmark readers is an STS-B line
whose score field is empty (the released files contain none). In user files, blank lines are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from textsiam.data.graph import text_components

logger = logging.getLogger(__name__)

__all__ = [
    "QUORA_DEV_PAIRS",
    "SICK_E_CLASSES",
    "DataFormatError",
    "DataNotFoundError",
    "quora_dev_mask",
    "read_mrpc",
    "read_pair_file",
    "read_quora",
    "read_sick",
    "read_stsb",
    "read_text_lines",
]

#: Names of the three SICK entailment classes, in the order of the ``label3`` ids.
SICK_E_CLASSES: tuple[str, ...] = ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")

#: Target number of pairs in the dev part carved out of the BiMPM Quora ``dev.tsv``.
QUORA_DEV_PAIRS = 2000

_UTF8_BOM = b"\xef\xbb\xbf"

Columns = dict[str, list[Any]]


class DataFormatError(ValueError):
    """A data file is malformed. ``str(error)`` starts with ``file:line:``.

    Attributes:
        path: the offending file.
        line: 1-based line number (or ``None`` when the problem is not tied to one line).
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        location = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{location}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, int | None, str]]:
        return (type(self), (self.path, self.line, self.message))


class DataNotFoundError(FileNotFoundError):
    """A dataset file or directory is missing, or the Hub fallback could not be used."""


# --------------------------------------------------------------------------------------------
# Generic helpers
# --------------------------------------------------------------------------------------------


def read_text_lines(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """Read a text file strictly as UTF-8 and return ``(line_number, text)`` pairs.

    A leading UTF-8 BOM is removed, and so is one trailing ``\\r`` per line (CRLF files). A final
    newline is optional. Invalid UTF-8 raises :class:`DataFormatError` naming ``file:line``; an
    empty file (no bytes at all, or only a BOM) raises it with line 1. Blank lines are returned as
    empty strings so that callers decide what to do with them.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"file not found: {path}")
    data = path.read_bytes()
    data = data.removeprefix(_UTF8_BOM)
    if not data.strip():
        raise DataFormatError(path, 1, "file is empty")
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(pieces, start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise DataFormatError(
                path, number, f"invalid UTF-8 byte {raw[exc.start : exc.start + 1]!r} at column {exc.start + 1}"
            ) from None
        lines.append((number, text))
    return lines


def _split_tab(path: Path, number: int, line: str, expected: int, allow_extra: bool = False) -> list[str]:
    """Split one tab-separated line and check its column count."""
    if line == "":
        raise DataFormatError(path, number, f"blank line (expected {expected} tab-separated columns)")
    fields = line.split("\t")
    if len(fields) == expected or (allow_extra and len(fields) > expected):
        return fields
    want = f"at least {expected}" if allow_extra else str(expected)
    hint = " (no tab found: is the file tab-separated?)" if len(fields) == 1 else ""
    raise DataFormatError(path, number, f"expected {want} tab-separated columns, found {len(fields)}{hint}")


def _parse_number(path: Path, number: int, value: str, what: str) -> float:
    """Parse a finite float, or raise :class:`DataFormatError`."""
    try:
        result = float(value)
    except ValueError:
        raise DataFormatError(path, number, f"non-numeric {what} {value!r}") from None
    if not math.isfinite(result):
        raise DataFormatError(path, number, f"non-finite {what} {value!r}")
    return result


def _parse_score(path: Path, number: int, value: str, low: float, high: float) -> float:
    score = _parse_number(path, number, value.strip(), "score")
    if not low <= score <= high:
        raise DataFormatError(path, number, f"score {score} outside [{low}, {high}]")
    return score


def _parse_binary(path: Path, number: int, value: str, what: str = "label") -> int:
    value = value.strip()
    if value not in ("0", "1"):
        raise DataFormatError(path, number, f"{what} must be 0 or 1, found {value!r}")
    return int(value)


def _check_not_empty(path: Path, cols: Columns, message: str) -> None:
    """A benchmark file without a single pair is an error, never an empty dataset (metrics of nothing)."""
    if not cols["text_a"]:
        raise DataFormatError(path, None, message)


def _check_header(path: Path, number: int, line: str, expected: Sequence[str]) -> None:
    found = line.split("\t")
    if [f.strip() for f in found] != list(expected):
        raise DataFormatError(path, number, f"unexpected header {found!r}; expected {list(expected)!r}")


# --------------------------------------------------------------------------------------------
# Benchmark readers
# --------------------------------------------------------------------------------------------


def read_stsb(path: str | os.PathLike[str]) -> Columns:
    """Read one STS Benchmark file (``sts-{train,dev,test}.csv``).

    Format: UTF-8, no header, tab-separated, ``genre filename year sid score sentence1 sentence2
    [source1 source2]``. Columns after the 7th (license/source notes on some lines) are ignored.
    Sentences contain raw quotes, so lines are split on tabs, never parsed as CSV.

    The only skipped lines are those whose score field is empty (unscored pairs; none exist in
    the released files). They are logged.

    Returns columns ``text_a``, ``text_b``, ``label`` (float 0-5), ``genre`` (``captions``,
    ``forums`` or ``news``: the ``main-`` prefix is dropped and train's ``main-forum`` is
    normalised to ``forums``) and ``pair_id`` (``filename-year-sid``).
    """
    path = Path(path)
    cols: Columns = {"text_a": [], "text_b": [], "label": [], "genre": [], "pair_id": []}
    skipped = 0
    for number, line in read_text_lines(path):
        genre, filename, year, sid, score, text_a, text_b = _split_tab(path, number, line, 7, allow_extra=True)[:7]
        if score.strip() == "":
            skipped += 1
            continue
        genre = genre.removeprefix("main-")
        if genre == "forum":
            genre = "forums"
        cols["text_a"].append(text_a)
        cols["text_b"].append(text_b)
        cols["label"].append(_parse_score(path, number, score, 0.0, 5.0))
        cols["genre"].append(genre)
        cols["pair_id"].append(f"{filename}-{year}-{sid}")
    if skipped:
        logger.info("%s: skipped %d unscored pair(s) (empty score field)", path, skipped)
    _check_not_empty(path, cols, "no scored pairs")
    return cols


_SICK_HEADER = ("pair_ID", "sentence_A", "sentence_B", "relatedness_score", "entailment_judgment")


def read_sick(path: str | os.PathLike[str]) -> Columns:
    """Read one SemEval-2014 SICK split file (``SICK_train.txt``, ``SICK_trial.txt``, ``SICK_test_annotated.txt``).

    Format: tab-separated with one header line, LF or CRLF. Returns columns ``text_a``,
    ``text_b``, ``score`` (relatedness, float 1-5), ``label3`` (int index into
    :data:`SICK_E_CLASSES`) and ``pair_id``.
    """
    path = Path(path)
    lines = read_text_lines(path)
    _check_header(path, lines[0][0], lines[0][1], _SICK_HEADER)
    cols: Columns = {"text_a": [], "text_b": [], "score": [], "label3": [], "pair_id": []}
    for number, line in lines[1:]:
        pair_id, text_a, text_b, score, judgment = _split_tab(path, number, line, 5)
        judgment = judgment.strip()
        if judgment not in SICK_E_CLASSES:
            raise DataFormatError(path, number, f"unknown entailment judgment {judgment!r}; expected {SICK_E_CLASSES}")
        cols["text_a"].append(text_a)
        cols["text_b"].append(text_b)
        cols["score"].append(_parse_score(path, number, score, 1.0, 5.0))
        cols["label3"].append(SICK_E_CLASSES.index(judgment))
        cols["pair_id"].append(pair_id.strip())
    _check_not_empty(path, cols, "no data rows after the header")
    return cols


_MRPC_HEADER = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")


def read_mrpc(path: str | os.PathLike[str]) -> Columns:
    """Read one MSR Paraphrase Corpus file (``msr_paraphrase_{train,test}.txt``).

    Format: UTF-8 with BOM, one header line, tab-separated, raw quotes, no final newline.
    Returns columns ``text_a``, ``text_b``, ``label`` (int 0/1) and ``pair_id`` (``id1-id2``).
    """
    path = Path(path)
    lines = read_text_lines(path)
    _check_header(path, lines[0][0], lines[0][1], _MRPC_HEADER)
    cols: Columns = {"text_a": [], "text_b": [], "label": [], "pair_id": []}
    for number, line in lines[1:]:
        quality, id_a, id_b, text_a, text_b = _split_tab(path, number, line, 5)
        cols["text_a"].append(text_a)
        cols["text_b"].append(text_b)
        cols["label"].append(_parse_binary(path, number, quality, "Quality"))
        cols["pair_id"].append(f"{id_a.strip()}-{id_b.strip()}")
    _check_not_empty(path, cols, "no data rows after the header")
    return cols


def read_quora(path: str | os.PathLike[str]) -> Columns:
    """Read one BiMPM Quora partition file (``dev.tsv`` / ``test.tsv``).

    Format: UTF-8, no header, tab-separated ``is_duplicate question1 question2 pair_id``; the
    questions are CoreNLP-tokenised. Returns columns ``text_a``, ``text_b``, ``label`` (int 0/1)
    and ``pair_id``.
    """
    path = Path(path)
    cols: Columns = {"text_a": [], "text_b": [], "label": [], "pair_id": []}
    for number, line in read_text_lines(path):
        label, text_a, text_b, pair_id = _split_tab(path, number, line, 4)
        cols["text_a"].append(text_a)
        cols["text_b"].append(text_b)
        cols["label"].append(_parse_binary(path, number, label, "is_duplicate"))
        cols["pair_id"].append(pair_id.strip())
    return cols


def _question_key(text: str) -> str:
    """Normalised question identity used for the leakage-free split (case and spacing ignored)."""
    return " ".join(text.lower().split())


def quora_dev_mask(text_a: Sequence[str], text_b: Sequence[str], dev_pairs: int = QUORA_DEV_PAIRS) -> list[bool]:
    """Deterministically choose which pairs go to dev so that no question is shared with train.

    Questions (compared lower-cased with whitespace collapsed) are nodes and pairs are edges;
    each connected component is kept whole. Components are ordered by the SHA-1 of their
    smallest question key (ties broken by that key), then assigned first-fit: a component joins
    dev if it still fits within ``dev_pairs`` pairs; otherwise it goes to train. Returns one
    boolean per pair (``True`` = dev); the result depends only on the pair texts.
    """
    if len(text_a) != len(text_b):
        raise ValueError("text_a and text_b must have the same length")
    keys_a = [_question_key(a) for a in text_a]
    keys_b = [_question_key(b) for b in text_b]
    nodes, component = text_components(keys_a, keys_b)
    comp_of = dict(zip(nodes, component.tolist(), strict=True))
    smallest: dict[int, str] = {}
    for key, comp in comp_of.items():
        if comp not in smallest or key < smallest[comp]:
            smallest[comp] = key
    pair_comp = [comp_of[key] for key in keys_a]
    sizes: dict[int, int] = {}
    for comp in pair_comp:
        sizes[comp] = sizes.get(comp, 0) + 1

    order = sorted(sizes, key=lambda c: (hashlib.sha1(smallest[c].encode("utf-8")).hexdigest(), smallest[c]))
    in_dev: set[int] = set()
    total = 0
    for comp in order:
        if total + sizes[comp] <= dev_pairs:
            in_dev.add(comp)
            total += sizes[comp]
            if total == dev_pairs:
                break
    return [comp in in_dev for comp in pair_comp]


# --------------------------------------------------------------------------------------------
# User files
# --------------------------------------------------------------------------------------------

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "json"}


def infer_format(path: str | os.PathLike[str]) -> str:
    """Infer ``csv``, ``tsv``, ``jsonl`` or ``json`` from a file extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(
            f"cannot infer the format of {path} from its extension {suffix!r}; "
            f"pass format= one of 'csv', 'tsv', 'jsonl', 'json'"
        )
    return _FORMATS[suffix]


def _delimited_records(
    path: Path, lines: list[tuple[int, str]], delimiter: str
) -> tuple[list[str], Iterable[tuple[int, list[str]]]]:
    """Parse delimited text. Tabs use no quoting (raw quotes are common in TSV); others use CSV quoting."""
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    numbers = [number for number, _ in lines]
    reader = csv.reader((text + "\n" for _, text in lines), delimiter=delimiter, quoting=quoting, strict=True)

    def line_of() -> int:
        return numbers[min(reader.line_num, len(numbers)) - 1]

    try:
        header = next(reader)
    except csv.Error as exc:
        raise DataFormatError(path, line_of(), f"cannot parse header: {exc}") from None
    header = [name.strip() for name in header]

    def records() -> Iterable[tuple[int, list[str]]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise DataFormatError(path, line_of(), f"cannot parse row: {exc}") from None
            if not row or all(field.strip() == "" for field in row):
                continue  # blank line
            yield line_of(), row

    return header, records()


Location = tuple[int | None, str]


def read_columns(path: str | os.PathLike[str], format: str | None = None, delimiter: str | None = None) -> list[str]:
    """The column names of a user CSV/TSV file (its header) or JSON(L) file (the keys of its first record)."""
    path = Path(path)
    fmt = (format or infer_format(path)).lower()
    lines = read_text_lines(path)
    if fmt in ("csv", "tsv"):
        delim = delimiter if delimiter is not None else ("," if fmt == "csv" else "\t")
        header, _ = _delimited_records(path, lines[:1], delim)
        return header
    first = next((line for _, line in lines if line.strip()), "")
    try:
        record = (
            json.loads("\n".join(line for _, line in lines)) if first.lstrip().startswith("[") else json.loads(first)
        )
    except (json.JSONDecodeError, RecursionError):
        return []  # read_pair_file reports the error with its line
    if isinstance(record, list):
        record = record[0] if record else {}
    return list(record) if isinstance(record, dict) else []


def read_pair_file(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    format: str | None = None,
    delimiter: str | None = None,
) -> tuple[Columns, list[Location]]:
    """Read the named ``columns`` of a user CSV/TSV/JSONL/JSON file.

    Returns the raw column values (strings for delimited files, JSON values for JSON) and, per
    record, a location ``(line, prefix)`` to pass to :class:`DataFormatError` for later errors
    (``(line, "")`` for line-based files, ``(None, "item N: ")`` inside a JSON array). Raises
    :class:`DataFormatError` with ``file:line`` for a missing column, wrong column count, wrong
    delimiter, empty file, invalid JSON or invalid UTF-8.
    """
    path = Path(path)
    fmt = (format or infer_format(path)).lower()
    if fmt not in ("csv", "tsv", "jsonl", "json"):
        raise ValueError(f"unknown format {format!r}; expected 'csv', 'tsv', 'jsonl' or 'json'")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n"):
        raise ValueError(f"delimiter must be one character (not a newline), got {delimiter!r}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"the columns to read must have different names, got {list(columns)!r}")
    lines = read_text_lines(path)
    out: Columns = {name: [] for name in columns}
    where: list[Location] = []

    if fmt in ("csv", "tsv"):
        delim = delimiter if delimiter is not None else ("," if fmt == "csv" else "\t")
        header, records = _delimited_records(path, lines, delim)
        header_line = lines[0][0]
        if len(header) == 1 and len(columns) > 1:
            raise DataFormatError(
                path, header_line, f"only one column found in the header with delimiter {delim!r}; wrong delimiter?"
            )
        if len(set(header)) != len(header):
            raise DataFormatError(path, header_line, f"duplicate column names in header {header!r}")
        missing = [name for name in columns if name not in header]
        if missing:
            raise DataFormatError(path, header_line, f"missing column(s) {missing!r}; header has {header!r}")
        index = [header.index(name) for name in columns]
        for number, row in records:
            if len(row) != len(header):
                hint = f" (is the delimiter {delim!r} right?)" if len(row) == 1 else ""
                raise DataFormatError(path, number, f"expected {len(header)} columns, found {len(row)}{hint}")
            for name, i in zip(columns, index, strict=True):
                out[name].append(row[i])
            where.append((number, ""))
        if not where:
            raise DataFormatError(path, header_line, "no data rows after the header")
        return out, where

    records_json: list[tuple[Location, Any]] = []
    if fmt == "json" and lines[0][1].lstrip().startswith("["):
        try:
            items = json.loads("\n".join(line for _, line in lines))
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise DataFormatError(path, 1, "invalid JSON: nested too deeply") from None
        if not isinstance(items, list):
            raise DataFormatError(path, 1, "expected a JSON array of objects")
        records_json = [((None, f"item {i}: "), item) for i, item in enumerate(items, start=1)]
    else:
        for number, line in lines:
            if not line.strip():
                continue
            try:
                records_json.append(((number, ""), json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataFormatError(path, number, f"invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise DataFormatError(path, number, "invalid JSON: nested too deeply") from None
    for (line, prefix), record in records_json:
        if not isinstance(record, dict):
            raise DataFormatError(path, line, f"{prefix}expected a JSON object, found {type(record).__name__}")
        missing = [name for name in columns if name not in record]
        if missing:
            raise DataFormatError(path, line, f"{prefix}missing key(s) {missing!r}; found {sorted(record)!r}")
        for name in columns:
            out[name].append(record[name])
        where.append((line, prefix))
    if not where:
        raise DataFormatError(path, 1, "no records found")
    return out, where
