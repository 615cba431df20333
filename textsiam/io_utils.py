"""Small file helpers: atomic writes and overwrite protection."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

#: Header of a pairs file (skipped when it is the first line), as in ``textsiam score --pairs``.
PAIR_HEADER = ("text_a", "text_b")


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
    """``(line_number, text_a, text_b)`` from a TSV of pairs; a ``text_a<TAB>text_b`` first line is skipped."""
    for lineno, line in iter_lines(stream, path):
        fields = line.split("\t")
        if lineno == 1 and tuple(f.strip().lower() for f in fields[:2]) == PAIR_HEADER:
            continue
        if len(fields) < 2:
            raise ValueError(
                f"{path}:{lineno}: expected two tab-separated texts (text_a<TAB>text_b), found {len(fields)} field"
            )
        yield lineno, fields[0], fields[1]


def check_output(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse to clobber an existing output unless ``overwrite`` is set."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} already exists; pass --overwrite to replace it")
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` only when the block finishes without error."""
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with open(tmp, mode, **kwargs) as fh:
            yield fh


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``path``; it replaces ``path`` only if the block succeeds.

    The old folder is renamed aside before the new one is renamed into place, so a crash leaves either the
    old or the new folder complete (plus ``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*`` leftovers, which the next
    successful call removes once their process is gone). ``fsync`` flushes every file before the rename.
    """
    target = Path(path).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise ValueError(f"{target} exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{pid}-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result gets the usual permissions
    try:
        yield tmp
        if fsync:
            for p in tmp.rglob("*"):
                if p.is_file():
                    with open(p, "rb") as fh:
                        os.fsync(fh.fileno())
        if target.exists():
            old = target.parent / f".{target.name}.old-{pid}-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_orphaned_copies(target)


def remove_orphaned_copies(target: Path) -> None:
    """Delete ``.NAME.tmp-PID-*`` / ``.NAME.old-PID-*`` folders left by :func:`atomic_dir` calls whose process died.

    Only folders whose PID names no running process on this machine are removed, so a concurrent writer that
    is still alive is never touched.
    """
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(?:tmp|old)-(\d+)-")
    for path in target.parent.iterdir():
        match = pattern.match(path.name)
        if not match or not path.is_dir():
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            logger.info("removing %s, left by an interrupted write (process %d is gone)", path, pid)
            shutil.rmtree(path, ignore_errors=True)
        except OSError:  # alive (another user's process) or unknowable: keep it
            continue
