"""The silver step of a run: train the teachers that ``silver_teacher`` describes (``{train: {...}}``), then sample,
label and join the silver pairs (:func:`~textsiam.training.silver.add_silver`): :func:`silver_step`.

Each teacher to train runs through :func:`~textsiam.training.run.run` like any run, with the config of
:func:`~textsiam.training.teacher_recipe.teacher_view` (the student's data, its own model and settings), before the
silver pairs are sampled. It trains into ``output_dir/teachers/<index>/`` of the student's run, a run folder of its
own, or, without a run folder, into a temporary folder removed once the silver pairs are labelled. The entry then
stands for the trained model, ``teachers/<index>/model``: it labels the pairs as a named teacher would, and the silver
store fingerprints its files, so labels of another teacher are never reused.

``teachers/<index>/teacher.json`` records the fingerprint of the teacher's recipe (:func:`recipe_fingerprint`: its
resolved config, the folder aside, and the digests of the gold pairs, the dev data and its start model) and whether
it finished. A later run of the student (repeated, resumed, or restarted after a kill) finds there:

* a finished teacher of the same recipe: reused, not trained again;
* a teacher of the same recipe killed while it trained: resumed from its latest checkpoint (or started over when it
  had none);
* a teacher of another recipe, or files that are not a teacher's: replaced only with ``--overwrite``, which removes
  the files of the earlier teacher run and nothing else (:func:`~textsiam.training.run_folder.prepare_output_dir`),
  and never through a link (``teachers`` or ``teachers/<index>`` a symbolic link); otherwise a ``FileExistsError``
  says what to do. (A teacher run killed before it started training, its ``train_config.yaml`` only, starts over.)

Under ``torchrun`` every process waits until the main one has saved the teacher before the pairs are labelled; a
teacher to train there needs ``output_dir`` (a temporary folder would be each process's own).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from textsiam.io_utils import atomic_open, is_model_dir
from textsiam.training.config import ConfigError, TrainConfig
from textsiam.training.dataset_names import is_file_dataset
from textsiam.training.fingerprints import digest_json, model_fingerprint, rows_digest
from textsiam.training.run_folder import CHECKPOINTS_DIR, MODEL_DIR, latest_checkpoint, process_rank, unfinished_run
from textsiam.training.silver import add_silver, check_silver_data
from textsiam.training.sources import GivenData, TaskData
from textsiam.training.teacher_recipe import recipe_items, teacher_folder, teacher_view

logger = logging.getLogger(__name__)

__all__ = ["RECORD_FILE", "read_record", "recipe_fingerprint", "silver_step", "train_teacher"]

#: The record of a teacher's run folder: the fingerprint of its recipe, and whether it finished.
RECORD_FILE = "teacher.json"
RECORD_FORMAT = "textsiam-teacher"

#: ``run(config, *, given, save, resume, overwrite, show_progress, command)``: :func:`textsiam.training.run.run`.
Runner = Callable[..., Any]


def silver_step(
    config: TrainConfig,
    tasks: list[TaskData],
    model: Any,
    given: GivenData | None,
    out: Path | None,
    show_progress: bool,
    runner: Runner,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train the teachers ``config.silver_teacher`` describes (each into its folder, or reuse it), then add the
    silver pairs they label to the one task's training table (:func:`~textsiam.training.silver.add_silver`).

    Args:
        config: the student's config.
        tasks: the student's tasks (their ``train`` tables are the gold pairs).
        model: the start model given to :func:`textsiam.fit`, else ``None``.
        given: data, losses and teacher objects given from Python.
        out: the student's run folder (teachers go to ``out/teachers/<index>``), or ``None``: temporary folders.
        show_progress: progress bars.
        runner: :func:`~textsiam.training.run.run`, which trains each teacher (passed in: this module is a step of it).
        overwrite: the student's ``overwrite``: a teacher folder of another recipe may be replaced.

    Returns:
        The record of the silver set (``silver.json``).
    """
    items = recipe_items(config.silver_teacher)
    if not items:
        return add_silver(config, tasks, model, given, out, show_progress)
    check_silver_data(tasks)  # before any teacher trains
    if out is None and _world_size() > 1:  # each process would train into a temporary folder of its own
        raise ConfigError(
            [
                "silver_teacher: a teacher trained first under torchrun (several processes) needs a folder that every "
                "process reads: give output_dir"
            ]
        )
    with contextlib.ExitStack() as stack:  # the temporary teacher folders live until the pairs are labelled
        trained = {}
        for index, label, entry in items:
            if out is None:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="textsiam-teacher-"))) / "run"
            else:
                folder = Path(teacher_folder(out, index))
            trained[index] = train_teacher(
                config, entry, label, folder, tasks[0], given, runner, overwrite, show_progress
            )
        value = config.silver_teacher
        names = trained[0] if isinstance(value, Mapping) else [trained.get(i, item) for i, item in enumerate(value)]
        return add_silver(replace(config, silver_teacher=names), tasks, model, given, out, show_progress)


