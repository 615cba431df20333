"""The one check of an input file's path: it must exist and be a regular file, and the error says what it is instead.

Every input file textsiam reads (``score --pairs``, ``encode``, ``mine``, ``distill --corpus``, ``evaluate --pairs``,
:func:`textsiam.data.load_pairs_from_file`) goes through :func:`check_input_file`, so "not found" is said only of a
path that does not exist: a directory, a named pipe (FIFO), a device or a socket is named as such.

Inputs are read more than once (a first pass counts and validates the lines, a second one encodes or scores them),
so a stream that can be read only once (a FIFO, ``/dev/stdin``, a character device such as ``/dev/zero``) is
refused: save it to a file first. The check uses ``stat`` only, so it never opens (and never blocks on) a FIFO.

Import it as ``textsiam.io_utils.input_paths``: it needs nothing heavy, so the command line can use it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: What a non-regular file is, by its ``stat`` type.
FILE_KINDS: tuple[tuple[str, str], ...] = (
    ("S_ISFIFO", "a FIFO (named pipe)"),
    ("S_ISCHR", "a character device"),
    ("S_ISBLK", "a block device"),
    ("S_ISSOCK", "a socket"),
)


def file_kind(mode: int) -> str:
    """What a ``stat`` mode is, in words: ``"a regular file"``, ``"a directory"``, ``"a FIFO (named pipe)"``, ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    for test, kind in FILE_KINDS:
        if getattr(stat, test)(mode):
            return kind
    return "not a regular file"


def check_input_file(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """``path`` as a ``Path`` if it is an existing regular file (or a symbolic link to one).

    Args:
        path: the input's path (``~`` is expanded).
        what: how the messages name the input, e.g. ``"pairs file"``.

    Raises:
        TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
        FileNotFoundError: nothing at ``path`` (``<what> not found: <path>``), or a
            symbolic link whose target is missing.
        IsADirectoryError: ``path`` is a directory.
        ValueError: ``path`` is a FIFO, a device or a socket (its kind is named): textsiam reads an input twice.
        OSError: ``stat`` failed otherwise (e.g. a folder on the way that may not be searched), naming the path.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a path (str or os.PathLike), got {type(path).__name__}")
    p = Path(path).expanduser()
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(p):
            target = os.readlink(p)
            raise FileNotFoundError(
                f"{what} not found: {p} is a symbolic link to {target}, which does not exist"
            ) from None
        raise FileNotFoundError(f"{what} not found: {p}") from None
    if stat.S_ISREG(st.st_mode):
        return p
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{what} {p} is a directory, not a file")
    raise ValueError(
        f"{what} {p} is {file_kind(st.st_mode)}, not a regular file: textsiam reads an input more than once "
        "(to count and check it, then to process it); save the stream to a file and pass that"
    )
