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

import dataclasses
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from textsiam.training.config import ConfigError, TrainConfig, dataset_task, is_file_dataset

logger = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"
CONFIG_FILE = "train_config.yaml"
#: What :func:`train` writes into ``output_dir`` (removed by ``overwrite=True``).
RUN_ARTIFACTS = (CHECKPOINTS_DIR, MODEL_DIR, CONFIG_FILE, "evaluation.json", "evaluation.md", "train_log.json")

__all__ = ["TrainResult", "latest_checkpoint", "train"]


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


# ---------------------------------------------------------------------------------------------- folders
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
        m = re.fullmatch(r"checkpoint-(\d+)", p.name)
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


def _process_rank() -> int:
    """Global rank of this process under ``torchrun`` (``RANK``); 0 in a plain single-process run."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _prepare_output_dir(out: Path, resume: bool | str, overwrite: bool, main_process: bool = True) -> str | None:
    """Check / clean the run folder; return the checkpoint to resume from (``None`` for a fresh run).

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
            raise FileNotFoundError(f"nothing to resume: no complete checkpoint in {out / CHECKPOINTS_DIR}")
        return str(ckpt)
    if not main_process:
        return None
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"output_dir {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"output_dir {out} already exists and is not empty; pass --overwrite to replace the run in it, "
                "or --resume to continue it"
            )
        for name in RUN_ARTIFACTS:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        logger.info("overwriting the run in %s", out)
    return None


# ---------------------------------------------------------------------------------------------- data
def _load_source(name: str, split: str, config: TrainConfig, label_column: str) -> tuple[Any, str, Any]:
    """``(dataset with a 'label' column, task, score_range)`` for a benchmark name or a data file."""
    from textsiam.data import dataset_info, load_pairs, load_pairs_from_file
    from textsiam.training.examples import raw_label_kind

    if is_file_dataset(name):
        ds = load_pairs_from_file(name, label=label_column)
        kind = raw_label_kind(ds["label"])
        return ds, ("sts" if kind == "float" else "classification"), None
    info = dataset_info(name)
    ds = load_pairs(name, split, config.data_dir)
    if label_column != "label":
        if label_column not in ds.column_names:
            raise ValueError(f"{name}/{split} has no column {label_column!r}; columns: {ds.column_names}")
        ds = ds.remove_columns("label").rename_column(label_column, "label")
        return ds, info.task, None
    return ds, info.task, (tuple(info.score_range) if info.task == "sts" else None)


def _subsample(ds: datasets.Dataset, n: int | None, seed: int, what: str) -> datasets.Dataset:
    from textsiam.training.examples import subsample

    out = subsample(ds, n, seed)
    if len(out) < len(ds):
        logger.info("%s: using a seeded random subsample of %d of %d pairs", what, len(out), len(ds))
    return out


# ---------------------------------------------------------------------------------------------- pieces
def _training_arguments(config: TrainConfig, out: Path, metric_name: str | None) -> Any:
    import torch
    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    if metric_name is None:
        strategy = "no"
    else:
        strategy = "steps" if config.eval_steps else "epoch"
    save_strategy = ("steps" if config.eval_steps else "epoch") if metric_name is None else strategy
    kwargs: dict[str, Any] = dict(
        output_dir=str(out / CHECKPOINTS_DIR),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps else -1,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        bf16=config.bf16,
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy=strategy,
        save_strategy=save_strategy,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=metric_name is not None,
        metric_for_best_model=metric_name,
        greater_is_better=True if metric_name is not None else None,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=config.dataloader_num_workers,
        use_cpu=not torch.cuda.is_available(),
    )
    if config.eval_steps:
        kwargs["save_steps"] = config.eval_steps
        if metric_name is not None:
            kwargs["eval_steps"] = config.eval_steps
    if "warmup_ratio" in names:  # transformers 4.x
        kwargs["warmup_ratio"] = config.warmup_ratio
    else:  # transformers 5.x: a float < 1 is a ratio
        kwargs["warmup_steps"] = config.warmup_ratio
    return TrainingArguments(**kwargs)


def _check_bf16(config: TrainConfig) -> None:
    import torch

    if not config.bf16:
        return
    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        raise ConfigError(["bf16=true but this GPU does not support bfloat16; set bf16: false"])
    if not torch.cuda.is_available():
        logger.warning("bf16 on CPU: bfloat16 autocast works but is rarely faster than float32")


