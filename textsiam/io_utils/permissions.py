"""Permissions of what an atomic write produced: every file gets the mode the umask gives a new file.

Some writers choose their own mode: ``safetensors.save_file`` writes a private temporary file (``0o600``) and
renames it over the path it was given, so a ``model.safetensors`` would be unreadable to the group while the
``config.json`` beside it is not. The atomic writers (:func:`~textsiam.io_utils.atomic_path`,
:func:`~textsiam.io_utils.atomic_dir`) create their temporary file or folder themselves with ``0o666`` /
``0o777`` and let the kernel apply the umask; that mode tells what the umask is without setting it (setting it,
even to read it, changes it for a moment for every thread of the process). Before the result is renamed into
place, what the writer left is given that mode.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)


def current_mode(path: str | os.PathLike) -> int:
    """The permission bits of ``path`` (``0o644``, ...), symbolic links not followed."""
    return stat.S_IMODE(os.lstat(path).st_mode)


def set_mode(path: str | os.PathLike, mode: int) -> None:
    """Give the regular file or folder ``path`` the permission bits ``mode`` if it has others (links untouched)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
        return
    try:
        os.chmod(path, mode)
    except OSError as err:  # a file system without modes (FAT, some mounts): nothing to fix there
        logger.debug("could not set the mode of %s to %o: %s", path, mode, err)


def apply_folder_modes(root: str | os.PathLike, folder_mode: int) -> None:
    """Give everything under ``root`` the modes the umask gives new entries, as read off ``folder_mode``.

    ``folder_mode`` is the mode of a folder created with ``0o777`` (``0o777 & ~umask``). Folders below ``root``
    get it, files get ``folder_mode & 0o666`` (an executable file keeps its execute bits, masked the same way).
    Symbolic links are neither followed nor changed.
    """
    file_mode = folder_mode & 0o666
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                set_mode(path, folder_mode)
        for name in filenames:
            path = Path(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                set_mode(path, file_mode | (stat.S_IMODE(st.st_mode) & 0o111 & folder_mode))
