"""Reading text files line by line: UTF-8 checked, with the line number of every failure."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

#: Header of a pairs file (skipped when it is the first line), as in ``textsiam score --pairs``.
PAIR_HEADER = ("text_a", "text_b")


# ---------------------------------------------------------------------------------------------- reading
def iter_lines(stream: Any, path: str) -> Iterator[tuple[int, str]]:
    """``(line_number, text)`` for every line of a binary stream (1-based, like the CLI's error messages)."""
    for lineno, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}:{lineno}: not valid UTF-8 ({err.reason})") from None
        if lineno == 1:
            line = line.removeprefix("\ufeff")
        yield lineno, line.rstrip("\r\n")


def iter_pairs(stream: Any, path: str) -> Iterator[tuple[int, str, str]]:
    """``(line_number, text_a, text_b)`` from a TSV of pairs; a ``text_a<TAB>text_b`` first line is skipped.

    Every line must have exactly two tab-separated fields: a third field (e.g. a tab inside a text) is an
    error, never dropped silently.
    """
    for lineno, line in iter_lines(stream, path):
        fields = line.split("\t")
        if lineno == 1 and tuple(f.strip().lower() for f in fields) == PAIR_HEADER:
            continue
        if len(fields) != 2:
            n = len(fields)
            hint = "; a tab inside a text? replace it with a space" if n > 2 else ""
            raise ValueError(
                f"{path}:{lineno}: expected two tab-separated texts (text_a<TAB>text_b), "
                f"found {n} field{'' if n == 1 else 's'}{hint}"
            )
        yield lineno, fields[0], fields[1]
