"""One training run end to end: :func:`train`.

Order of work (so that mistakes fail early and cheaply):

1. :meth:`TrainConfig.validate` (no data, no model);
2. the output folder (refuses to overwrite unless asked; finds the checkpoint to resume from);
3. data: load, check the labels against the loss, subsample; silver pairs (teachers trained first: teacher_run);
4. model (and teacher), training examples, loss, dev metric;
5. ``SiameseTrainer.train`` (checkpoints in ``output_dir/checkpoints``);
6. the best model (by the dev metric) to ``output_dir/model`` with :meth:`SiameseModel.save`, its evaluation
   on dev and the test sets to ``output_dir/evaluation.{json,md}``, and a model card
   ``output_dir/model/README.md``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from textsiam.training.build import (
    build_loss,
    build_model,
    build_teacher,
    check_bf16,
    check_loss_object,
    training_arguments,
)
from textsiam.training.checkpoint_check import check_resumable
from textsiam.training.config import TrainConfig
from textsiam.training.dev import evaluate_final, run_dev_metric
from textsiam.training.prompts import model_prompts, task_prompts
from textsiam.training.run_folder import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    MODEL_DIR,
    RUN_ARTIFACTS,
    latest_checkpoint,
    prepare_output_dir,
    process_rank,
    warn_config_changes,
)
from textsiam.training.sources import GivenData, TaskData, load_tasks
from textsiam.training.teacher_run import silver_step

logger = logging.getLogger(__name__)

__all__ = [
    "CHECKPOINTS_DIR",
    "CONFIG_FILE",
    "MODEL_DIR",
    "RUN_ARTIFACTS",
    "TrainResult",
    "latest_checkpoint",
    "run",
    "train",
]


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes:
        output_dir: the run folder (``None`` for :func:`textsiam.fit` without ``output_dir``).
        model_dir: the saved best model (``output_dir/model``; ``None`` when nothing was saved).
        config: the config that was run.
        global_step: optimiser steps taken (in total, including any resumed part).
        train_loss: mean training loss of this call.
        train_wall_time_s: wall time of ``Trainer.train`` in this call.
        best_checkpoint: the checkpoint chosen by the dev metric (``None`` without dev data).
        best_metric: its dev metric value.
        metric_name: name of the dev metric (e.g. ``cosine_spearman``).
        dev_history: one ``{"step", "epoch", metric}`` per dev evaluation of the run (a resumed run's starts with
            those before its checkpoint).
        log_history: ``transformers`` log entries (losses, learning rates, dev metrics).
        evaluation: final evaluation of the saved model (dev + test sets); ``None`` on non-main processes.
        examples: description of the training examples.
        averaging: report of the checkpoint soup / WiSE-FT step (``None`` when both are off).
        model: the trained :class:`~textsiam.SiameseModel` or :class:`~textsiam.CrossEncoder` (the best weights, in
            eval mode).
    """

    output_dir: Path | None
    model_dir: Path | None
    config: TrainConfig
    global_step: int
    train_loss: float
    train_wall_time_s: float
    best_checkpoint: str | None = None
    best_metric: float | None = None
    metric_name: str | None = None
    dev_history: list[dict[str, float]] = field(default_factory=list)
    log_history: list[dict[str, Any]] = field(default_factory=list)
    evaluation: Any = None
    examples: str = ""
    averaging: dict[str, Any] | None = None
    model: Any = None


@dataclass
class RunData:
    """The data step's result: every task's training table (labels checked against its loss) and dev data."""

    tasks: list[TaskData]

    @property
    def multi(self) -> bool:
        return len(self.tasks) > 1


@dataclass
class RunParts:
    """The model step's result: everything the Trainer needs, and what the finish step reports."""

    model: Any
    base_model: str
    examples: dict[str, Any]
    loss: dict[str, Any]
    dev_metric: Any
    prompts: dict[str, str]  # {task: the prefix before its texts}, "" for none (textsiam.training.prompts)

    @property
    def description(self) -> str:
        """The training examples in one line (per task when there are several)."""
        if len(self.examples) == 1:
            return next(iter(self.examples.values())).description
        return "; ".join(f"{name}: {ex.description}" for name, ex in self.examples.items())


