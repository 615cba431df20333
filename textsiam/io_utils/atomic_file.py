"""Atomic file writes: a temporary file beside the target, renamed into place only if the block succeeds."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from textsiam.io_utils.leftovers import remove_stale_temp_files
from textsiam.io_utils.permissions import current_mode, set_mode

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- files
def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _refuse_non_regular(path: Path) -> bool:
    """Raise ``FileExistsError`` if ``path`` exists and is not a regular file; return whether it exists."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        raise FileExistsError(
            f"{path} exists and is {_kind(st.st_mode)}, not a regular file; textsiam does not replace it "
            "(not even with --overwrite): remove it or choose another output path"
        )
    return True


def check_output(path: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse to clobber an existing output unless ``overwrite`` is set; create the parent folder.

    Whatever ``overwrite`` says, an existing path that is not a regular file (a directory, a symbolic link, a
    FIFO, a device) is refused with ``FileExistsError``.
    """
    p = Path(path)
    if _refuse_non_regular(p) and not overwrite:
        raise FileExistsError(f"{p} already exists; pass --overwrite to replace it")
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _new_temp_file(target: Path, created: list[Path]) -> Path:
    """Create an empty ``.NAME.PID.RANDOM.tmp`` beside ``target`` with the umask's permissions.

    The name goes into ``created`` *before* the file is made, so that a KeyboardInterrupt or SystemExit raised
    anywhere in here (a signal that arrives just after the file appears) still lets the caller remove it: the name
    carries this process's id, so no other process makes that file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        created.append(tmp)
        try:
            fd = os.open(tmp, flags, 0o666)  # 0o666 & ~umask, like any new file (mkstemp would give 0o600)
        except FileExistsError:
            created.pop()  # not ours
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {target}")


def fsync_dir(directory: Path) -> None:
    """Flush a folder's entries (a rename) to disk; best effort (not every platform opens folders)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``target``; the overwrite decision is taken at this moment."""
    if not overwrite:
        try:
            os.link(tmp, target)  # create-exclusively: fails if target exists, whatever appeared meanwhile
        except FileExistsError:
            raise FileExistsError(f"{target} appeared while this command ran; pass --overwrite to replace it") from None
        except OSError as err:  # no hard links on this file system (FAT, some network / FUSE mounts)
            logger.debug(
                "hard link %s -> %s failed (%s); checking for %s just before the rename", tmp, target, err, target
            )
            if os.path.lexists(target):
                raise FileExistsError(
                    f"{target} appeared while this command ran; pass --overwrite to replace it"
                ) from None
            os.replace(tmp, target)
        else:
            tmp.unlink()
        return
    _refuse_non_regular(target)
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it becomes ``path`` only if the block succeeds.

    The temporary file is ``.NAME.PID.RANDOM.tmp`` (created empty, with the umask's permissions, which it
    has again when it is renamed into place, even if the block replaced it by a file of another mode); it is
    removed on any error, KeyboardInterrupt or SystemExit included, and one left by a killed process is
    removed by the next write of the same ``path``.

    Args:
        path: the output file.
        overwrite: replace an existing regular file (default). With ``False``, an existing ``path`` is a
            ``FileExistsError``, checked before the block and again, create-exclusively, at the rename (so a
            file that appeared in the meantime is never replaced). Either way a ``path`` that is a directory,
            a symbolic link or another non-regular file is refused.
    """
    target = Path(path)
    exists = _refuse_non_regular(target)
    if exists and not overwrite:
        raise FileExistsError(f"{target} already exists; pass --overwrite to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(target)
    created: list[Path] = []
    try:
        tmp = _new_temp_file(target, created)
        mode = current_mode(tmp)  # 0o666 & ~umask: what the umask gives a new file
        yield tmp
        set_mode(tmp, mode)  # a writer that replaced the file (safetensors' save_file) chose its own mode
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        _publish(tmp, target, overwrite)
    except BaseException:
        for made in created:
            made.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", *, overwrite: bool = True
) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` only when the block finishes without error.

    ``overwrite``: as for :func:`atomic_path`.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with open(tmp, mode, **kwargs) as fh:
            yield fh
