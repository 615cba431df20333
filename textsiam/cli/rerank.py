"""``textsiam rerank``: rank documents for a query, or score a file of pairs, with a cross-encoder.

Two modes, one model (a cross-encoder folder or Hub name, :class:`textsiam.model.cross_encoder.CrossEncoder`; given
as ``MODEL`` or, as the other commands take theirs, ``--model``; there is no default cross-encoder):

* ``textsiam rerank MODEL --query Q --documents FILE [--top-k K]``: every document scored against the query, best
  first: ``rank`` (1-based), ``corpus_id`` (0-based position of the document in the file), ``score``, ``text``;
* ``textsiam rerank MODEL --pairs FILE``: every ``(text_a, text_b)`` pair of a CSV/TSV/JSONL/JSON file scored; the
  output is the input, every column and row as read, plus a ``score`` column.

Both score with :func:`textsiam.evaluation.cross_encoding.cross_encoder_scores` (the model's ``predict``), as
``textsiam evaluate`` does: a head of one label gives its output, a head of several labels the probability of
``--positive-label`` (its activated output, for a head with an activation of its own such as a multi-label sigmoid).
The order of ``--documents`` is that of ``model.rank`` (ties keep the file's order).

Outputs are written as the other commands write theirs: atomically, never over an existing file without
``--overwrite``, never over an input; the format follows the extension of ``--output`` (``.csv``, ``.tsv`` or
``.txt``, ``.jsonl``, ``.json``), TSV on stdout without it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, TextIO

from textsiam.cli import common
from textsiam.io_utils import atomic_open, check_output

logger = logging.getLogger("textsiam")

#: Extensions of ``--documents`` files read as tables (a column of documents); any other is one document a line.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".jsonl", ".json")
#: The column of documents when a ``--documents`` table has several and ``--document-column`` is not given.
DOCUMENT_COLUMNS: tuple[str, ...] = ("document", "text", "passage", "content", "sentence")
#: The columns of a ranking, in order.
RANKING_COLUMNS: tuple[str, ...] = ("rank", "corpus_id", "score", "text")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam rerank``."""
    p = common.add_command(
        subparsers,
        "rerank",
        help="rank documents for a query, or score pairs, with a cross-encoder",
        description="Score with a cross-encoder (a model that reads both texts together). With --query and "
        "--documents: rank the documents for the query, best first (rank, corpus_id, score, text; corpus_id is the "
        "0-based position of the document in its file). With --pairs: score every pair of a CSV/TSV/JSONL/JSON file "
        "and write the file with a score column added. The output format follows the extension of --output "
        "(.csv, .tsv/.txt, .jsonl, .json); without --output, TSV on stdout.",
    )
    p.add_argument("model", nargs="?", default=None, help="cross-encoder folder or Hub name (or --model)")
    p.add_argument("--model", "-m", dest="model_option", default=None, metavar="MODEL", help="the same as MODEL")
    p.add_argument("--query", default=None, help="the query to rank the documents for")
    p.add_argument(
        "--documents",
        metavar="FILE",
        default=None,
        help="documents to rank: one per line (a .txt or any other file), or a column of a .csv/.tsv/.jsonl/.json file",
    )
    p.add_argument(
        "--document-column",
        metavar="NAME",
        default=None,
        help="the column of documents in a table (default: its only column, else the first of "
        f"{', '.join(DOCUMENT_COLUMNS)})",
    )
    p.add_argument("--top-k", "-k", type=common.positive_int, default=None, help="keep the K best (default: all)")
    p.add_argument("--pairs", metavar="FILE", default=None, help="CSV/TSV/JSONL/JSON file of pairs to score")
    p.add_argument("--text-a-column", metavar="NAME", default=None, help="--pairs: column of the first texts")
    p.add_argument("--text-b-column", metavar="NAME", default=None, help="--pairs: column of the second texts")
    p.add_argument("--score-column", metavar="NAME", default=None, help="--pairs: name of the added column (score)")
    p.add_argument("--output", "-o", default=None, help="output file; its extension sets the format (default: stdout)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--batch-size", type=common.positive_int, default=32)
    p.add_argument(
        "--max-length", type=common.positive_int, default=None, help="tokens per pair (default: the model's)"
    )
    common.add_positive_label_option(p)
    p.set_defaults(func=cmd_rerank)


