"""Small file helpers: atomic writes, overwrite protection, and the clean-up of what killed writers left behind.

Two kinds of atomic writes:

* :func:`atomic_path` / :func:`atomic_open` write a file to ``.NAME.PID.RANDOM.tmp`` beside the target and
  rename it into place only when the block succeeds. A ``.NAME.PID.*.tmp`` file whose process is gone (e.g.
  SIGKILLed) is removed by the next write of the same output.
* :func:`atomic_dir` builds a folder in ``.NAME.tmp-PID-*`` and swaps it in for the target (the old folder goes
  to ``.NAME.old-PID-*`` for a moment). It replaces only what a model save writes (:func:`is_model_artifact`):
  every other entry of the old folder (notes, results, sub-folders) is moved into the new one.
"""

from __future__ import annotations

from textsiam.io_utils.atomic_file import atomic_open, atomic_path, check_output
from textsiam.io_utils.atomic_folder import (
    MODEL_ARTIFACT_PATTERNS,
    MODEL_ARTIFACTS,
    MODEL_WEIGHTS,
    atomic_dir,
    default_claims,
    is_model_artifact,
    is_model_dir,
    remove_orphaned_copies,
)
from textsiam.io_utils.leftovers import process_is_gone, remove_stale_temp_files, temp_leftover_pid
from textsiam.io_utils.lines import PAIR_HEADER, iter_lines, iter_pairs

__all__ = [
    "MODEL_ARTIFACTS",
    "MODEL_ARTIFACT_PATTERNS",
    "MODEL_WEIGHTS",
    "PAIR_HEADER",
    "atomic_dir",
    "atomic_open",
    "atomic_path",
    "check_output",
    "default_claims",
    "is_model_artifact",
    "is_model_dir",
    "iter_lines",
    "iter_pairs",
    "process_is_gone",
    "remove_orphaned_copies",
    "remove_stale_temp_files",
    "temp_leftover_pid",
]
