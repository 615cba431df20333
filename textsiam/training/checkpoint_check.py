"""Checking a checkpoint before a run resumes from it, so that a damaged or poisoned one fails at once, in one line.

``transformers.Trainer`` reads a checkpoint's optimiser, schedule, scaler and random states from pickled files
(``optimizer.pt``, ``scheduler.pt``, ``rng_state.pth``, ...), with ``torch.load(weights_only=True)``: a file
that holds other pickled objects (which could run code) is refused, but only deep inside ``Trainer.train``, with
an ``UnpicklingError`` traceback, after the run folder was written to. :func:`check_resumable` reads each such
file the same way (with the Trainer's allow-list of numpy globals) before anything is loaded or written, and
turns a refusal into a ``ValueError`` that names the file. Nothing is ever unpickled beyond tensors and plain
data.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

#: The pickled files of a checkpoint that ``Trainer`` loads on resume (``training_args.bin``, which stock
#: ``Trainer`` writes, is never loaded: it is left alone).
LOADED_ON_RESUME = re.compile(r"^(optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state(_\d+)?\.pth)$")


def check_resumable(checkpoint: str | os.PathLike[str]) -> None:
    """Refuse a checkpoint with a pickled file that ``torch.load(weights_only=True)`` cannot read.

    Raises:
        ValueError: naming the file; it holds objects other than tensors and plain data (not a safe checkpoint),
            or it is damaged.
    """
    folder = Path(checkpoint)
    for path in sorted(folder.iterdir()):
        if LOADED_ON_RESUME.match(path.name) and path.is_file():
            check_pickled_file(path)


def check_pickled_file(path: Path) -> None:
    """Read ``path`` as the Trainer does (``weights_only=True``, memory-mapped when it can); ``ValueError`` if
    that fails."""
    import torch
    from transformers.trainer_pt_utils import safe_globals

    try:
        with safe_globals():
            torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as err:
        detail = re.search(r"WeightsUnpickler error: ([^\n]*)", str(err))
        why = f" ({detail.group(1).strip()})" if detail else ""
        raise ValueError(
            f"{path}: not a safe checkpoint file: it holds objects other than tensors and plain data{why}, and "
            "unpickling those could run code, so textsiam does not load it; resume from a checkpoint you trust, "
            "or start the run again without --resume"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        first_line = (str(err).splitlines() or [""])[0]
        raise ValueError(
            f"{path}: not a readable checkpoint file ({type(err).__name__}: {first_line}); it is damaged or "
            "incomplete: resume from an earlier checkpoint, or start the run again without --resume"
        ) from None
