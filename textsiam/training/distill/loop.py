"""The distillation loop: build a student on the teacher's tokenizer and word embeddings, regress its embeddings
onto the teacher's with length-bucketed batches, AdamW (plus sparse Adam on the word embeddings), linear warm-up
and decay, and gradient clipping."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.training.distill.config import DistillConfig, DistillConfigError
from textsiam.training.distill.corpus import check_targets, check_texts, teacher_targets

logger = logging.getLogger(__name__)

#: Written beside the saved student: the config, the teacher, the number of texts and the per-epoch log.
DISTILL_INFO_NAME = "distillation.json"

#: ``callback(entry, student)`` after each epoch; returning ``True`` stops the run after that epoch.
Callback = Callable[[dict[str, Any], Any], Any]


@dataclass
class DistillResult:
    """What :func:`distill` returns."""

    student: Any  # the distilled SiameseModel, in eval mode
    log: list[dict[str, Any]]  # one entry per epoch: epoch, steps, loss, cosine_to_teacher, seconds [, dev_metric]
    config: DistillConfig  # the config the run used
    teacher_name: str  # the teacher's name or path
    n_texts: int  # texts distilled on
    teacher_seconds: float  # time spent computing the teacher's embeddings (0.0 when they were given)
    train_seconds: float  # time spent training (all epochs, dev metric included)
    output_dir: Path | None  # where the student was saved, or None


# ---------------------------------------------------------------------------------------------- building
def as_config(config: DistillConfig | Mapping[str, Any] | None) -> DistillConfig:
    """A :class:`DistillConfig` from a config, a mapping of its fields, or ``None`` (all defaults)."""
    if config is None:
        return DistillConfig()
    if isinstance(config, DistillConfig):
        return config
    if isinstance(config, Mapping):
        return DistillConfig.from_dict(dict(config))
    raise TypeError(f"config must be a DistillConfig or a mapping of its fields, got {type(config).__name__}")


def load_teacher(config: DistillConfig, teacher: Any = None) -> tuple[Any, str]:
    """``(teacher model, name)``: ``teacher`` if it is a model, else loaded from it or ``config.teacher``."""
    from textsiam.model.siamese import SiameseModel

    if isinstance(teacher, SiameseModel):
        return teacher, teacher.name_or_path or "SiameseModel"
    if teacher is not None and not isinstance(teacher, (str, os.PathLike)):
        raise TypeError(f"teacher must be a SiameseModel, a model path or None, got {type(teacher).__name__}")
    source = teacher if teacher is not None else config.teacher
    name = str(source) if source is not None else "all-MiniLM-L6-v2 (embedded)"
    return SiameseModel.from_pretrained(source, device=config.device), name


def build_student(config: DistillConfig, teacher: Any, target_dim: int | None = None) -> Any:
    """A new ``config.tower`` student: the teacher's tokenizer, its input word embeddings as the start (unless
    ``embeddings='random'``), and a linear projection to ``target_dim`` (default the teacher's size) when
    ``config.projection`` asks for one or (``None``) when the tower's own size differs.

    The embeddings are built frozen (``freeze_embeddings=True``); :func:`fit` trains them sparsely when
    ``config.embedding_lr > 0`` and sets the saved flag from ``config.freeze_embeddings`` at the end.
    """
    from textsiam.model.siamese import SiameseModel

    target_dim = int(target_dim or teacher.embedding_dim)
    project = config.projection if config.projection is not None else config.tower_dim() != target_dim
    if not project and config.tower_dim() != target_dim:
        raise DistillConfigError(
            [
                f"projection=False, but the {config.tower} tower gives {config.tower_dim()} dimensions and the teacher "
                f"{target_dim}; allow a projection or change tower_args"
            ]
        )
    build = SiameseModel.lstm if config.tower == "lstm" else SiameseModel.cnn
    student = build(
        teacher,
        projection_dim=target_dim if project else None,
        projection_activation=config.projection_activation,
        normalize=teacher.normalize if config.normalize is None else config.normalize,
        embeddings=config.embeddings,
        max_seq_length=config.max_seq_length or teacher.max_seq_length,
        freeze_embeddings=True,
        device=config.device or teacher.device,
        seed=config.seed,
        **config.tower_args,
    )
    return student


def length_bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, bucket: int = 50
) -> list[np.ndarray]:
    """Random batches of texts of similar length: one epoch's order.

    Shuffle all ``N`` indices, sort each chunk of ``bucket * batch_size`` of them by length (stable), cut the
    chunks into batches, and shuffle the batches. A recurrent tower runs as many steps as the longest text of
    its batch, so this about halves the cost of an epoch; ``bucket=1`` gives batches sorted within themselves only.

    Args:
        lengths: ``(N,)`` token counts.
        batch_size: texts per batch (the last batch of a chunk may be smaller).
        rng: the source of randomness (the order is a function of its state).
        bucket: batches per length-sorted chunk.

    Returns:
        ``ceil``-many int64 index arrays covering ``0 .. N - 1`` exactly once.
    """
    lengths = np.asarray(lengths)
    order = rng.permutation(len(lengths))
    chunk = batch_size * bucket
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


# ---------------------------------------------------------------------------------------------- training
def distill(
    config: DistillConfig | Mapping[str, Any] | None,
    texts: Sequence[str],
    *,
    teacher: Any = None,
    targets: Any = None,
    dev_metric: Callable[[Any], float] | None = None,
    callback: Callback | None = None,
) -> DistillResult:
    """Distil a teacher into a new LSTM or CNN student that reproduces its embeddings; no labels needed.

    Args:
        config: a :class:`DistillConfig`, or a mapping of its fields (``None``: the defaults).
        texts: the corpus (any sequence of strings, e.g. :func:`~textsiam.training.distill.default_corpus`).
        teacher: a loaded :class:`~textsiam.SiameseModel`, or a model path; ``None`` loads ``config.teacher``.
        targets: the teacher's embeddings of ``texts``, ``(N, D)`` (e.g. from a cache); ``None`` computes them
            with :func:`~textsiam.training.distill.teacher_targets`. ``D`` sets the projection's size.
        dev_metric: ``dev_metric(student) -> float`` after every epoch (student in eval mode), logged as
            ``dev_metric``.
        callback: ``callback(entry, student)`` after every epoch (after ``dev_metric``); returning ``True`` stops.

    Returns:
        A :class:`DistillResult`; the student is in eval mode and, with ``config.output_dir``, saved there (with
        ``distillation.json`` beside it).

    Raises:
        DistillConfigError: a bad config value (a ``ValueError``).
        FileExistsError: ``output_dir`` holds files but no model and ``overwrite`` is not set (checked first).
    """
    config = as_config(config)
    items = check_texts(texts)
    out = check_output_dir(config)
    model, teacher_name = load_teacher(config, teacher)
    teacher_seconds = 0.0
    if targets is None:
        start = time.perf_counter()
        target_arr = teacher_targets(model, items, config.teacher_batch_size, show_progress=config.show_progress)
        teacher_seconds = time.perf_counter() - start
        logger.info("teacher embeddings of %d texts in %.1fs", len(items), teacher_seconds)
    else:
        target_arr = check_targets(targets, len(items))
    student = build_student(config, model, target_arr.shape[1])
    logger.info("distilling %s into %s on %d texts", teacher_name, student, len(items))
    start = time.perf_counter()
    log = fit(student, items, target_arr, config, dev_metric, callback)
    train_seconds = time.perf_counter() - start
    student.name_or_path = f"{config.tower} student of {teacher_name}"
    result = DistillResult(student, log, config, teacher_name, len(items), teacher_seconds, train_seconds, None)
    if out is not None:
        result.output_dir = student.save(out, overwrite=config.overwrite)
        write_info(result)
    return result


def fit(
    student: Any,
    texts: list[str],
    targets: np.ndarray,
    config: DistillConfig,
    dev_metric: Callable[[Any], float] | None = None,
    callback: Callback | None = None,
) -> list[dict[str, Any]]:
    """Train ``student`` so that its embeddings of ``texts`` match ``targets`` ``(N, D)``; one log entry per epoch.

    The tower's layers (and projection) learn with AdamW; with ``config.embedding_lr > 0`` the word embeddings
    learn too, through sparse gradients and ``SparseAdam`` (a batch touches a few thousand of the ~30k rows:
    dense AdamW over the whole matrix would cost ~20x per step). Both follow a linear warm-up / decay schedule.
    The torch RNG is seeded with ``config.seed`` inside a fork (the caller's RNG state is left as it was). At the
    end the embeddings' trainability is set from ``config.freeze_embeddings`` and the student is in eval mode.
    """
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from textsiam.losses import MSELoss

    pre = student.encoder.pretokenize(texts)  # tokenised once; each batch is padded by collate()
    if pre is None:
        raise ValueError("the student's tokenizer cannot pre-tokenise (a fast tokenizer is needed)")
    if pre.n_truncated:
        logger.info("%d of %d texts are cut at %d tokens", pre.n_truncated, len(texts), student.max_seq_length)
    device = student.device
    total = math.ceil(len(texts) / config.batch_size) * config.epochs
    embedding = student.encoder.input_embeddings()
    embedding.weight.requires_grad_(False)
    params = [p for p in student.parameters() if p.requires_grad]
    optimizers: list[torch.optim.Optimizer] = [
        torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    ]
    if config.embedding_lr > 0:
        embedding.weight.requires_grad_(True)
        embedding.sparse = True
        optimizers.append(torch.optim.SparseAdam([embedding.weight], lr=config.embedding_lr))
    schedules = [get_linear_schedule_with_warmup(o, int(config.warmup_ratio * total), total) for o in optimizers]
    mse = MSELoss()
    target = torch.from_numpy(targets).to(device)  # (N, D)
    rng = np.random.default_rng(config.seed)
    log: list[dict[str, Any]] = []
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(config.seed)
            for epoch in range(1, config.epochs + 1):
                student.train()
                start = time.perf_counter()
                loss_sum, cos_sum = 0.0, 0.0
                batches = length_bucketed_batches(pre.lengths, config.batch_size, rng, config.bucket_size)
                bar = tqdm(batches, desc=f"Distil epoch {epoch}/{config.epochs}", disable=not config.show_progress)
                for idx in bar:
                    features = {k: v.to(device) for k, v in pre.collate(idx.tolist()).items()}
                    goal = target[torch.from_numpy(idx).to(device)]  # (b, D)
                    emb = student.embed(features)  # (b, D)
                    cos = nn.functional.cosine_similarity(emb, goal, dim=-1)  # (b,)
                    loss = mse(emb, labels=goal) if config.loss == "mse" else 1.0 - cos.mean()
                    for optimizer in optimizers:
                        optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if config.max_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                    for optimizer, schedule in zip(optimizers, schedules, strict=True):
                        optimizer.step()
                        schedule.step()
                    loss_sum += loss.item() * len(idx)
                    cos_sum += float(cos.detach().sum())
                entry: dict[str, Any] = {
                    "epoch": epoch,
                    "steps": len(batches),
                    "loss": loss_sum / len(texts),
                    "cosine_to_teacher": cos_sum / len(texts),  # mean over the epoch's batches, as trained
                    "seconds": time.perf_counter() - start,
                }
                student.eval()
                if dev_metric is not None:
                    entry["dev_metric"] = float(dev_metric(student))
                log.append(entry)
                logger.info(
                    "distil epoch %d/%d: loss %.4g, cosine to the teacher %.4f, %.1fs%s",
                    epoch,
                    config.epochs,
                    entry["loss"],
                    entry["cosine_to_teacher"],
                    entry["seconds"],
                    f", dev {entry['dev_metric']:.4g}" if "dev_metric" in entry else "",
                )
                if callback is not None and callback(entry, student) is True:
                    logger.info("distillation stopped by the callback after epoch %d", epoch)
                    break
    finally:
        embedding.sparse = False
        embedding.weight.requires_grad_(not config.freeze_embeddings)
        student.encoder.config.freeze_embeddings = config.freeze_embeddings
        student.zero_grad(set_to_none=True)
        student.eval()
    return log


# ---------------------------------------------------------------------------------------------- saving
def check_output_dir(config: DistillConfig) -> Path | None:
    """``config.output_dir`` resolved, refused early if saving there would fail (before any training)."""
    from textsiam.io_utils import is_model_dir

    if config.output_dir is None:
        return None
    out = Path(config.output_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"output_dir {out} exists and is not a directory")
    if out.is_dir() and not config.overwrite and not is_model_dir(out) and any(out.iterdir()):
        raise FileExistsError(
            f"output_dir {out} holds files but no model; set overwrite=True to save into it (its files are kept)"
        )
    return out


def write_info(result: DistillResult) -> None:
    """``distillation.json`` beside the saved student: teacher, texts, config, timings and the per-epoch log."""
    from textsiam.io_utils import atomic_open
    from textsiam.version import __version__

    assert result.output_dir is not None
    info = {
        "textsiam_version": __version__,
        "teacher": result.teacher_name,
        "n_texts": result.n_texts,
        "config": result.config.to_dict(),
        "teacher_seconds": round(result.teacher_seconds, 3),
        "train_seconds": round(result.train_seconds, 3),
        "log": result.log,
    }
    with atomic_open(result.output_dir / DISTILL_INFO_NAME) as fh:
        fh.write(json.dumps(info, indent=2, default=str) + "\n")
