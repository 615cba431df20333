"""A Ray Data datasource for textsiam's line-oriented inputs, with the line number of every row.

``ray.data.read_text`` and ``ray.data.read_csv`` drop the line number (and ``read_text`` drops empty lines, which
are valid texts here), so results could not be put back into input order. :class:`LinesDatasource` subclasses
Ray's :class:`~ray.data.datasource.FileBasedDatasource` (what ``read_text`` is built on) and reads a file exactly
as the single-process command line does: split at ``\\n``, ``\\r\\n`` stripped, a UTF-8 BOM dropped, an invalid
UTF-8 line or a pair line without a tab rejected with ``file:line``. It streams: rows leave the read task in
blocks of ``block_rows``, so neither the driver nor a worker holds the file.

This module imports ``ray``; :mod:`textsiam.distributed.ray_engine` imports it only after checking that Ray is
installed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from ray.data.datasource import FileBasedDatasource

from textsiam.io_utils import PAIR_HEADER, iter_lines, iter_pairs

__all__ = ["PAIR_HEADER", "LinesDatasource"]


class LinesDatasource(FileBasedDatasource):
    """Rows ``{line, text}`` (``kind="text"``) or ``{line, text_a, text_b}`` (``kind="pairs"``) of text files.

    Args:
        paths: a file, a folder or a list of them (local paths, or URIs such as ``s3://`` that pyarrow reads).
        kind: ``"text"`` (one text per line) or ``"pairs"`` (``text_a<TAB>text_b`` per line).
        block_rows: rows per output block; blocks are the unit of work that reaches the actors.
        **file_based_datasource_kwargs: passed to :class:`~ray.data.datasource.FileBasedDatasource`.
    """

    def __init__(self, paths: str | list[str], kind: str = "text", block_rows: int = 10_000, **kwargs: Any) -> None:
        if kind not in ("text", "pairs"):
            raise ValueError(f"kind must be 'text' or 'pairs', got {kind!r}")
        if not isinstance(block_rows, int) or block_rows < 1:
            raise ValueError(f"block_rows must be a positive int, got {block_rows!r}")
        super().__init__(paths, **kwargs)
        self.kind = kind
        self.block_rows = block_rows

    def _read_stream(self, f: pa.NativeFile, path: str) -> Iterator[pa.Table]:
        stream = io.BufferedReader(f)  # pyarrow streams do not split lines themselves
        if self.kind == "text":
            rows: Iterator[tuple] = iter_lines(stream, path)
            names = ["line", "text"]
        else:
            rows = iter_pairs(stream, path)
            names = ["line", "text_a", "text_b"]
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == self.block_rows:
                yield _table(chunk, names)
                chunk = []
        if chunk:
            yield _table(chunk, names)


def _table(rows: list[tuple], names: list[str]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    arrays = [pa.array(columns[0], type=pa.int64())] + [pa.array(c, type=pa.string()) for c in columns[1:]]
    return pa.Table.from_arrays(arrays, names=names)
