"""Checkpoints of a distillation run, so that ``resume=True`` (``textsiam distill --resume``) continues a killed run
and ends with the same student as a run that was never interrupted.

The checkpoint folder ``<output_dir>/distill-checkpoint/`` holds:

* ``targets.npy`` and ``targets.json``: the teacher's (possibly PCA-reduced) embeddings of every item, written
  once before training, with a fingerprint of the texts, the teacher and the config; a resumed run never calls
  the teacher again, and refuses a checkpoint whose fingerprint differs;
* ``state.safetensors``: the student's weights, the optimisers' and schedules' states, both random generators and
  the position in the run (epoch, step, the epoch's running sums, the log). It is one file, written atomically,
  so a kill while writing leaves the previous state.

Only safetensors, ``.npy`` (read with ``allow_pickle=False``) and JSON are read back: nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

logger = logging.getLogger(__name__)

#: The checkpoint folder inside ``output_dir``.
CHECKPOINT_DIR = "distill-checkpoint"
#: Config fields that may differ between a run and its resumption (they do not change the result).
RESUMABLE_FIELDS = ("show_progress", "overwrite", "checkpoint_steps", "output_dir", "device", "teacher_batch_size")
STATE_KEY = "distill_state"
#: The files a run writes into the checkpoint folder (all :meth:`DistillCheckpoint.remove` deletes).
CHECKPOINT_FILES = ("targets.npy", "targets.json", "state.safetensors")


def fingerprint(texts: Sequence[str], teacher_name: str, config: dict[str, Any]) -> str:
    """A sha256 over the texts, the teacher's name and the config fields that shape the result."""
    digest = hashlib.sha256()
    fields = {k: v for k, v in config.items() if k not in RESUMABLE_FIELDS}
    digest.update(json.dumps([teacher_name, fields], sort_keys=True, default=str).encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


class DistillCheckpoint:
    """The checkpoint folder of one run (see the module docstring). ``directory`` need not exist yet."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    @property
    def exists(self) -> bool:
        """Whether a previous run left targets here (it can be resumed)."""
        return (self.directory / "targets.json").is_file() and (self.directory / "targets.npy").is_file()

    # ------------------------------------------------------------------------------------------ targets
    def save_targets(self, targets: np.ndarray, meta: dict[str, Any]) -> None:
        """Write the teacher's targets ``(N, D)`` and ``meta`` (with the ``fingerprint``), each atomically."""
        from textsiam.io_utils import atomic_open, atomic_path

        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.directory / "targets.npy") as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(targets, dtype=np.float32), allow_pickle=False)
        with atomic_open(self.directory / "targets.json") as fh:  # written last: it marks the targets complete
            fh.write(json.dumps(meta, indent=2) + "\n")

    def load_targets(self, expected_fingerprint: str) -> tuple[np.ndarray, dict[str, Any]]:
        """``(targets, meta)`` saved by :meth:`save_targets`; ``ValueError`` if they belong to another run."""
        path = self.directory / "targets.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            targets = np.load(self.directory / "targets.npy", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ValueError(
                f"{self.directory}: the checkpoint cannot be read ({err}); start over with overwrite"
            ) from None
        if meta.get("fingerprint") != expected_fingerprint:
            raise ValueError(
                f"{self.directory} belongs to a distillation with other texts, teacher or settings; resume it with "
                "the same ones, or start over with overwrite"
            )
        if targets.ndim != 2 or targets.dtype != np.float32 or len(targets) != meta.get("n_items"):
            raise ValueError(f"{self.directory / 'targets.npy'}: not the targets described in targets.json")
        return targets, meta

    # ------------------------------------------------------------------------------------------ training state
    def save_state(
        self,
        student: torch.nn.Module,
        optimizers: Sequence[torch.optim.Optimizer],
        schedules: Sequence[Any],
        progress: dict[str, Any],
    ) -> None:
        """Write the training state in one atomic file (``progress``: JSON-serialisable position and sums)."""
        from textsiam.io_utils import atomic_path

        tensors: dict[str, torch.Tensor] = {
            f"student.{k}": v.detach().cpu().contiguous().clone() for k, v in student.state_dict().items()
        }
        tensors["rng.torch"] = torch.get_rng_state()
        groups = []
        scalars: dict[str, Any] = {}  # slots kept as Python numbers (SparseAdam's step): restored as such
        for i, optimizer in enumerate(optimizers):
            state = optimizer.state_dict()
            for pid, slots in state["state"].items():
                for name, value in slots.items():
                    if isinstance(value, torch.Tensor):
                        tensors[f"optimizer{i}.{pid}.{name}"] = value.detach().cpu().contiguous().clone()
                    else:
                        scalars[f"optimizer{i}.{pid}.{name}"] = value
            groups.append(state["param_groups"])
        meta = {
            "progress": progress,
            "param_groups": groups,
            "scalars": scalars,
            "schedules": [{k: v for k, v in s.state_dict().items() if k != "lr_lambdas"} for s in schedules],
        }
        with atomic_path(self.directory / "state.safetensors") as tmp:
            save_file(tensors, str(tmp), metadata={STATE_KEY: json.dumps(meta)})

    def load_state(
        self,
        student: torch.nn.Module,
        optimizers: Sequence[torch.optim.Optimizer],
        schedules: Sequence[Any],
    ) -> dict[str, Any] | None:
        """Restore what :meth:`save_state` wrote (``None`` when no state was saved yet); returns ``progress``."""
        from safetensors import safe_open

        path = self.directory / "state.safetensors"
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = json.loads((fh.metadata() or {})[STATE_KEY])
            tensors = load_file(str(path))
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(f"{path}: the checkpoint cannot be read ({err}); start over with overwrite") from None
        own = {f"student.{k}" for k in student.state_dict()}
        if own - set(tensors):
            raise ValueError(f"{path}: the saved student does not match this run's student")
        student.load_state_dict({k[len("student.") :]: v for k, v in tensors.items() if k in own})
        for i, optimizer in enumerate(optimizers):
            prefix = f"optimizer{i}."
            state: dict[int, dict[str, Any]] = {}
            for key, value in [*tensors.items(), *meta.get("scalars", {}).items()]:
                if key.startswith(prefix):
                    pid, name = key[len(prefix) :].split(".", 1)
                    state.setdefault(int(pid), {})[name] = value
            optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"][i]})
        for schedule, saved in zip(schedules, meta["schedules"], strict=True):
            schedule.load_state_dict({**schedule.state_dict(), **saved})
        torch.set_rng_state(tensors["rng.torch"])
        return meta["progress"]

    def remove(self) -> None:
        """Delete the files a run writes here, then the folder if nothing else is left in it."""
        from textsiam.io_utils import remove_stale_temp_files

        for name in CHECKPOINT_FILES:
            remove_stale_temp_files(self.directory / name)
            (self.directory / name).unlink(missing_ok=True)
        try:
            self.directory.rmdir()
        except OSError:  # missing, or holds something textsiam did not write
            pass
