"""``transformers.Trainer`` for the twin tower: loss computation, duplicate-free batches, FGM, dev-metric selection.

Everything generic (AdamW, warm-up and decay schedules, weight decay, gradient clipping and accumulation,
bf16 autocast, checkpointing and ``resume_from_checkpoint``, logging, DDP under ``torchrun``) is the
library's. This module adds only what is specific to Siamese training:

* :class:`SiameseTrainingModel`: one ``nn.Module`` holding the :class:`~textsiam.SiameseModel` *and* the loss,
  so parameters of a loss (SoftmaxLoss's classifier head) are optimised and checkpointed too. Its forward
  runs the same tower on every side of the example and returns ``{"loss": ...}``.
* :class:`SiameseTrainer`: a seeded :class:`~textsiam.training.sampler.SiameseBatchSampler` for the training
  batches, FGM adversarial training, evaluation by a dev metric (``eval_<metric>``, higher is better) for
  early stopping and best-model selection, and safetensors checkpoints of the wrapper's ``state_dict``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn
from torch.utils.data import DataLoader
from transformers import Trainer, TrainerCallback

from textsiam.io_utils import atomic_path
from textsiam.losses.base import BATCH_MODES
from textsiam.model.siamese import SiameseModel
from textsiam.training.collator import TEXT_COLUMNS
from textsiam.training.multitask import MultiTaskBatchSampler, MultiTaskDataset
from textsiam.training.sampler import SiameseBatchSampler

logger = logging.getLogger(__name__)

#: Task ``i`` of a multi-task run shuffles with ``seed + TASK_SEED_STRIDE * i``.
TASK_SEED_STRIDE = 1_000_003
#: Name of the weights file in a checkpoint (the name ``transformers.Trainer`` looks for when resuming).
CHECKPOINT_WEIGHTS = "model.safetensors"

__all__ = [
    "LogToLogger",
    "SiameseTrainer",
    "SiameseTrainingModel",
    "loss_mode",
    "run_loss",
    "word_embeddings",
]


class LogToLogger(TrainerCallback):
    """Sends the Trainer's log entries (loss, learning rate, dev metrics) to ``logging`` instead of stdout."""

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero and logs:
            shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items())
            logger.info("step %d: %s", state.global_step, shown)


def loss_mode(loss: nn.Module) -> str:
    """How ``loss`` consumes a batch: its :attr:`~textsiam.losses.SiameseLoss.batch_mode` (``pair``, ``triplet``,
    ``in_batch``, ``two_views``, ``single`` or ``teacher``). A plain ``nn.Module`` is a pair loss
    ``loss(emb_a, emb_b, labels)``."""
    mode = getattr(loss, "batch_mode", "pair")
    if mode not in BATCH_MODES:
        raise ValueError(f"{type(loss).__name__}.batch_mode is {mode!r}; choose one of {list(BATCH_MODES)}")
    return mode


