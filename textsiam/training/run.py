"""One training run end to end: :func:`train`.

Order of work (so that mistakes fail early and cheaply):

1. :meth:`TrainConfig.validate` (no data, no model);
2. the output folder (refuses to overwrite unless asked; finds the checkpoint to resume from);
3. data: load, check the labels against the loss, subsample;
4. model (and teacher), training examples, loss, dev metric;
5. ``SiameseTrainer.train`` (checkpoints in ``output_dir/checkpoints``);
6. the best model (by the dev metric) to ``output_dir/model`` with :meth:`SiameseModel.save`, its evaluation
   on dev and the test sets to ``output_dir/evaluation.{json,md}``, and a model card
   ``output_dir/model/README.md``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textsiam.training.build import build_loss, build_model, build_teacher, check_bf16, training_arguments
from textsiam.training.checkpoint_check import check_resumable
from textsiam.training.config import ConfigError, TrainConfig
from textsiam.training.dev import dev_metric as make_dev_metric
from textsiam.training.dev import evaluate_final
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
from textsiam.training.sources import load_dev, load_source, subsample_logged

logger = logging.getLogger(__name__)

__all__ = ["CHECKPOINTS_DIR", "CONFIG_FILE", "MODEL_DIR", "RUN_ARTIFACTS", "TrainResult", "latest_checkpoint", "train"]


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes:
        output_dir: the run folder.
        model_dir: the saved best model (``output_dir/model``).
        config: the config that was run.
        global_step: optimiser steps taken (in total, including any resumed part).
        train_loss: mean training loss of this call.
        train_wall_time_s: wall time of ``Trainer.train`` in this call.
        best_checkpoint: the checkpoint chosen by the dev metric (``None`` without dev data).
        best_metric: its dev metric value.
        metric_name: name of the dev metric (e.g. ``cosine_spearman``).
        dev_history: one ``{"step", "epoch", metric}`` per dev evaluation of this call.
        log_history: ``transformers`` log entries (losses, learning rates, dev metrics).
        evaluation: final evaluation of the saved model (dev + test sets); ``None`` on non-main processes.
        examples: description of the training examples.
        averaging: report of the checkpoint soup / WiSE-FT step (``None`` when both are off).
    """

    output_dir: Path
    model_dir: Path
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


@dataclass
class RunData:
    """The data step's result: training pairs (with labels checked against the loss) and dev pairs."""

    train_pairs: Any
    score_range: Any
    dev_pairs: Any
    dev_task: str | None


