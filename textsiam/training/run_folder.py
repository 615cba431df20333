"""The run folder of :func:`~textsiam.training.train`: what it holds, which checkpoint to resume from, and when a
folder may be reused (a run killed before its first checkpoint, its teacher pipeline's folders included) or must be
overwritten on request."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

from textsiam.io_utils import (
    default_claims,
    is_model_dir,
    remove_orphaned_copies,
    remove_stale_temp_files,
    temp_leftover_pid,
)
from textsiam.training.config import TrainConfig
from textsiam.training.silver_store import CANDIDATES_FILE, PAIRS_FILE, RECORD_FILE, SCORES_DIR, SILVER_DIR
from textsiam.training.teacher_recipe import TEACHERS_DIR

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"
CONFIG_FILE = "train_config.yaml"
#: A checkpoint folder's name, ``checkpoint-<optimiser step>`` (as ``transformers.Trainer`` writes them).
CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
#: The files :func:`train` writes into ``output_dir`` itself.
RUN_FILES = (CONFIG_FILE, "evaluation.json", "evaluation.md", "train_log.json")
#: What :func:`train` writes into ``output_dir``: the checkpoints and model folders and :data:`RUN_FILES`.
RUN_ARTIFACTS = (CHECKPOINTS_DIR, MODEL_DIR, *RUN_FILES)
#: The files ``transformers.Trainer`` and :class:`~textsiam.training.trainer.SiameseTrainer` write into a
#: ``checkpoint-N`` folder (weights, training arguments, trainer, optimiser, schedule, scaler and random states).
CHECKPOINT_FILE = re.compile(
    r"^(model\.safetensors|training_args\.(json|bin)|trainer_state\.json|optimizer\.pt|scheduler\.pt|scaler\.pt"
    r"|rng_state(_\d+)?\.pth)$"
)


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

    That is ``train_config.yaml``, a ``checkpoints`` folder without a complete checkpoint, temporaries of
    textsiam's atomic writes, and the teacher pipeline's folders (:func:`is_pipeline_folder`: a run killed while it
    trained its teacher or labelled silver pairs; the restart reuses what they hold); no model, no evaluation, no
    file of anyone else.
    """
    for entry in out.iterdir():
        if entry.name in (CONFIG_FILE, CHECKPOINTS_DIR) or is_run_leftover(entry.name) or is_pipeline_folder(entry):
            continue
        return False
    return latest_checkpoint(out / CHECKPOINTS_DIR) is None


#: What the teacher pipeline writes into ``output_dir/silver`` (:mod:`~textsiam.training.silver_store`).
SILVER_ENTRIES = (RECORD_FILE, CANDIDATES_FILE, PAIRS_FILE, SCORES_DIR)


def is_pipeline_folder(entry: Path) -> bool:
    """Whether an entry of ``output_dir`` is a folder of the teacher pipeline holding only what textsiam writes
    there: ``silver/`` (the silver set's files and the temporaries of their atomic writes) or ``teachers/`` (one
    run folder per teacher trained first, named by its index; each is checked when the run comes to it)."""
    if entry.name not in (SILVER_DIR, TEACHERS_DIR) or entry.is_symlink() or not entry.is_dir():
        return False
    for child in entry.iterdir():
        if entry.name == TEACHERS_DIR:
            if not (child.name.isdigit() and child.is_dir() and not child.is_symlink()):
                return False
        elif child.name not in SILVER_ENTRIES and not any(
            temp_leftover_pid(child.name, name) is not None for name in SILVER_ENTRIES
        ):
            return False
    return True


def remove_run_artifacts(out: Path) -> None:
    """Delete what :func:`train` wrote into ``out``, and nothing else.

    That is :data:`RUN_FILES`; in ``checkpoints/``, the files of the ``checkpoint-N`` folders
    (:data:`CHECKPOINT_FILE`); in ``model/``, the files of the saved model and its card ``README.md``; and the
    leftovers of textsiam's killed writes of these. Folders left empty go too. Every other file or folder, in
    ``out`` or in those folders (notes, plots, results), is kept.
    """
    for name in RUN_FILES:
        remove_file(out / name)
    remove_checkpoints(out / CHECKPOINTS_DIR)
    remove_model_files(out / MODEL_DIR)
    kept = [
        f"{sub}/{p.name}" for sub in (CHECKPOINTS_DIR, MODEL_DIR) if (out / sub).is_dir() for p in (out / sub).iterdir()
    ]
    if kept:
        logger.info(
            "kept %d entr%s that the run did not write: %s",
            len(kept),
            "y" if len(kept) == 1 else "ies",
            ", ".join(kept),
        )


