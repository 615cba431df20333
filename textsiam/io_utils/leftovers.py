"""What killed writers leave behind (temporary files and folders named with their PID), and finding it."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

logger = logging.getLogger(__name__)


def process_is_gone(pid: int) -> bool:
    """Whether no process with id ``pid`` runs on this machine (a process of another user counts as running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, another user's; anything else: unknowable, so keep its files
        return False
    return False


def temp_leftover_pid(name: str, target: str) -> int | None:
    """The PID in ``name`` if it is a temporary of an atomic write of ``target`` (else ``None``).

    Matches ``.TARGET.PID.RANDOM.tmp`` (:func:`atomic_path`) and ``.TARGET.tmp-PID-*`` / ``.TARGET.old-PID-*``
    (:func:`atomic_dir`).
    """
    t = re.escape(target)
    match = re.match(rf"^\.{t}\.(\d+)\.[0-9A-Za-z]+\.tmp$", name) or re.match(rf"^\.{t}\.(?:tmp|old)-(\d+)-", name)
    return int(match.group(1)) if match else None


def remove_stale_temp_files(target: str | os.PathLike) -> list[Path]:
    """Delete the ``.NAME.PID.*.tmp`` files beside ``target`` whose process is gone; return what was deleted."""
    target = Path(target)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        pid = temp_leftover_pid(entry.name, target.name)
        if pid is None or not entry.name.endswith(".tmp") or pid == os.getpid() or not process_is_gone(pid):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as err:
            logger.warning("could not remove %s, left by an interrupted write: %s", entry.path, err)
            continue
        logger.info("removed %s, left by an interrupted write (process %d is gone)", entry.path, pid)
        removed.append(Path(entry.path))
    return removed