@dataclass
class RunParts:
    """The model step's result: everything the Trainer needs, and what the finish step reports."""

    model: Any
    base_model: str
    examples: Any
    loss: Any
    dev_metric: Any


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
        ConfigError: an invalid config or labels that do not suit the loss (before any model is loaded).
        FileExistsError: ``output_dir`` holds a run and neither ``resume`` nor ``overwrite`` is set.
        FileNotFoundError: ``resume`` but no checkpoint.
        ValueError: the checkpoint to resume from holds a pickled file that is not a safe checkpoint (objects
            other than tensors and plain data) or is damaged; raised before anything is written.
    """
    config.validate()
    check_bf16(config)
    out = Path(config.output_dir).expanduser()
    checkpoint = prepare_output_dir(out, resume, overwrite, main_process=process_rank() == 0)
    if checkpoint:
        check_resumable(checkpoint)  # a poisoned or damaged checkpoint fails here, before anything is written
        warn_config_changes(config, out / CONFIG_FILE)
        logger.info("resuming from %s", checkpoint)
    data = prepare_data(config)
    parts = prepare_model(config, data)
    trainer, result, start_state = fit(config, out, parts, checkpoint, callbacks, show_progress)
    if not trainer.is_world_process_zero():
        return result
    return finish(config, out, data, parts, trainer, result, start_state, command)


def prepare_data(config: TrainConfig) -> RunData:
    """Step 1, before any model is loaded (label problems must not cost a model load): the training pairs,
    checked against the loss and subsampled, and the dev pairs."""
    from textsiam.training.labels import check_label_compatibility

    train_pairs, _, score_range = load_source(config.train_dataset, config.train_split, config, config.label_column)
    problems = check_label_compatibility(config, None, "train_dataset", labels=train_pairs["label"])
    if problems:
        raise ConfigError(problems)
    train_pairs = subsample_logged(train_pairs, config.max_train_pairs, config.seed, "train")
    dev_pairs, dev_task = load_dev(config)
    return RunData(train_pairs, score_range, dev_pairs, dev_task)


def prepare_model(config: TrainConfig, data: RunData) -> RunParts:
    """Step 2: the start model (or a new tower), the training examples (with a teacher's targets if the loss
    needs one), the loss and the dev metric."""
    from transformers import set_seed

    from textsiam.training.examples import build_examples

    set_seed(config.seed)
    model = build_model(config)
    if model.calibrator is not None:  # fine-tuning changes the scores: a calibrator of the start model would lie
        logger.warning("dropping the start model's calibrator; calibrate the fine-tuned model on dev again")
        model.calibrator = None
    base_model = "all-MiniLM-L6-v2 (embedded)" if config.model is None else str(config.model)
    if config.model is not None and Path(str(config.model)).expanduser().exists():
        base_model = f"{Path(str(config.model)).name} (a local model folder)"  # no path of this machine in the card
    if config.encoder != "transformer":
        base_model = f"a new {config.encoder} tower (tokenizer and initial word embeddings from {base_model})"
    teacher = build_teacher(config, model)
    examples = build_examples(config, data.train_pairs, score_range=data.score_range, model=model, teacher=teacher)
    del teacher
    logger.info("training examples: %s", examples.description)
    set_seed(config.seed)
    loss = build_loss(config, model, examples.num_labels)
    metric = make_dev_metric(config, model, data.dev_pairs, data.dev_task) if data.dev_pairs is not None else None
    return RunParts(model, base_model, examples, loss, metric)


def fit(
    config: TrainConfig,
    out: Path,
    parts: RunParts,
    checkpoint: str | None,
    callbacks: list[Any] | None,
    show_progress: bool = True,
) -> tuple[Any, TrainResult, dict[str, Any] | None]:
    """Step 3: ``SiameseTrainer.train`` (checkpoints in ``output_dir/checkpoints``, resumed from ``checkpoint``).

    Returns ``(trainer, result, start_state)``; ``start_state`` is the start weights when WiSE-FT needs them.
    """
    from transformers import EarlyStoppingCallback

    from textsiam.training.augment import TextAugmenter
    from textsiam.training.collator import SiameseDataCollator
    from textsiam.training.trainer import LogToLogger, SiameseTrainer, SiameseTrainingModel

    model, metric = parts.model, parts.dev_metric
    collator = SiameseDataCollator(
        model.encoder.tokenize,
        label_dtype=parts.examples.label_dtype,
        augmenter=TextAugmenter(config.augment, config.augment_prob, config.seed),
    )
    all_callbacks = list(callbacks or [])
    if config.early_stopping_patience is not None:
        all_callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    args = training_arguments(config, out, metric.metric_name if metric is not None else None, show_progress)
    trainer = SiameseTrainer(
        model=SiameseTrainingModel(model, parts.loss),
        args=args,
        train_dataset=parts.examples.dataset,
        data_collator=collator,
        dev_metric=metric,
        no_duplicates=config.use_no_duplicates,
        fgm_epsilon=config.fgm_epsilon,
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
    if trainer.is_world_process_zero():
        out.mkdir(parents=True, exist_ok=True)
        config.to_file(out / CONFIG_FILE)
    start_state = None
    if config.wise_alphas and trainer.is_world_process_zero():
        start_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=checkpoint)
    wall = time.perf_counter() - start
    state = trainer.state
    result = TrainResult(
        output_dir=out,
        model_dir=out / MODEL_DIR,
        config=config,
        global_step=state.global_step,
        train_loss=float(output.training_loss),
        train_wall_time_s=round(wall, 3),
        best_checkpoint=state.best_model_checkpoint,
        best_metric=state.best_metric,
        metric_name=metric.metric_name if metric is not None else None,
        dev_history=list(trainer.dev_history),
        log_history=list(state.log_history),
        examples=parts.examples.description,
    )
    return trainer, result, start_state


def finish(
    config: TrainConfig,
    out: Path,
    data: RunData,
    parts: RunParts,
    trainer: Any,
    result: TrainResult,
    start_state: dict[str, Any] | None,
    command: str | None,
) -> TrainResult:
    """Step 4 (main process only): weight averaging on dev if asked, then save the best model, evaluate it on
    dev and the test sets, and write the model card."""
    from textsiam.training.card import write_model_card
    from textsiam.version import package_versions

    state, final, metric = trainer.state, trainer.siamese_model, parts.dev_metric
    final.eval()  # the model leaves training as it came in: in eval mode
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
    evaluation = evaluate_final(config, final, data.dev_pairs, data.dev_task, out / MODEL_DIR)
    if evaluation is not None:
        evaluation.save(out / "evaluation.json")
        (out / "evaluation.md").write_text(evaluation.to_markdown() + "\n", encoding="utf-8")
    result.evaluation = evaluation
    write_model_card(
        out / MODEL_DIR,
        {
            "config": config.to_dict(),
            "base_model": parts.base_model,
            "examples": parts.examples.description,
            "evaluation": evaluation,
            "train_wall_time_s": result.train_wall_time_s,
            "global_step": state.global_step,
            "best_checkpoint": state.best_model_checkpoint,
            "best_metric": state.best_metric,
            "metric_name": result.metric_name,
            "dev_history": result.dev_history,
            "averaging": result.averaging,
            "command": command or _default_command(out / CONFIG_FILE, out),
            "config_file": CONFIG_FILE,
            "versions": package_versions(),
        },
    )
    logger.info("saved the model to %s (%d steps, %.1fs)", out / MODEL_DIR, state.global_step, result.train_wall_time_s)
    return result