def cmd_rerank(args: argparse.Namespace) -> int:
    """Rank ``--documents`` for ``--query``, or score the pairs of ``--pairs``; write or print the result."""
    if args.model is not None and args.model_option is not None:
        raise ValueError("give the cross-encoder once: as MODEL or as --model, not both")
    args.model = args.model if args.model is not None else args.model_option
    if args.model is None:
        raise ValueError("give the cross-encoder to score with: textsiam rerank MODEL ... (a folder or Hub name)")
    source = check_mode(args)
    fmt = output_format(args.output) if args.output else "tsv"
    if args.output:
        common.check_not_an_input(args.output, source)
        check_output(args.output, args.overwrite)
    if args.pairs is not None:  # every input is read and checked before the model loads
        columns, rows, text_a, text_b = read_pairs_table(source, args.text_a_column, args.text_b_column)
        added = args.score_column or "score"
        if added in columns:
            raise ValueError(f"{source} already has a column {added!r}: name the added column with --score-column")
        scores = score(args, text_a, text_b)
        table = [{**row, added: float(s)} for row, s in zip(rows, scores, strict=True)]
        emit(args, [*columns, added], table, fmt, score_column=added)
        logger.info("scored %d pairs%s", len(table), f" into {args.output}" if args.output else "")
        return 0
    documents = read_documents(source, args.document_column)
    scores = score(args, [args.query] * len(documents), documents)
    ranking = rank(scores, documents, args.top_k)
    emit(args, list(RANKING_COLUMNS), ranking, fmt, score_column="score")
    logger.info(
        "ranked %d documents%s",
        len(documents),
        f", wrote the best {len(ranking)} to {args.output}" if args.output else "",
    )
    return 0


def check_mode(args: argparse.Namespace) -> Path:
    """The input file of the mode the arguments ask for (``--documents`` or ``--pairs``), checked.

    Raises:
        ValueError: neither or both modes, or an option of the other mode.
    """
    ranking = args.query is not None or args.documents is not None
    if ranking and args.pairs is not None:
        raise ValueError("give either --query and --documents (rank documents) or --pairs (score pairs), not both")
    if args.pairs is not None:
        for option, value in (("--top-k", args.top_k), ("--document-column", args.document_column)):
            if value is not None:
                raise ValueError(f"{option} applies to --query/--documents, not to --pairs")
        return common.input_file(args.pairs, "pairs file")
    if args.query is None or args.documents is None:
        raise ValueError("give --query Q and --documents FILE to rank documents, or --pairs FILE to score pairs")
    given = {"--text-a-column": args.text_a_column, "--text-b-column": args.text_b_column}
    for option, value in (*given.items(), ("--score-column", args.score_column)):
        if value is not None:
            raise ValueError(f"{option} applies to --pairs, not to --query/--documents")
    return common.input_file(args.documents, "documents file")


def output_format(path: str) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``json`` from the extension of ``path`` (``.txt`` is TSV).

    Raises:
        ValueError: another extension (before any work).
    """
    from textsiam.data.readers import infer_format

    try:
        return infer_format(path)
    except ValueError:
        raise ValueError(
            f"cannot tell the output format of {path} from its extension: use .csv, .tsv (or .txt), .jsonl or .json"
        ) from None


def score(args: argparse.Namespace, text_a: list[str], text_b: list[str]) -> Any:
    """The cross-encoder's score of each pair ``(text_a[i], text_b[i])`` (the model loads here)."""
    from textsiam.evaluation.cross_encoding import cross_encoder_scores, is_cross_encoder

    model = common.load_cross_encoder(args)
    if not is_cross_encoder(model):
        raise ValueError(f"{args.model} is not a cross-encoder (it has no predict method, or has an encode method)")
    scores, info = cross_encoder_scores(
        model,
        text_a,
        text_b,
        batch_size=args.batch_size,
        show_progress_bar=not args.quiet,
        positive_label=common.positive_label(args.positive_label),
    )
    logger.debug("scores: %s", info["score"])
    return scores


def rank(scores: Any, documents: list[str], top_k: int | None) -> list[dict[str, Any]]:
    """``[{"rank", "corpus_id", "score", "text"}]`` best first (a stable sort: ties keep the documents' order)."""
    import numpy as np

    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:top_k]
    return [
        {"rank": r, "corpus_id": int(i), "score": float(scores[i]), "text": documents[i]}
        for r, i in enumerate(order, start=1)
    ]


# ---------------------------------------------------------------------------------------------- inputs
def read_documents(path: Path, column: str | None) -> list[str]:
    """The documents of ``path``: one per line, or a column of a CSV/TSV/JSONL/JSON file (:data:`TABLE_SUFFIXES`).

    Raises:
        ValueError: ``--document-column`` for a file of lines, a table with several columns and none of
            :data:`DOCUMENT_COLUMNS`, a value that is not text, or no documents at all.
    """
    if path.suffix.lower() not in TABLE_SUFFIXES:
        if column is not None:
            raise ValueError(
                f"--document-column applies to a {'/'.join(TABLE_SUFFIXES)} file; {path} is read one document a line"
            )
        documents = [text for _, text in common.read_lines(path)]
    else:
        from textsiam.data.readers import read_columns

        with common.naming(path):
            present = read_columns(path)
        if column is None:
            column = present[0] if len(present) == 1 else next((c for c in DOCUMENT_COLUMNS if c in present), None)
            if column is None:
                raise ValueError(
                    f"{path} has the columns {present}: name the one with the documents with --document-column"
                )
        raw, _ = read_text_columns(path, [column], [column])
        documents = raw[column]
    if not documents:
        raise ValueError(f"{path} holds no documents")
    return documents


