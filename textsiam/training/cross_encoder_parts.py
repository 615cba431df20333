"""A cross-encoder in the training run: its model step, its head, its batches and its training module.

:func:`textsiam.fit` with a :class:`~textsiam.CrossEncoder`, and a recipe with ``model_type: cross_encoder``, run the
same :func:`~textsiam.training.run.run` as a twin tower: data (the labelled pairs, the loss given or chosen, the
labels checked and scaled as for a twin tower), then :func:`prepare_cross_encoder` (this module's model step), then
the same :class:`~textsiam.training.trainer.SiameseTrainer` (seeded batches, checkpoints, resume, the dev metric
picking the best checkpoint), then the same finish (save, evaluation, model card). What differs is here:

* the batches: each pair tokenised together, ``[CLS] a [SEP] b [SEP]`` (:class:`CrossEncoderDataCollator`);
* the training module: the cross-encoder's logits into the loss (:class:`CrossEncoderTrainingModel`);
* the head: one output for ``binary_cross_entropy`` and ``cross_encoder_mse``, one per class for ``cross_entropy``
  (:func:`fit_head`: a new head is made again from the run's seed, to fit; a trained head that does not fit is an
  error).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from textsiam.training.augment import TextAugmenter
from textsiam.training.collator import LABEL_DTYPES, SiameseDataCollator
from textsiam.training.config import ConfigError, TrainConfig
from textsiam.training.trainer import SiameseTrainingModel

logger = logging.getLogger(__name__)

__all__ = [
    "CrossEncoderDataCollator",
    "CrossEncoderTrainingModel",
    "build_cross_encoder",
    "fit_head",
    "head_is_trained",
    "prepare_cross_encoder",
]


class CrossEncoderDataCollator(SiameseDataCollator):
    """Tokenise each ``(text_a, text_b)`` row of a batch as one input, ``[CLS] a [SEP] b [SEP]``, and stack the labels.

    The tokenisation is the cross-encoder's own (:meth:`CrossEncoder.tokenize <textsiam.CrossEncoder.tokenize>`: cut
    at ``max_length``, the longer text first), without moving the batch to a device (the Trainer does).

    Args:
        model: the :class:`~textsiam.CrossEncoder` (its tokenizer, ``max_length`` and model inputs).
        label_dtype: ``"float"`` (0/1 labels, scores) or ``"long"`` (class ids).
        augmenter: optional :class:`~textsiam.training.augment.TextAugmenter` applied to every text.
        label_column: the row key holding the label.

    The batch is ``{"features": {input_ids, attention_mask[, token_type_ids]}, "labels": tensor}``.
    """

    def __init__(
        self,
        model: Any,
        label_dtype: str = "float",
        augmenter: TextAugmenter | None = None,
        label_column: str = "label",
    ) -> None:
        super().__init__(self.tokenize_pairs, label_dtype=label_dtype, augmenter=augmenter, label_column=label_column)
        self.tokenizer = model.tokenizer
        self.max_length = int(model.max_length)
        self.inputs = model.model_inputs()

    def tokenize_pairs(self, first: list[str], second: list[str]) -> tuple[dict[str, torch.Tensor], int]:
        """``(features, n_truncated)`` of the pairs ``(first[i], second[i])``."""
        batch = self.tokenizer(
            first, second, padding=True, truncation="longest_first", max_length=self.max_length, return_tensors="pt"
        )
        encodings = getattr(batch, "encodings", None) or []
        n_truncated = sum(1 for e in encodings if e.overflowing)
        return {k: v for k, v in batch.items() if k in self.inputs}, n_truncated

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if not rows:
            raise ValueError("cannot collate an empty batch")
        if "text_a" not in rows[0] or "text_b" not in rows[0]:
            raise KeyError(f"a cross-encoder trains on pairs: rows need 'text_a' and 'text_b', got {sorted(rows[0])}")
        first, second = self._texts(rows, "text_a", 0), self._texts(rows, "text_b", 1)
        features, n_truncated = self.tokenize_pairs(first, second)
        self._count_truncated(n_truncated)
        if self.label_column not in rows[0]:
            raise KeyError(f"training rows need a {self.label_column!r} column for the loss, got {sorted(rows[0])}")
        labels = torch.tensor([row[self.label_column] for row in rows], dtype=LABEL_DTYPES[str(self.label_dtype)])
        return {"features": features, "labels": labels}

    def __repr__(self) -> str:
        return f"CrossEncoderDataCollator(label_dtype={self.label_dtype!r}, max_length={self.max_length})"


class CrossEncoderTrainingModel(SiameseTrainingModel):
    """The cross-encoder and its loss as one module (what :class:`~textsiam.training.trainer.SiameseTrainer`
    optimises): ``forward(features, labels) -> {"loss": loss(cross_encoder(features), labels)}``.

    Checkpoint keys: ``model.*`` (the cross-encoder: ``model.model.*``, its transformer and head) and ``loss.*``.
    """

    def __init__(self, model: nn.Module, loss: nn.Module) -> None:
        if getattr(loss, "model_type", None) != "cross_encoder":
            raise TypeError(f"{type(loss).__name__} is not a cross-encoder loss (textsiam.losses.cross_encoder)")
        super().__init__(model, loss)  # type: ignore[arg-type]

    def forward(  # type: ignore[override]
        self, features: dict[str, torch.Tensor], labels: torch.Tensor | None = None, task: str | None = None
    ) -> dict[str, torch.Tensor]:
        logits = self.model(features)  # (B, num_labels), with autograd
        return {"loss": self.loss(logits, labels)}


# ---------------------------------------------------------------------------------------------- the model step
def build_cross_encoder(config: TrainConfig) -> Any:
    """The start cross-encoder of a recipe: ``config.model`` with its head, or an encoder with a new head (``None``:
    the embedded all-MiniLM-L6-v2); ``max_seq_length`` sets its ``max_length``."""
    from textsiam.model.cross_encoder import CrossEncoder

    return CrossEncoder(config.model, max_length=config.max_seq_length, device="cpu")


def describe_start(config: TrainConfig) -> str:
    """The start model, for the model card (no path of this machine)."""
    if config.model is None:
        return "all-MiniLM-L6-v2 (embedded)"
    if Path(str(config.model)).expanduser().exists():
        return f"{Path(str(config.model)).name} (a local model folder)"
    return str(config.model)


def head_is_trained(model: Any) -> bool:
    """Whether the cross-encoder's head was trained (its config names a ``*ForSequenceClassification``
    architecture, as a saved cross-encoder's does), rather than new on an encoder."""
    return any(str(a).endswith("ForSequenceClassification") for a in (model.config.architectures or []))