def train_teacher(
    config: TrainConfig,
    entry: Mapping[str, Any],
    label: str,
    folder: Path,
    task: TaskData,
    given: GivenData | None,
    runner: Runner,
    overwrite: bool = False,
    show_progress: bool = True,
) -> str:
    """Train the teacher ``entry`` describes into ``folder`` (or reuse or resume the one there, see the module
    docstring); returns its model folder, ``folder/model``.

    Raises:
        ConfigError: the entry does not make a valid teacher config (caught by the config checks before).
        FileExistsError: ``folder`` holds a teacher of another recipe, or other files, and ``overwrite`` is off.
    """
    view, problems = teacher_view(config, entry, label, str(folder))
    if view is None:
        raise ConfigError(problems)
    fingerprint = recipe_fingerprint(view, task)
    main = process_rank() == 0
    action = _plan(folder, fingerprint, label, overwrite, main)
    model_dir = folder / MODEL_DIR
    if action == "reuse":
        logger.info("%s: reusing the teacher in %s (trained from the same recipe)", label, folder)
        return str(model_dir)
    what = "cross-encoder" if view.model_type == "cross_encoder" else "twin tower"
    how = {"resume": "resuming it", "replace": "replacing another"}.get(action, "")
    logger.info("%s: training a %s teacher on the gold pairs into %s%s", label, what, folder, how and f" ({how})")
    teacher_given = GivenData(train=dict(given.train), dev=dict(given.dev)) if given is not None else None
    in_memory = teacher_given is not None and bool(teacher_given.train or teacher_given.dev)
    runner(
        view,
        given=teacher_given,
        save=True,
        resume=action == "resume",
        overwrite=action != "resume" and folder.is_dir() and any(folder.iterdir()),  # the earlier teacher's files
        callbacks=[_record_on_start(folder, label, fingerprint, entry)],
        show_progress=show_progress,
        command=f"textsiam.fit(...) from Python: the teacher {label} of a run" if in_memory else None,
    )
    if main:
        _write_record(folder, label, fingerprint, entry, finished=True)
    _wait_for_the_main_process()  # the others' run returns once training ends, before the main one saves the model
    return str(model_dir)


def recipe_fingerprint(view: TrainConfig, task: TaskData) -> str:
    """What a teacher's weights depend on, hashed: its resolved config (the folder aside), the gold pairs and dev
    data it trains on (the student's tables, read: a file's or a list's content counts, not its name or how its path
    is written; a dev evaluator's pairs) and the files or weights of its start model (not its path)."""
    settings = view.to_dict()
    for key in ("output_dir", "model", "data_dir"):  # the folder; the start model and the data: digested below
        settings.pop(key, None)
    for key in ("n_resamples", "dataloader_num_workers"):  # the CIs of its evaluation, data loading: not its weights
        settings.pop(key, None)
    for key in ("train_dataset", "dev_dataset"):  # a file's rows are digested below, whichever way its path is written
        if isinstance(settings.get(key), str) and is_file_dataset(settings[key]):
            settings[key] = "a file"
    if task.dev is not None:
        dev: Any = _table_digest(task.dev)
    else:
        dev = _evaluator_digest(task.dev_evaluator) if task.dev_evaluator is not None else None
    return digest_json(
        {
            "format": RECORD_FORMAT,
            "config": settings,
            "train": _table_digest(task.train),
            "dev": dev,
            "start_model": model_fingerprint(view.model)["digest"],
        }
    )


