"""The parts of a run built from its config: the model (or a new tower), the teacher, the loss, the Trainer's
arguments. What a loss needs is read from its class attributes (:class:`~textsiam.losses.SiameseLoss`)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from textsiam.training.config import ConfigError, TrainConfig
from textsiam.training.run_folder import CHECKPOINTS_DIR

logger = logging.getLogger(__name__)


def training_arguments(
    config: TrainConfig, out: Path, metric_name: str | None, show_progress: bool = True, save: bool = True
) -> Any:
    """The ``TrainingArguments`` of a run; ``save=False``: no checkpoints (the best weights are kept in memory)."""
    import torch
    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    if metric_name is None:
        strategy = "no"
    else:
        strategy = "steps" if config.eval_steps else "epoch"
    save_strategy = ("steps" if config.eval_steps else "epoch") if metric_name is None else strategy
    if not save:
        save_strategy = "no"
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
        load_best_model_at_end=metric_name is not None and save,
        metric_for_best_model=metric_name,
        greater_is_better=True if metric_name is not None else None,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        report_to="none",
        disable_tqdm=not show_progress,
        remove_unused_columns=False,
        dataloader_num_workers=config.dataloader_num_workers,
        use_cpu=not torch.cuda.is_available(),
    )
    if config.eval_steps:
        if save:
            kwargs["save_steps"] = config.eval_steps
        if metric_name is not None:
            kwargs["eval_steps"] = config.eval_steps
    if "warmup_ratio" in names:  # transformers 4.x
        kwargs["warmup_ratio"] = config.warmup_ratio
    else:  # transformers 5.x: a float < 1 is a ratio
        kwargs["warmup_steps"] = config.warmup_ratio
    return TrainingArguments(**kwargs)


def check_bf16(config: TrainConfig) -> None:
    import torch

    if not config.bf16:
        return
    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        raise ConfigError(["bf16=true but this GPU does not support bfloat16; set bf16: false"])
    if not torch.cuda.is_available():
        logger.warning("bf16 on CPU: bfloat16 autocast works but is rarely faster than float32")


def build_model(config: TrainConfig) -> Any:
    """The start model: ``config.model`` as loaded, or (``encoder: lstm | cnn``) a new tower on its tokenizer."""
    from textsiam.model.siamese import SiameseModel

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


def build_loss(config: TrainConfig, model: Any, num_labels: int | None) -> Any:
    from textsiam.losses import LOSSES, get_loss

    kwargs = dict(config.loss_kwargs)
    if LOSSES[config.loss].has_classifier_head:
        kwargs.setdefault("embedding_dim", model.embedding_dim)
        kwargs.setdefault("num_labels", num_labels or 2)
    try:
        return get_loss(config.loss, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError([f"cannot build loss {config.loss!r} with {kwargs}: {err}"]) from err


def build_teacher(config: TrainConfig, model: Any) -> Any:
    """The teacher whose embeddings are the targets of a loss that needs one (``needs_teacher``), else ``None``."""
    from textsiam.losses import LOSSES
    from textsiam.model.siamese import SiameseModel

    if not LOSSES[config.loss].needs_teacher:
        return None
    teacher = SiameseModel.from_pretrained(config.teacher_model)
    if teacher.embedding_dim != model.embedding_dim:
        raise ConfigError([f"teacher embeddings have dim {teacher.embedding_dim}, the student's {model.embedding_dim}"])
    return teacher


def check_loss_object(loss: Any, model: Any, num_labels: int | None, task: str) -> None:
    """A loss object given from Python fits the model and the data: its head's input size and class count.

    Raises:
        ConfigError: ``embedding_dim`` is not the model's, or ``num_labels`` is below the data's class count.
    """
    problems = []
    dim = getattr(loss, "embedding_dim", None)
    if isinstance(dim, int) and dim != model.embedding_dim:
        problems.append(f"the loss object's embedding_dim is {dim}, the model's embeddings have {model.embedding_dim}")
    classes = getattr(loss, "num_labels", None)
    if isinstance(classes, int) and num_labels is not None and classes < num_labels:
        problems.append(f"the loss object has num_labels={classes}, but the data has {num_labels} classes")
    if problems:
        raise ConfigError([f"{task}: {p}" if task != "train" else p for p in problems])