def remove_file(path: Path) -> None:
    """Delete the file (or symbolic link) ``path`` if there is one, and the temporaries of killed atomic writes of
    it; a folder of that name is not textsiam's and is left alone."""
    remove_stale_temp_files(path)
    if path.is_symlink() or path.is_file():
        path.unlink()


def remove_empty_folder(path: Path) -> None:
    """Remove the folder ``path`` if it is empty (a real folder, not a link)."""
    if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        path.rmdir()


def remove_checkpoints(folder: Path) -> None:
    """Delete the checkpoint files of every ``checkpoint-N`` folder in ``folder``, then the folders left empty."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for ckpt in folder.iterdir():
        if not CHECKPOINT_NAME.match(ckpt.name) or not ckpt.is_dir() or ckpt.is_symlink():
            continue
        for entry in ckpt.iterdir():
            if CHECKPOINT_FILE.match(entry.name):
                remove_file(entry)
        remove_empty_folder(ckpt)
    remove_empty_folder(folder)


def remove_model_files(folder: Path) -> None:
    """Delete the saved model in ``folder`` (the files a model save writes, the model card ``README.md``) and the
    leftovers of killed saves to it; every other entry stays, and the folder goes only if it is left empty."""
    remove_orphaned_copies(folder)
    if not folder.is_dir() or folder.is_symlink():
        return
    if is_model_dir(folder):
        claims = default_claims(folder, {"README.md"}, was_model=True)
        for entry in folder.iterdir():
            if not claims(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    remove_empty_folder(folder)


def prepare_output_dir(out: Path, resume: bool | str, overwrite: bool, main_process: bool = True) -> str | None:
    """Check / clean the run folder; return the checkpoint to resume from (``None`` for a fresh run).

    * ``resume``: the latest complete checkpoint (or the one given); none is a ``FileNotFoundError`` that says
      what to do instead.
    * a folder holding only what a run killed before its first checkpoint leaves (``train_config.yaml``, an
      empty or half-written ``checkpoints``): the run starts over, no ``overwrite`` needed.
    * any other non-empty folder needs ``overwrite`` (which removes what the earlier run wrote and nothing else,
      see :func:`remove_run_artifacts`).

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
        check_run_subfolders(out)
        return str(ckpt)
    if not main_process:
        return None
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"output_dir {out} exists and is not a directory")
    if not out.is_dir() or not any(out.iterdir()):
        return None
    unfinished = not overwrite and unfinished_run(out)
    if not overwrite and not unfinished:
        raise FileExistsError(
            f"output_dir {out} already exists and is not empty (a finished or checkpointed run, or other "
            "files); pass --overwrite to replace the run in it (only the run's own files are removed), "
            "or --resume to continue it from its latest checkpoint"
        )
    check_run_subfolders(out)  # before anything is removed
    remove_run_artifacts(out)
    if unfinished:
        kept = [e.name + "/" for e in sorted(out.iterdir()) if is_pipeline_folder(e)]
        logger.warning(
            "%s holds only the start of an earlier run that stopped before its first checkpoint; starting over%s",
            out,
            f" (reusing what fits in {', '.join(kept)})" if kept else "",
        )
    else:
        logger.info("overwriting the run in %s", out)
    return None


def check_run_subfolders(out: Path) -> None:
    """``FileExistsError`` if ``out/checkpoints`` or ``out/model`` exists but is not a folder (or a link to one):
    textsiam did not write it, so it neither replaces it nor fails over it at the end of the run."""
    for name in (CHECKPOINTS_DIR, MODEL_DIR):
        path = out / name
        if os.path.lexists(path) and not path.is_dir():
            raise FileExistsError(
                f"{path} exists and is not a folder; a run writes its {name} there, and textsiam does not replace "
                "what it did not write (not even with --overwrite): move it away or choose another output_dir"
            )


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