def read_pairs_table(
    path: Path, text_a: str | None, text_b: str | None
) -> tuple[list[str], list[dict[str, Any]], list[str], list[str]]:
    """Every column and row of a pairs file, and its two text columns.

    The text columns are the ones named, else those of its format (:func:`textsiam.data.tables.resolve_format`:
    ``sentence1, sentence2``, ``question1, question2``, ``anchor, positive``, ``text_a, text_b``, ...).

    Returns:
        ``(columns, rows, text_a, text_b)``: the column names as read, one dict per row, and the two texts of each row.

    Raises:
        ValueError: no two text columns (a triplet or ``text, label`` file without column names), a text that is
            not a string, or a malformed file (:class:`textsiam.data.DataFormatError`, naming its line).
    """
    from textsiam.data.readers import read_columns
    from textsiam.data.tables import FORMAT_TEXT, resolve_format

    with common.naming(path):
        present = read_columns(path)
    if not present:  # an empty or malformed file: the reader says why
        read_text_columns(path, ["text_a", "text_b"], [])
    if text_a is None or text_b is None:
        named = {role: name for role, name in (("text_a", text_a), ("text_b", text_b)) if name is not None}
        fmt = resolve_format(present, named, str(path))
        if fmt.kind not in ("pair", "anchor_positive") or "text_b" not in fmt.columns:
            raise ValueError(
                f"{path} holds {FORMAT_TEXT[fmt.kind]}: name the two columns to score with --text-a-column and "
                "--text-b-column"
            )
        text_a, text_b = fmt.columns["text_a"], fmt.columns["text_b"]
    raw, n = read_text_columns(path, present, [text_a, text_b])
    rows = [{name: raw[name][i] for name in present} for i in range(n)]
    return present, rows, list(raw[text_a]), list(raw[text_b])


def read_text_columns(path: Path, columns: list[str], texts: list[str]) -> tuple[dict[str, list[Any]], int]:
    """The ``columns`` of a table file (:func:`textsiam.data.readers.read_pair_file`) and their row count; the
    ``texts`` columns must hold strings (a :class:`textsiam.data.DataFormatError` naming the row otherwise)."""
    from textsiam.data.readers import DataFormatError, read_pair_file

    if not set(texts) <= set(columns):
        columns = [*columns, *(t for t in texts if t not in columns)]  # read_pair_file reports the missing ones
    with common.naming(path):
        raw, where = read_pair_file(path, columns)
    for name in texts:
        for value, (line, prefix) in zip(raw[name], where, strict=True):
            if not isinstance(value, str):
                raise DataFormatError(path, line, f"{prefix}column {name!r} must be text, found {type(value).__name__}")
    return raw, len(where)


# ---------------------------------------------------------------------------------------------- outputs
def emit(args: argparse.Namespace, columns: list[str], rows: list[dict[str, Any]], fmt: str, score_column: str) -> None:
    """Write ``rows`` to ``--output`` (atomically, never over a file without ``--overwrite``), else TSV on stdout."""
    import sys

    if not args.output:
        write_rows(sys.stdout, columns, rows, "tsv", score_column)
        return
    with common.naming(args.output), atomic_open(args.output, overwrite=args.overwrite) as out:
        write_rows(out, columns, rows, fmt, score_column)


def write_rows(out: TextIO, columns: list[str], rows: list[dict[str, Any]], fmt: str, score_column: str) -> None:
    """``rows`` as ``fmt``: ``tsv`` and ``csv`` with a header (scores with 6 decimals, as ``textsiam score``; in TSV a
    tab or line break inside a value becomes a space), ``jsonl`` one object a line, ``json`` one array of objects.

    JSON keeps the values as read (numbers, ``null``, ...) and the full precision of the scores.
    """
    import json

    if fmt in ("json", "jsonl"):
        objects = [{name: row[name] for name in columns} for row in rows]
        if fmt == "json":
            out.write(json.dumps(objects, ensure_ascii=False, allow_nan=False, indent=2) + "\n")
        else:
            out.write("".join(json.dumps(o, ensure_ascii=False, allow_nan=False) + "\n" for o in objects))
        return

    def cell(name: str, value: Any) -> str:
        if name == score_column:
            return f"{value:.6f}"
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    if fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell(name, row[name]) for name in columns] for row in rows)
        return

    def clean(text: str) -> str:
        return " ".join(text.replace("\t", " ").splitlines())

    out.write("\t".join(clean(name) for name in columns) + "\n")
    out.write("".join("\t".join(clean(cell(name, row[name])) for name in columns) + "\n" for row in rows))