def fit_head(model: Any, loss: str, n_classes: int) -> None:
    """Make the head fit ``loss``: one output for a loss on one logit, at least ``n_classes`` for ``cross_entropy``.

    A new head (see :func:`head_is_trained`) is always made again, of the size the loss needs (or the size it has,
    when that fits), from the random state the caller seeded: its weights then depend on the run's seed alone, not
    on the random state when the model was built, so that ``fit(CrossEncoder(encoder))`` and a recipe starting from
    the same encoder begin with the same head. A trained head that fits is kept; one that does not fit is an error.
    The head counts as trained from then on.

    Raises:
        ConfigError: a trained head whose ``num_labels`` does not fit the loss and the data.
    """
    from textsiam.losses import LOSSES

    single = getattr(LOSSES[loss], "single_logit", True)
    have = model.num_labels
    needed = 1 if single else max(2, n_classes)
    fits = have == needed or (not single and have > needed)
    trained = head_is_trained(model)
    if trained and not fits:
        if single:
            fix = "for a head of several classes use loss 'cross_entropy'"
            need = "one output (num_labels=1)"
        else:
            fix = f"start from an encoder without a head (a new head gets {needed} outputs) or from a head of {needed}"
            need = f"one output per class: the training data has {needed} classes"
        name = Path(str(getattr(model, "name_or_path", "") or "the model")).name
        problem = f"loss {loss!r} needs a cross-encoder with {need}, but the trained head of {name} has {have}"
        raise ConfigError([f"{problem}; {fix}"])
    if not trained:
        if fits:
            needed = have  # a new head of more outputs than classes (num_labels= given) keeps its size
        else:
            logger.warning(
                "the new head of the cross-encoder gets %d output(s) for loss %r (it had %d)", needed, loss, have
            )
        new_head(model, needed)  # drawn from the run's seed (set by the caller), however the model was built
    model.config.architectures = [type(model.model).__name__]