def _build_model(config: TrainConfig) -> Any:
    """The start model: ``config.model`` as loaded, or (``encoder: lstm | cnn``) a new tower on its tokenizer."""
    from textsiam.siamese import SiameseModel

    if config.encoder == "transformer":
        return SiameseModel.from_pretrained(
            config.model,
            pooling=config.pooling,
            similarity=config.similarity,
            max_seq_length=config.max_seq_length,
            device="cpu",
        )
    args = dict(config.encoder_args)
    if config.pooling is not None:
        args["pooling"] = config.pooling
    build = SiameseModel.lstm if config.encoder == "lstm" else SiameseModel.cnn
    return build(
        config.model,
        similarity=config.similarity or "cosine",
        max_seq_length=config.max_seq_length,
        device="cpu",
        seed=config.seed,
        **args,
    )


def _build_loss(config: TrainConfig, model: Any, num_labels: int | None) -> Any:
    from textsiam.losses import get_loss

    kwargs = dict(config.loss_kwargs)
    if config.loss == "softmax":
        kwargs.setdefault("embedding_dim", model.embedding_dim)
        kwargs.setdefault("num_labels", num_labels or 2)
    try:
        return get_loss(config.loss, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError([f"cannot build loss {config.loss!r} with {kwargs}: {err}"]) from err


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

    Returns:
        :class:`TrainResult`.

    Raises:
        ConfigError: an invalid config or labels that do not suit the loss (before any model is loaded).
        FileExistsError: ``output_dir`` holds a run and neither ``resume`` nor ``overwrite`` is set.
        FileNotFoundError: ``resume`` but no checkpoint.
    """
    from transformers import EarlyStoppingCallback, set_seed

    from textsiam.evaluation import EvaluationResults, evaluate, evaluate_dataset, package_versions
    from textsiam.siamese import SiameseModel
    from textsiam.training.augment import TextAugmenter
    from textsiam.training.card import write_model_card
    from textsiam.training.collator import SiameseDataCollator
    from textsiam.training.examples import build_examples, check_label_compatibility
    from textsiam.training.trainer import SiameseTrainer, SiameseTrainingModel

    config.validate()
    _check_bf16(config)
    out = Path(config.output_dir).expanduser()
    checkpoint = _prepare_output_dir(out, resume, overwrite, main_process=_process_rank() == 0)
    if checkpoint:
        _warn_config_changes(config, out / CONFIG_FILE)
        logger.info("resuming from %s", checkpoint)
    # ---- data (before the model: label problems must not cost a model load)
    train_pairs, _, score_range = _load_source(config.train_dataset, config.train_split, config, config.label_column)
    problems = check_label_compatibility(config, None, "train_dataset", labels=train_pairs["label"])
    if problems:
        raise ConfigError(problems)
    train_pairs = _subsample(train_pairs, config.max_train_pairs, config.seed, "train")
    dev_pairs, dev_task = _load_dev(config)

    # ---- model, examples, loss
    set_seed(config.seed)
    model = _build_model(config)
    if model.calibrator is not None:  # fine-tuning changes the scores: a calibrator of the start model would lie
        logger.warning("dropping the start model's calibrator; calibrate the fine-tuned model on dev again")
        model.calibrator = None
    base_model = str(config.model) if config.model is not None else f"all-MiniLM-L6-v2 (embedded: {model.name_or_path})"
    if config.encoder != "transformer":
        base_model = f"a new {config.encoder} tower (tokenizer and initial word embeddings from {base_model})"
    teacher = None
    if config.loss == "mse":
        teacher = SiameseModel.from_pretrained(config.teacher_model)
        if teacher.embedding_dim != model.embedding_dim:
            raise ConfigError(
                [f"teacher embeddings have dim {teacher.embedding_dim}, the student's {model.embedding_dim}"]
            )
    examples = build_examples(config, train_pairs, score_range=score_range, model=model, teacher=teacher)
    del teacher
    logger.info("training examples: %s", examples.description)
    set_seed(config.seed)
    loss = _build_loss(config, model, examples.num_labels)
    dev_metric = _dev_metric(config, model, dev_pairs, dev_task) if dev_pairs is not None else None
    collator = SiameseDataCollator(
        model.encoder.tokenize,
        label_dtype=examples.label_dtype,
        augmenter=TextAugmenter(config.augment, config.augment_prob, config.seed),
    )
    all_callbacks = list(callbacks or [])
    if config.early_stopping_patience is not None:
        all_callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    args = _training_arguments(config, out, dev_metric.metric_name if dev_metric is not None else None)
    trainer = SiameseTrainer(
        model=SiameseTrainingModel(model, loss),
        args=args,
        train_dataset=examples.dataset,
        data_collator=collator,
        dev_metric=dev_metric,
        no_duplicates=config.use_no_duplicates,
        fgm_epsilon=config.fgm_epsilon,
        callbacks=all_callbacks,
    )
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

    # ---- train
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=checkpoint)
    wall = time.perf_counter() - start
    state = trainer.state
    final = trainer.siamese_model
    result = TrainResult(
        output_dir=out,
        model_dir=out / MODEL_DIR,
        config=config,
        global_step=state.global_step,
        train_loss=float(output.training_loss),
        train_wall_time_s=round(wall, 3),
        best_checkpoint=state.best_model_checkpoint,
        best_metric=state.best_metric,
        metric_name=dev_metric.metric_name if dev_metric is not None else None,
        dev_history=list(trainer.dev_history),
        log_history=list(state.log_history),
        examples=examples.description,
    )
    if not trainer.is_world_process_zero():
        return result

    # ---- weight averaging (dev only), then save, evaluate, document
    if (config.checkpoint_soup or config.wise_alphas) and dev_metric is not None:
        from textsiam.training.averaging import apply_averaging, dev_values_from_log, list_checkpoints

        report = apply_averaging(
            final,
            lambda: float(dev_metric(final)),
            checkpoints=list_checkpoints(out / CHECKPOINTS_DIR),
            dev_values=dev_values_from_log(state.log_history, dev_metric.metric_name),
            best_dev=state.best_metric,
            soup=config.checkpoint_soup,
            wise_alphas=config.wise_alphas,
            start_state=start_state,
            metric_name=dev_metric.metric_name,
        )
        result.averaging = report.to_dict()
    final.save(out / MODEL_DIR)
    final.name_or_path = str(out / MODEL_DIR)  # the records below name the saved model, not the start
    (out / "train_log.json").write_text(json.dumps(state.log_history, indent=2) + "\n", encoding="utf-8")
    records = []
    eval_start = time.perf_counter()
    boot = {"n_resamples": config.n_resamples, "seed": config.seed, "batch_size": config.eval_batch_size}
    if dev_pairs is not None:
        records.append(
            evaluate_dataset(
                final,
                str(config.dev_dataset),
                config.dev_split,
                config.data_dir,
                pairs=dev_pairs,
                dev_pairs=dev_pairs if dev_task == "classification" else None,
                task=dev_task,
                **boot,
            )
        )
    if config.test_datasets:
        tests = evaluate(final, config.test_datasets, "test", config.data_dir, show_progress_bar=False, **boot)
        records += tests.results
    evaluation = None
    if records:
        evaluation = EvaluationResults(
            results=records,
            model=str(out / MODEL_DIR),
            split="+".join(dict.fromkeys(r["split"] for r in records)),
            seed=config.seed,
            n_resamples=config.n_resamples,
            wall_time_s=round(time.perf_counter() - eval_start, 3),
        )
        evaluation.save(out / "evaluation.json")
        (out / "evaluation.md").write_text(evaluation.to_markdown() + "\n", encoding="utf-8")
    result.evaluation = evaluation
    write_model_card(
        out / MODEL_DIR,
        {
            "config": config.to_dict(),
            "base_model": base_model,
            "examples": examples.description,
            "evaluation": evaluation,
            "train_wall_time_s": wall,
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
    logger.info("saved the model to %s (%d steps, %.1fs)", out / MODEL_DIR, state.global_step, wall)
    return result


def _load_dev(config: TrainConfig) -> tuple[Any, str | None]:
    """The (subsampled) dev pairs of ``config`` and their task; ``(None, None)`` without dev data."""
    if config.dev_dataset is None:
        return None, None
    pairs, task, _ = _load_source(config.dev_dataset, config.dev_split, config, "label")
    return _subsample(pairs, config.max_dev_pairs, config.seed, "dev"), task or dataset_task(config.dev_dataset)


def _dev_metric(config: TrainConfig, model: Any, pairs: Any, task: str | None) -> Any:
    """The dev metric that picks checkpoints (and averaged weights) for ``model``."""
    from textsiam.evaluation import DevMetric

    return DevMetric(
        config.dev_dataset,
        split=config.dev_split,
        batch_size=config.eval_batch_size,
        primary_similarity=model.similarity_fn_name,
        pairs=pairs,
        task=task,
    )


def _warn_config_changes(config: TrainConfig, saved_file: Path) -> None:
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