def read_record(folder: Path) -> dict[str, Any] | None:
    """The ``teacher.json`` of a teacher's folder, or ``None`` (none, unreadable, or not textsiam's)."""
    try:
        data = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == RECORD_FORMAT else None


def _plan(folder: Path, fingerprint: str, label: str, overwrite: bool, main: bool) -> str:
    """What to do with a teacher's folder: ``reuse`` (a finished teacher of this recipe), ``resume`` (one killed
    after a checkpoint), ``train`` (an empty folder, or this recipe's teacher killed before its first checkpoint) or
    ``replace`` (another recipe's teacher, with ``overwrite``)."""
    record = read_record(folder)
    same = record is not None and record.get("fingerprint") == fingerprint
    if same and record.get("finished") is True and is_model_dir(folder / MODEL_DIR):  # type: ignore[union-attr]
        return "reuse"
    if same and latest_checkpoint(folder / CHECKPOINTS_DIR) is not None:
        return "resume"
    if same or not folder.is_dir() or not any(folder.iterdir()) or (record is None and unfinished_run(folder)):
        return "train"  # (a teacher run killed after it wrote its config, before it started training: its start)
    linked = next((p for p in (folder, folder.parent) if p.is_symlink()), None)
    if linked is not None:
        raise FileExistsError(
            f"{label}: {linked} is a link, and {folder} holds files of no teacher of this recipe; textsiam does not "
            "replace what lies behind a link (not even with --overwrite): remove the link or choose another output_dir"
        )
    if overwrite or not main:  # only the main process checks and cleans the folder
        logger.warning(
            "%s: %s holds %s: training this teacher there (--overwrite: the earlier teacher run's files go)",
            label,
            folder,
            "a teacher trained from another recipe" if record is not None else "files of no teacher of this recipe",
        )
        return "replace"
    what = "a teacher trained from another recipe" if record is not None else f"files but no {RECORD_FILE}"
    raise FileExistsError(
        f"{label}: {folder} holds {what}; textsiam does not replace it unless asked: pass --overwrite (overwrite=True) "
        "to train this recipe's teacher there (only the files of the earlier teacher run are removed; with --resume, "
        "start the run again with --overwrite instead), or choose another output_dir"
    )


def _record_on_start(folder: Path, label: str, fingerprint: str, entry: Mapping[str, Any]) -> Any:
    """A ``TrainerCallback`` that writes ``teacher.json`` (not finished) once the run folder is ready and training
    starts (main process only), so that a teacher killed while it trains is known by its recipe."""
    from transformers import TrainerCallback

    class RecordOnStart(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                _write_record(folder, label, fingerprint, entry, finished=False)

    return RecordOnStart()


def _write_record(folder: Path, label: str, fingerprint: str, entry: Mapping[str, Any], finished: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "format": RECORD_FORMAT,
        "version": 1,
        "entry": label,
        "recipe": dict(entry),
        "fingerprint": fingerprint,
        "finished": finished,
    }
    with atomic_open(folder / RECORD_FILE, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record, indent=2, default=str, ensure_ascii=False) + "\n")


def _evaluator_digest(evaluator: Any) -> dict[str, Any]:
    """A dev evaluator given from Python: its type, and the digest of its pairs when it holds them (a
    :mod:`textsiam.evaluation` evaluator's ``pairs``: texts and gold labels)."""
    pairs = getattr(evaluator, "pairs", None)
    out: dict[str, Any] = {"type": type(evaluator).__name__}
    if all(hasattr(pairs, name) for name in ("text_a", "text_b", "labels")):
        labels = [y.item() if hasattr(y, "item") else y for y in pairs.labels]  # type: ignore[union-attr]
        out["rows"] = rows_digest(zip(pairs.text_a, pairs.text_b, labels, strict=True))  # type: ignore[union-attr]
    return out


def _world_size() -> int:
    """The number of processes under ``torchrun`` (``WORLD_SIZE``); 1 in a plain run."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _wait_for_the_main_process() -> None:
    """Under ``torchrun``: every process waits here until the main one has saved the teacher and its record."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def _table_digest(table: Any) -> dict[str, Any]:
    columns = list(table.column_names)
    return {"columns": columns, "rows": rows_digest(zip(*(table[c] for c in columns), strict=True))}
