"""The run folder of :func:`~textsiam.training.train`: what it holds, which checkpoint to resume from, and when a
folder may be reused (a run killed before its first checkpoint) or must be overwritten on request."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

from textsiam.io_utils import temp_leftover_pid
from textsiam.training.config import TrainConfig

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"
CONFIG_FILE = "train_config.yaml"
#: A checkpoint folder's name, ``checkpoint-<optimiser step>`` (as ``transformers.Trainer`` writes them).
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
#: What :func:`train` writes into ``output_dir`` (removed by ``overwrite=True``).
RUN_ARTIFACTS = (CHECKPOINTS_DIR, MODEL_DIR, CONFIG_FILE, "evaluation.json", "evaluation.md", "train_log.json")


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The complete ``checkpoint-N`` folder with the largest ``N`` in ``directory`` (``None`` if there is none).

    A checkpoint counts as complete when it holds a readable ``trainer_state.json`` (written last by the Trainer),
    so a process killed while writing a checkpoint resumes from the one before.
    """
    d = Path(directory)
    if not d.is_dir():
        return None
    found = []
    for p in d.iterdir():
        m = CHECKPOINT_NAME.match(p.name)
        if m and p.is_dir() and (p / "trainer_state.json").is_file():
            found.append((int(m.group(1)), p))
    for _, p in sorted(found, reverse=True):
        try:
            json.loads((p / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            logger.warning("skipping the incomplete checkpoint %s (trainer_state.json: %s)", p, err)
            continue
        return p
    return None


def process_rank() -> int:
    """Global rank of this process under ``torchrun`` (``RANK``); 0 in a plain single-process run."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def is_run_leftover(name: str) -> bool:
    """Whether an entry of ``output_dir`` is an unfinished temporary of an atomic write of a run artifact.

    (Not a ``.model.old-*`` copy: that is a model being replaced, so the run had finished.)
    """
    if not (name.endswith(".tmp") or ".tmp-" in name):
        return False
    return any(temp_leftover_pid(name, artifact) is not None for artifact in RUN_ARTIFACTS)


def unfinished_run(out: Path) -> bool:
    """Whether ``out`` holds only what a run killed before its first checkpoint leaves.

    That is ``train_config.yaml``, a ``checkpoints`` folder without a complete checkpoint, and temporaries of
    textsiam's atomic writes; no model, no evaluation, no file of anyone else.
    """
    for entry in out.iterdir():
        if entry.name in (CONFIG_FILE, CHECKPOINTS_DIR) or is_run_leftover(entry.name):
            continue
        return False
    return latest_checkpoint(out / CHECKPOINTS_DIR) is None


def remove_run_artifacts(out: Path) -> None:
    """Delete what :func:`train` wrote into ``out`` (:data:`RUN_ARTIFACTS`); nothing else is touched."""
    for name in RUN_ARTIFACTS:
        p = out / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def prepare_output_dir(out: Path, resume: bool | str, overwrite: bool, main_process: bool = True) -> str | None:
    """Check / clean the run folder; return the checkpoint to resume from (``None`` for a fresh run).

    * ``resume``: the latest complete checkpoint (or the one given); none is a ``FileNotFoundError`` that says
      what to do instead.
    * a folder holding only what a run killed before its first checkpoint leaves (``train_config.yaml``, an
      empty or half-written ``checkpoints``): the run starts over, no ``overwrite`` needed.
    * any other non-empty folder needs ``overwrite`` (which removes :data:`RUN_ARTIFACTS` and nothing else).

    Under ``torchrun`` only the main process (``main_process=True``) checks and cleans the folder; the others
    just find the checkpoint. They cannot get ahead of the cleaning: the process group is set up (a barrier)
    before anything is trained or written.
    """
    if resume:
        if isinstance(resume, (str, os.PathLike)) and not isinstance(resume, bool):
            ckpt = Path(resume).expanduser()
            if not (ckpt / "trainer_state.json").is_file():
                raise FileNotFoundError(f"not a complete checkpoint (no trainer_state.json): {ckpt}")
            return str(ckpt)
        ckpt = latest_checkpoint(out / CHECKPOINTS_DIR)
        if ckpt is None:
            where = out / CHECKPOINTS_DIR
            if not out.is_dir() or not any(out.iterdir()):
                raise FileNotFoundError(
                    f"nothing to resume: no complete checkpoint in {where} ({out} holds no run); "
                    "start the run without --resume"
                )
            if unfinished_run(out):
                raise FileNotFoundError(
                    f"nothing to resume: no complete checkpoint in {where}: the earlier run stopped before its "
                    "first checkpoint; start it again without --resume (or with --overwrite)"
                )
            raise FileNotFoundError(
                f"nothing to resume: no complete checkpoint in {where}; to train again from the start, pass "
                "--overwrite instead of --resume (it replaces the run's files in the folder, nothing else)"
            )
        return str(ckpt)
    if not main_process:
        return None
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"output_dir {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if overwrite:
            remove_run_artifacts(out)
            logger.info("overwriting the run in %s", out)
        elif unfinished_run(out):
            remove_run_artifacts(out)
            logger.warning(
                "%s holds only the start of an earlier run that stopped before its first checkpoint; starting over",
                out,
            )
        else:
            raise FileExistsError(
                f"output_dir {out} already exists and is not empty (a finished or checkpointed run, or other "
                "files); pass --overwrite to replace the run in it (only the run's own files are removed), "
                "or --resume to continue it from its latest checkpoint"
            )
    return None


def warn_config_changes(config: TrainConfig, saved_file: Path) -> None:
    if not saved_file.is_file():
        return
    try:
        saved = TrainConfig.from_file(saved_file).to_dict()
    except (ValueError, OSError) as err:
        logger.warning("could not read %s to compare with the resumed config: %s", saved_file, err)
        return
    now = config.to_dict()
    changed = {k: (saved.get(k), v) for k, v in now.items() if saved.get(k) != v and k != "output_dir"}
    if changed:
        logger.warning("resuming with a config that differs from the saved one: %s", changed)