def new_head(model: Any, num_labels: int) -> None:
    """Replace the cross-encoder's (untrained) head by a new one of ``num_labels`` outputs, drawn from the current
    random state; the transformer's weights stay. The activation follows, if it was the default (``Sigmoid`` for
    one label, ``Identity`` for several)."""
    from transformers import AutoModelForSequenceClassification

    old = model.model
    was_default = type(model.activation_fn) is type(model.default_activation())
    config = copy.deepcopy(old.config)
    config.num_labels = num_labels  # resets id2label / label2id
    new = AutoModelForSequenceClassification.from_config(config)
    new.base_model.load_state_dict(old.base_model.state_dict())
    new.to(device=next(old.parameters()).device, dtype=next(old.parameters()).dtype)
    new.train(old.training)
    model.model = new
    if was_default:
        model.activation_fn = model.default_activation()


def prepare_cross_encoder(config: TrainConfig, data: Any, model: Any = None) -> tuple[Any, ...]:
    """The model step of a cross-encoder run: ``(model, base_model, examples, losses, dev_metric, prompts)``, the
    fields of :class:`~textsiam.training.run.RunParts`.

    Raises:
        ConfigError: a trained head that does not fit the loss, a loss that cannot be built from its arguments, or
            test sets for a head of three or more classes.
    """
    from transformers import set_seed

    from textsiam.losses import get_loss
    from textsiam.training.class_accuracy import needs_class_accuracy
    from textsiam.training.examples import build_examples

    (task,) = data.tasks  # one task: train_datasets is refused for a cross-encoder by the config checks
    set_seed(config.seed)
    examples = build_examples(task.config, task.train, score_range=task.score_range)
    logger.info("training examples: %s", examples.description)
    base_model = describe_start(config)
    if model is None:
        model = build_cross_encoder(config)
    else:
        base_model = Path(str(getattr(model, "name_or_path", "") or "a model given from Python")).name
    set_seed(config.seed)  # a new head is the same for the same seed, whether the model came loaded or not
    fit_head(model, task.config.loss, examples.num_labels or 2)
    loss = task.loss_object
    if loss is None:
        try:
            loss = get_loss(task.config.loss, **task.config.loss_kwargs)
        except (TypeError, ValueError) as err:
            problem = f"cannot build loss {task.config.loss!r} with {task.config.loss_kwargs}: {err}"
            raise ConfigError([problem]) from err
    if needs_class_accuracy(model) and config.test_datasets:
        raise ConfigError(
            [
                "test_datasets: the benchmarks score a pair with one number against 0/1 or graded labels, which a "
                f"head of {model.num_labels} classes does not give; evaluate it on class labels as dev data, or with "
                "textsiam.evaluation.evaluate(model, ..., positive_label=...)"
            ]
        )
    metric = dev_metric(config, task, model)
    return model, base_model, {task.name: examples}, {task.name: loss}, metric, {task.name: ""}


def dev_metric(config: TrainConfig, task: Any, model: Any) -> Any:
    """The dev metric of a cross-encoder run: an evaluator given from Python, the class accuracy for a head of three
    or more classes, else the evaluation's primary metric of the dev pairs (``cross_encoder_spearman``,
    ``cross_encoder_accuracy``, ...); ``None`` without dev data."""
    from textsiam.training.class_accuracy import ClassAccuracyMetric, needs_class_accuracy
    from textsiam.training.dev import EvaluatorMetric, named_for
    from textsiam.training.dev import dev_metric as pair_dev_metric

    if task.dev_evaluator is not None:
        return EvaluatorMetric(named_for(task.dev_evaluator, model))
    if task.dev is None:
        return None
    if needs_class_accuracy(model):
        return ClassAccuracyMetric(task.dev, config.eval_batch_size, str(task.config.dev_dataset))
    return named_for(pair_dev_metric(task.config, model, task.dev, task.dev_task), model)