class SiameseTrainingModel(nn.Module):
    """The twin tower and its loss (or one loss per task) as one module (what :class:`SiameseTrainer` optimises).

    ``forward(features_a, features_b=None, features_c=None, labels=None, task=None) -> {"loss": scalar}``: every
    ``features_*`` goes through the *same* ``model.embed``, so both (all three) sides share one parameter set.

    Args:
        model: the :class:`~textsiam.SiameseModel` to train.
        loss: a loss from :mod:`textsiam.losses` (its parameters, if any, are trained too), or ``{task: loss}`` for
            multi-task training, where each batch names its task (``task``).
    """

    _keys_to_ignore_on_save = None  # read by transformers.Trainer when a checkpoint misses keys

    def __init__(self, model: SiameseModel, loss: nn.Module | Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.model = model
        if isinstance(loss, Mapping):
            self.losses = nn.ModuleDict(dict(loss))  # checkpoint keys: losses.<task>.*
            self.modes = {name: loss_mode(fn) for name, fn in loss.items()}
        else:
            self.loss = loss  # checkpoint keys: loss.* (as before multi-task training)
            self.mode = loss_mode(loss)

    def forward(
        self,
        features_a: dict[str, torch.Tensor],
        features_b: dict[str, torch.Tensor] | None = None,
        features_c: dict[str, torch.Tensor] | None = None,
        labels: torch.Tensor | None = None,
        task: str | None = None,
    ) -> dict[str, torch.Tensor]:
        if hasattr(self, "losses"):
            if task not in self.modes:
                raise ValueError(f"batch of unknown task {task!r}; the tasks are {list(self.modes)}")
            loss_fn, mode = self.losses[task], self.modes[task]
        else:
            loss_fn, mode = self.loss, self.mode
        return {"loss": run_loss(self.model, loss_fn, mode, features_a, features_b, features_c, labels, self.training)}


def run_loss(
    tower: SiameseModel,
    loss_fn: nn.Module,
    mode: str,
    features_a: dict[str, torch.Tensor],
    features_b: dict[str, torch.Tensor] | None,
    features_c: dict[str, torch.Tensor] | None,
    labels: torch.Tensor | None,
    training: bool = True,
) -> torch.Tensor:
    """Embed every side of a batch with the one tower and apply ``loss_fn`` as its ``mode`` says."""
    name = type(loss_fn).__name__
    if mode == "two_views":
        if not training:
            logger.warning("two-view losses need dropout: the model is in eval mode, so both passes are identical")
        return loss_fn(tower.embed(features_a), tower.embed(features_a))  # two dropout masks
    if mode == "single":
        return loss_fn(tower.embed(features_a), labels)
    if mode == "teacher":
        emb_b = tower.embed(features_b) if features_b is not None else None
        return loss_fn(tower.embed(features_a), emb_b, labels=labels)
    if mode == "triplet":
        if features_b is None or features_c is None:
            raise ValueError("triplet losses need text_a, text_b and text_c (anchor, positive, negative)")
        return loss_fn(*tower.embed_many([features_a, features_b, features_c]))
    if mode == "in_batch":
        if features_b is None:
            raise ValueError(f"{name} needs (anchor, positive) pairs: text_a and text_b")
        sides = [features_a, features_b] + ([features_c] if features_c is not None else [])
        embs = tower.embed_many(sides)
        return loss_fn(embs[0], embs[1], negatives=embs[2] if len(embs) > 2 else None)
    if features_b is None:
        raise ValueError(f"{name} needs pairs: text_a and text_b")
    emb_a, emb_b = tower(features_a, features_b)
    return loss_fn(emb_a, emb_b, labels)


def word_embeddings(model: SiameseModel) -> nn.Embedding:
    """The word (token) embedding layer of a tower: FGM perturbs its weights."""
    emb = model.encoder.input_embeddings()
    if isinstance(emb, nn.Embedding):
        return emb
    raise ValueError(f"{type(model.encoder).__name__} has no nn.Embedding layer to perturb for FGM")


def _unshared(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU tensors; tensors that share storage (tied weights) are cloned for safetensors."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in state_dict.items():
        t = value.detach().cpu().contiguous()
        ptr = t.untyped_storage().data_ptr()
        if ptr in seen:
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[key] = t
    return out


class _DevMetricPlaceholder(torch.utils.data.Dataset):
    """Stands in for ``eval_dataset``: :meth:`SiameseTrainer.evaluate` scores the dev metric instead."""

    def __len__(self) -> int:
        return 0

    def __getitem__(self, index: int) -> Any:
        raise IndexError("SiameseTrainer evaluates with its dev_metric, not with an eval dataset")


class _ResumedDevHistory(TrainerCallback):
    """A resumed run's dev history starts with the evaluations before its checkpoint: they are read back from the
    checkpoint's training state (``trainer_state.json``'s log), so the run's record covers the whole run."""

    def __init__(self, trainer: SiameseTrainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        trainer = self.trainer
        if trainer.dev_metric is None or trainer.dev_history:
            return control
        key = f"eval_{getattr(trainer.dev_metric, 'metric_name', 'dev_metric')}"
        for log in state.log_history:  # empty unless the run resumed
            if key in log:
                entry = {"step": log.get("step", 0), "epoch": log.get("epoch", 0.0), key[5:]: float(log[key])}
                others = {k[5:]: float(v) for k, v in log.items() if k.startswith("eval_") and k != "eval_runtime"}
                trainer.dev_history.append({**entry, **others})
        return control


class _SamplerEpoch(TrainerCallback):
    """Give the batch sampler the epoch at the start of every epoch.

    ``transformers`` passes the epoch on through accelerate's data-loader wrappers, which do not reach a batch
    sampler wrapped twice: sharded for DDP (``BatchSamplerShard``) and then skipping the batches already trained
    when a run resumes in the middle of an epoch (``SkipBatchSampler``). The sampler would replay epoch 0's order.
    """

    def __init__(self, trainer: SiameseTrainer) -> None:
        self.trainer = trainer

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        sampler = self.trainer.train_sampler
        if sampler is not None:  # state.epoch is the (fractional) number of epochs done: exact at epoch ends
            sampler.set_epoch(int((state.epoch or 0.0) + 1e-6))
        return control


class SiameseTrainer(Trainer):
    """:class:`transformers.Trainer` for a :class:`SiameseTrainingModel`.

    Args:
        model: the wrapper holding the twin tower and the loss.
        args: ``TrainingArguments``; needs ``remove_unused_columns=False`` (the collator reads the text columns).
            With a ``dev_metric``, set ``metric_for_best_model`` to ``dev_metric.metric_name`` and
            ``greater_is_better=True`` for best-model selection / early stopping.
        dev_metric: callable ``SiameseModel -> float`` (e.g. :func:`textsiam.evaluation.make_dev_metric`) with a
            ``metric_name``; :meth:`evaluate` reports it as ``eval_<metric_name>``.
        no_duplicates: keep duplicate texts out of a training batch (``{task: bool}`` for multi-task training).
        fgm_epsilon: FGM step size on the word embeddings (0 = off).
        multi_dataset_batch_sampler: how the batches of a :class:`MultiTaskDataset` mix (``proportional`` or
            ``round_robin``, see :mod:`~textsiam.training.multitask`).
        **kwargs: the rest of ``transformers.Trainer``'s arguments (``train_dataset``, ``data_collator``,
            ``callbacks``, ...).

    Attributes:
        dev_history: ``[{"step", "epoch", metric: value}, ...]``, one entry per dev evaluation.
    """

    def __init__(
        self,
        model: SiameseTrainingModel,
        args: Any,
        dev_metric: Any = None,
        no_duplicates: bool | Mapping[str, bool] = False,
        fgm_epsilon: float = 0.0,
        multi_dataset_batch_sampler: str = "proportional",
        **kwargs: Any,
    ) -> None:
        if not isinstance(model, SiameseTrainingModel):
            raise TypeError(f"model must be a SiameseTrainingModel, got {type(model).__name__}")
        if getattr(args, "remove_unused_columns", False):
            raise ValueError("SiameseTrainer needs TrainingArguments(remove_unused_columns=False)")
        if fgm_epsilon < 0:
            raise ValueError(f"fgm_epsilon must be >= 0, got {fgm_epsilon}")
        if dev_metric is not None and kwargs.get("eval_dataset") is None:
            kwargs["eval_dataset"] = _DevMetricPlaceholder()  # Trainer insists on one when eval_strategy != "no"
        super().__init__(model=model, args=args, **kwargs)
        self.dev_metric = dev_metric
        self.no_duplicates: Any = dict(no_duplicates) if isinstance(no_duplicates, Mapping) else bool(no_duplicates)
        self.multi_dataset_batch_sampler = multi_dataset_batch_sampler
        self.fgm_epsilon = float(fgm_epsilon)
        self.dev_history: list[dict[str, float]] = []
        self.train_sampler: SiameseBatchSampler | None = None
        self.add_callback(_SamplerEpoch(self))
        self.add_callback(_ResumedDevHistory(self))
        self.loss_is_scaled_for_ga = False  # compute_loss returns a per-batch mean

    # ------------------------------------------------------------------------------------------ data
    def _example_texts(self, dataset: Any) -> list[tuple[str, ...]]:
        columns = [c for c, _ in TEXT_COLUMNS if c in dataset.column_names]
        return list(zip(*(dataset[c] for c in columns), strict=True))

    def get_train_dataloader(self) -> DataLoader:
        """Training batches from a :class:`SiameseBatchSampler` seeded by ``data_seed`` (or ``seed``)."""
        if self.train_dataset is None:
            raise ValueError("SiameseTrainer: training requires a train_dataset")
        dataset = self.train_dataset
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        if isinstance(dataset, MultiTaskDataset):
            sampler: Any = self._multitask_sampler(dataset, seed)
        else:
            sampler = self._task_sampler(dataset, seed, self.no_duplicates)
        if hasattr(self.data_collator, "set_epoch"):
            sampler.add_epoch_listener(self.data_collator.set_epoch)
        self.train_sampler = sampler
        workers = self.args.dataloader_num_workers
        loader = DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=self.data_collator,
            num_workers=workers,
            pin_memory=self.args.dataloader_pin_memory and torch.cuda.is_available(),
            persistent_workers=self.args.dataloader_persistent_workers and workers > 0,
        )
        return self.accelerator.prepare(loader)

    def _task_sampler(self, dataset: Any, seed: int, no_duplicates: bool) -> SiameseBatchSampler:
        return SiameseBatchSampler(
            self._example_texts(dataset) if no_duplicates else None,
            batch_size=self._train_batch_size,
            seed=seed,
            no_duplicates=no_duplicates,
            drop_last=self.args.dataloader_drop_last,
            num_examples=len(dataset),
        )

    def _multitask_sampler(self, dataset: MultiTaskDataset, seed: int) -> MultiTaskBatchSampler:
        no_duplicates = self.no_duplicates if isinstance(self.no_duplicates, Mapping) else {}
        samplers = {  # each task its own seed: two tasks of one size must not share an order
            name: self._task_sampler(
                dataset.tables[name], seed + TASK_SEED_STRIDE * i, bool(no_duplicates.get(name, self.no_duplicates))
            )
            for i, name in enumerate(dataset.names)
        }
        return MultiTaskBatchSampler(samplers, dataset.offsets, self.multi_dataset_batch_sampler, seed)

    # ------------------------------------------------------------------------------------------ loss
    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """Run the twin tower and the loss (through the possibly DDP-wrapped ``model``)."""
        outputs = model(**inputs)
        loss = outputs["loss"]
        return (loss, outputs) if return_outputs else loss

    def training_step(self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch: Any = None) -> torch.Tensor:
        """The library's forward/backward step, then (with ``fgm_epsilon > 0``) an FGM adversarial step.

        FGM (Miyato et al., 2017): after the normal backward pass, the word-embedding weights are moved by
        ``eps * g / ||g||`` (``g`` their gradient), the loss of the same batch is back-propagated again
        (gradients add up), and the weights are restored exactly. The returned (logged) loss is the clean one.
        """
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self.fgm_epsilon > 0:
            self._fgm_step(model, inputs, num_items_in_batch)
        return loss

    def _fgm_step(self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch: Any) -> None:
        weight = word_embeddings(self.siamese_model).weight
        grad = weight.grad
        if grad is None:
            return
        norm = torch.linalg.vector_norm(grad.float())
        if not torch.isfinite(norm) or norm.item() == 0.0:
            return
        backup = weight.data.clone()
        weight.data.add_((self.fgm_epsilon / norm).to(weight.dtype) * grad)
        try:
            super().training_step(model, inputs, num_items_in_batch)
        finally:
            weight.data.copy_(backup)

    @property
    def siamese_model(self) -> SiameseModel:
        """The :class:`~textsiam.SiameseModel` being trained (unwrapped)."""
        return self.accelerator.unwrap_model(self.model).model

    # ------------------------------------------------------------------------------------------ evaluation
    def evaluate(
        self,
        eval_dataset: Any = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
    ) -> dict[str, float]:
        """Score the current model with the dev metric: ``{f"{prefix}_{metric_name}": value, ...}``."""
        if self.dev_metric is None:
            logger.warning("SiameseTrainer.evaluate: no dev_metric given; nothing to evaluate")
            return {}
        start = time.perf_counter()
        value = float(self.dev_metric(self.siamese_model))
        name = getattr(self.dev_metric, "metric_name", "dev_metric")
        metrics = {f"{metric_key_prefix}_{name}": value}
        per_task = getattr(self.dev_metric, "last_values", None) or {}  # multi-task: each task's metric too
        metrics.update({f"{metric_key_prefix}_{key}": float(v) for key, v in per_task.items()})
        metrics[f"{metric_key_prefix}_runtime"] = round(time.perf_counter() - start, 4)
        if not math.isfinite(value):
            logger.warning("dev metric %s is %s at step %d", name, value, self.state.global_step)
        entry = {"step": self.state.global_step, "epoch": self.state.epoch or 0.0, name: value}
        self.dev_history.append({**entry, **{key: float(v) for key, v in per_task.items()}})
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

    # ------------------------------------------------------------------------------------------ saving
    def _save(self, output_dir: str | None = None, state_dict: dict[str, torch.Tensor] | None = None) -> None:
        """Checkpoint = the wrapper's ``state_dict`` as ``model.safetensors`` (+ the arguments as JSON)."""
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        if state_dict is None:
            state_dict = self.accelerator.unwrap_model(self.model).state_dict()
        with atomic_path(os.path.join(output_dir, CHECKPOINT_WEIGHTS)) as tmp:  # whole, with the umask's mode
            safetensors.torch.save_file(_unshared(state_dict), str(tmp), metadata={"format": "pt"})
        Path(output_dir, "training_args.json").write_text(
            json.dumps(json.loads(self.args.to_json_string()), indent=2) + "\n", encoding="utf-8"
        )
        logger.info("saved checkpoint weights to %s", output_dir)