def _default_command(config_file: Path, out: Path) -> str:
    import shlex

    return f"textsiam train --config {shlex.quote(str(config_file))} --output-dir {shlex.quote(str(out))} --overwrite"


# ---------------------------------------------------------------------------------------------- train
def train(
    config: TrainConfig,
    resume: bool | str = False,
    overwrite: bool = False,
    callbacks: list[Any] | None = None,
    command: str | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Fine-tune a Siamese model as ``config`` says; save, evaluate and document the best model.

    Args:
        config: the recipe (validated here first).
        resume: ``True`` to continue from the latest checkpoint in ``output_dir/checkpoints``, or a
            checkpoint path. Data order, dropout and learning-rate schedule continue exactly.
        overwrite: replace an earlier run in a non-empty ``output_dir`` (its checkpoints, model and
            evaluation files); without it such a folder is an error.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        command: the command line to print in the model card (default: an equivalent ``textsiam train``).
        show_progress: progress bars and the loss printed as training goes; ``False`` logs the loss through
            ``logging`` instead (logger ``textsiam.training.run``, INFO), so that nothing reaches stdout.

    Returns:
        :class:`TrainResult`.

    Raises:
        ConfigError: an invalid config, a loss that does not fit its data's format, or labels that do not suit the
            loss (before any model is loaded).
        FileExistsError: ``output_dir`` holds a run and neither ``resume`` nor ``overwrite`` is set.
        FileNotFoundError: ``resume`` but no checkpoint.
        ValueError: the checkpoint to resume from holds a pickled file that is not a safe checkpoint (objects
            other than tensors and plain data) or is damaged; raised before anything is written.
    """
    return run(
        config, resume=resume, overwrite=overwrite, callbacks=callbacks, command=command, show_progress=show_progress
    )


def run(
    config: TrainConfig,
    *,
    model: Any = None,
    given: GivenData | None = None,
    save: bool = True,
    resume: bool | str = False,
    overwrite: bool = False,
    callbacks: list[Any] | None = None,
    command: str | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """:func:`train`, and :func:`textsiam.fit`'s way in: a ``model`` in hand (trained in place), data and losses
    ``given`` from Python, and ``save=False`` to write nothing (the best weights are kept in memory)."""
    config.validate()
    check_bf16(config)
    out = Path(config.output_dir).expanduser()
    checkpoint = None
    if save:
        checkpoint = prepare_output_dir(out, resume, overwrite, main_process=process_rank() == 0)
        if checkpoint:
            check_resumable(checkpoint)  # a poisoned or damaged checkpoint fails here, before anything is written
    elif resume:
        raise ValueError("resume needs the run folder: give output_dir")
    data = prepare_data(config, given)
    config = resolved_config(config, data.tasks)
    if checkpoint:
        warn_config_changes(config, out / CONFIG_FILE)
        logger.info("resuming from %s", checkpoint)
    if config.silver_teacher is not None:  # Augmented SBERT: teacher-labelled silver pairs join the gold pairs
        silver_step(config, data.tasks, model, given, out if save else None, show_progress, run, overwrite)
    parts = prepare_model(config, data, model)
    if save:
        trainer, result, start_state = fit_step(config, out, parts, checkpoint, callbacks, show_progress)
    else:
        with tempfile.TemporaryDirectory(prefix="textsiam-fit-") as tmp:  # the Trainer wants a folder; it stays empty
            steps = fit_step(config, Path(tmp), parts, None, callbacks, show_progress, save=False)
        trainer, result, start_state = steps
    if not trainer.is_world_process_zero():
        return result
    return finish(config, out if save else None, data, parts, trainer, result, start_state, command)


def resolved_config(config: TrainConfig, tasks: list[TaskData]) -> TrainConfig:
    """``config`` with what was chosen or given from Python written in, so that the saved recipe says what ran: a
    loss chosen from the data, and the name and arguments of a loss object (:meth:`SiameseLoss.get_config`)."""

    def settings(task: TaskData) -> dict[str, Any] | None:
        if task.loss_object is not None and hasattr(task.loss_object, "get_config"):
            return {"loss": task.config.loss, "loss_kwargs": task.loss_object.get_config()}
        return None

    if not config.train_datasets:
        given = settings(tasks[0])
        return replace(config, **given) if given else replace(config, loss=tasks[0].config.loss)
    entries = {name: dict(entry) for name, entry in config.train_datasets.items()}
    for task in tasks:
        given = settings(task)
        if given:
            entries[task.name].update(given)
        elif "loss" not in entries[task.name] and config.loss is None:  # chosen from the data (no arguments)
            entries[task.name]["loss"] = task.config.loss
    return replace(config, train_datasets=entries)


def prepare_data(config: TrainConfig, given: GivenData | None = None) -> RunData:
    """Step 1, before any model is loaded (problems with the data must not cost a model load): every task's
    training table, its loss (given or chosen from the format), the label checks, the subsample and the dev data."""
    return RunData(load_tasks(config, given))


def prepare_model(config: TrainConfig, data: RunData, model: Any = None) -> RunParts:
    """Step 2: the start model (or a new tower, or the ``model`` given), each task's training examples (with a
    teacher's targets if its loss needs one) and loss, and the dev metric."""
    from transformers import set_seed

    from textsiam.training.examples import build_examples

    if config.model_type == "cross_encoder":
        from textsiam.training.cross_encoder_parts import prepare_cross_encoder

        return RunParts(*prepare_cross_encoder(config, data, model))
    set_seed(config.seed)
    if model is None:
        model = build_model(config)
        base_model = "all-MiniLM-L6-v2 (embedded)" if config.model is None else str(config.model)
        if config.model is not None and Path(str(config.model)).expanduser().exists():
            base_model = f"{Path(str(config.model)).name} (a local model folder)"  # no path of this machine
        if config.encoder != "transformer":
            base_model = f"a new {config.encoder} tower (tokenizer and initial word embeddings from {base_model})"
    else:
        base_model = Path(str(getattr(model, "name_or_path", "") or "a model given from Python")).name
    if model.calibrator is not None:  # fine-tuning changes the scores: a calibrator of the start model would lie
        logger.warning("dropping the start model's calibrator; calibrate the fine-tuned model on dev again")
        model.calibrator = None
    examples = {}
    for task in data.tasks:
        teacher = build_teacher(task.config, model)
        examples[task.name] = build_examples(
            task.config, task.train, score_range=task.score_range, model=model, teacher=teacher
        )
        del teacher
        what = f"{task.name}: " if data.multi else ""
        logger.info("%straining examples: %s", what, examples[task.name].description)
    set_seed(config.seed)
    losses = {}
    for task in data.tasks:
        if task.loss_object is not None:
            check_loss_object(task.loss_object, model, examples[task.name].num_labels, task.name)
            losses[task.name] = task.loss_object
        else:
            losses[task.name] = build_loss(task.config, model, examples[task.name].num_labels)
    prompts = task_prompts(config.prompts, [task.name for task in data.tasks], data.multi)
    metric = run_dev_metric(data.tasks, model, prompts)
    return RunParts(model, base_model, examples, losses, metric, prompts)


def fit_step(
    config: TrainConfig,
    out: Path,
    parts: RunParts,
    checkpoint: str | None,
    callbacks: list[Any] | None,
    show_progress: bool = True,
    save: bool = True,
) -> tuple[Any, TrainResult, dict[str, Any] | None]:
    """Step 3: ``SiameseTrainer.train`` (checkpoints in ``output_dir/checkpoints``, resumed from ``checkpoint``;
    with ``save=False`` no checkpoints: the best weights are kept in memory).

    Returns ``(trainer, result, start_state)``; ``start_state`` is the start weights when WiSE-FT needs them.
    """
    from transformers import EarlyStoppingCallback

    from textsiam.training.augment import TextAugmenter
    from textsiam.training.best_state import KeepBestInMemory
    from textsiam.training.collator import SiameseDataCollator
    from textsiam.training.multitask import MultiTaskCollator, MultiTaskDataset
    from textsiam.training.trainer import LogToLogger, SiameseTrainer, SiameseTrainingModel

    model, metric = parts.model, parts.dev_metric
    augmenter = TextAugmenter(config.augment, config.augment_prob, config.seed)
    if config.model_type == "cross_encoder":  # pairs tokenised together, their logits into the loss
        from textsiam.training.cross_encoder_parts import CrossEncoderDataCollator as Collator
        from textsiam.training.cross_encoder_parts import CrossEncoderTrainingModel as TrainingModel

        collators = {name: Collator(model, ex.label_dtype, augmenter) for name, ex in parts.examples.items()}
    else:
        TrainingModel = SiameseTrainingModel  # noqa: N806
        collators = {
            name: SiameseDataCollator(
                model.encoder.tokenize, label_dtype=ex.label_dtype, augmenter=augmenter, prompt=parts.prompts[name]
            )
            for name, ex in parts.examples.items()
        }
    all_callbacks = list(callbacks or [])
    if config.early_stopping_patience is not None:
        all_callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    metric_name = metric.metric_name if metric is not None else None
    args = training_arguments(config, out, metric_name, show_progress, save=save)
    multi = len(parts.examples) > 1
    views = {name: ex for name, ex in parts.examples.items()}
    if multi:
        dataset: Any = MultiTaskDataset({name: ex.dataset for name, ex in views.items()})
        collator: Any = MultiTaskCollator(collators)
        loss: Any = parts.loss
        no_duplicates: Any = {name: _no_duplicates(config, name) for name in views}
    else:
        name = next(iter(views))
        dataset, collator, loss = views[name].dataset, collators[name], parts.loss[name]
        no_duplicates = _no_duplicates(config, name)
    module = TrainingModel(model, loss)
    keeper = KeepBestInMemory(module, metric_name) if (not save and metric_name is not None) else None
    if keeper is not None:
        all_callbacks.append(keeper)
    trainer = SiameseTrainer(
        model=module,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        dev_metric=metric,
        no_duplicates=no_duplicates,
        fgm_epsilon=config.fgm_epsilon,
        multi_dataset_batch_sampler=config.multi_dataset_batch_sampler,
        callbacks=all_callbacks,
    )
    if not show_progress:  # the Trainer would print each log dict to stdout: log it instead
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
        trainer.add_callback(LogToLogger())
    if args.world_size > 1:
        import torch.distributed as dist

        backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else "?"
        logger.info(
            "distributed training: process %d of %d (local rank %d, %s backend), %d examples per device per step",
            args.process_index,
            args.world_size,
            args.local_process_index,
            backend,
            config.batch_size,
        )
    if save and trainer.is_world_process_zero():
        out.mkdir(parents=True, exist_ok=True)
        config.to_file(out / CONFIG_FILE)
    start_state = None
    if config.wise_alphas and trainer.is_world_process_zero():
        start_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    start = time.perf_counter()
    try:
        output = trainer.train(resume_from_checkpoint=checkpoint)
    except BaseException:
        model.eval()  # a failed or interrupted run leaves the model as it came in: in eval mode
        raise
    wall = time.perf_counter() - start
    state = trainer.state
    if keeper is not None:
        keeper.restore()
    result = TrainResult(
        output_dir=out if save else None,
        model_dir=out / MODEL_DIR if save else None,
        config=config,
        global_step=state.global_step,
        train_loss=float(output.training_loss),
        train_wall_time_s=round(wall, 3),
        best_checkpoint=state.best_model_checkpoint if save else None,
        best_metric=state.best_metric,
        metric_name=metric_name,
        dev_history=list(trainer.dev_history),
        log_history=list(state.log_history),
        examples=parts.description,
    )
    return trainer, result, start_state


def keep_prompts(model: Any, prompts: Any) -> None:
    """Give the trained ``model`` its training prompts as named prompts (a one-string ``prompts`` becomes its
    default prompt), so that ``encode`` can encode as training did and a saved model keeps them."""
    named, default = model_prompts(prompts)
    if not named:
        return
    model.prompts = {**model.prompts, **named}
    if default is not None:
        model.default_prompt_name = default
    logger.info("the model keeps its training prompts: %s", named)


def _no_duplicates(config: TrainConfig, task: str) -> bool:
    from textsiam.training.tasks import task_views

    return task_views(config)[task].use_no_duplicates if config.train_datasets else config.use_no_duplicates


def finish(
    config: TrainConfig,
    out: Path | None,
    data: RunData,
    parts: RunParts,
    trainer: Any,
    result: TrainResult,
    start_state: dict[str, Any] | None,
    command: str | None,
) -> TrainResult:
    """Step 4 (main process only): weight averaging on dev if asked, then save the best model, evaluate it on
    dev and the test sets, and write the model card (``out=None``: evaluate only, write nothing)."""
    from textsiam.training.card import write_model_card
    from textsiam.version import package_versions

    state, final, metric = trainer.state, trainer.siamese_model, parts.dev_metric
    final.eval()  # the model leaves training as it came in: in eval mode
    result.model = final
    keep_prompts(final, config.prompts)
    if out is None:
        result.evaluation = evaluate_final(config, final, data.tasks, None, parts.prompts)
        return result
    if (config.checkpoint_soup or config.wise_alphas) and metric is not None:
        from textsiam.training.averaging import apply_averaging, dev_values_from_log, list_checkpoints

        report = apply_averaging(
            final,
            lambda: float(metric(final)),
            checkpoints=list_checkpoints(out / CHECKPOINTS_DIR),
            dev_values=dev_values_from_log(state.log_history, metric.metric_name),
            best_dev=state.best_metric,
            soup=config.checkpoint_soup,
            wise_alphas=config.wise_alphas,
            start_state=start_state,
            metric_name=metric.metric_name,
        )
        result.averaging = report.to_dict()
    final.save(out / MODEL_DIR, overwrite=True)  # the run's folder: files that --overwrite kept there stay
    final.name_or_path = str(out / MODEL_DIR)  # the records below name the saved model, not the start
    (out / "train_log.json").write_text(json.dumps(state.log_history, indent=2) + "\n", encoding="utf-8")
    evaluation = evaluate_final(config, final, data.tasks, out / MODEL_DIR, parts.prompts)
    if evaluation is not None:
        evaluation.save(out / "evaluation.json")
        (out / "evaluation.md").write_text(evaluation.to_markdown() + "\n", encoding="utf-8")
    result.evaluation = evaluation
    write_model_card(
        out / MODEL_DIR,
        {
            "config": config.to_dict(),
            "base_model": parts.base_model,
            "examples": parts.description,
            "evaluation": evaluation,
            "train_wall_time_s": result.train_wall_time_s,
            "global_step": state.global_step,
            "best_checkpoint": state.best_model_checkpoint,
            "best_metric": state.best_metric,
            "metric_name": result.metric_name,
            "dev_history": result.dev_history,
            "averaging": result.averaging,
            "tasks": {t.name: t.describe() for t in data.tasks},
            "command": command or _default_command(out / CONFIG_FILE, out),
            "config_file": CONFIG_FILE,
            "versions": package_versions(),
        },
    )
    logger.info("saved the model to %s (%d steps, %.1fs)", out / MODEL_DIR, state.global_step, result.train_wall_time_s)
    return result
