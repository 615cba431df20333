"""The training loop of a distillation: regress the student's embeddings onto the teacher's with length-bucketed
batches, AdamW on the layers plus sparse Adam on the per-token tables, linear warm-up and decay, gradient
clipping, and checkpoints a killed run resumes from exactly."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.encoders import PreTokenized
from textsiam.training.distill.checkpoint import DistillCheckpoint
from textsiam.training.distill.config import DistillConfig

logger = logging.getLogger(__name__)

#: ``callback(entry, student)`` after each epoch; returning ``True`` stops the run after that epoch.
Callback = Callable[[dict[str, Any], Any], Any]


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


def in_batch_contrast(emb: torch.Tensor, goal: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE over a batch: cross-entropy of each student embedding's cosines to the batch's teacher embeddings
    ``(b, b) / temperature``, its own text's being the right one. Pulls a text toward its own target and away from
    the other texts' ones, which plain regression does not do."""
    logits = nn.functional.normalize(emb, dim=-1) @ nn.functional.normalize(goal, dim=-1).T / temperature  # (b, b)
    return nn.functional.cross_entropy(logits, torch.arange(len(emb), device=emb.device))


def pretokenized(student: Any, items: list[str] | PreTokenized) -> PreTokenized:
    """``items`` tokenised by the student's tokenizer (texts), or as given (already pre-tokenised)."""
    if isinstance(items, PreTokenized):
        return items
    pre = student.encoder.pretokenize(items)  # tokenised once; each batch is padded by collate()
    if pre is None:
        raise ValueError("the student's tokenizer cannot pre-tokenise (a fast tokenizer is needed)")
    if pre.n_truncated:
        logger.info("%d of %d texts are cut at %d tokens", pre.n_truncated, len(items), student.max_seq_length)
    return pre


def fit(
    student: Any,
    items: list[str] | PreTokenized,
    targets: np.ndarray,
    config: DistillConfig,
    dev_metric: Callable[[Any], float] | None = None,
    callback: Callback | None = None,
    checkpoint: DistillCheckpoint | None = None,
    resume: bool = False,
) -> list[dict[str, Any]]:
    """Train ``student`` so that its embeddings of ``items`` match ``targets`` ``(N, D)``; one log entry per epoch.

    The tower's layers (and projection) learn with AdamW; with ``config.embedding_lr > 0`` its per-token tables
    (:meth:`SubwordEncoder.lookup_tables`: the token vectors, and a static tower's token weights) learn too,
    through sparse gradients and ``SparseAdam`` (a batch touches a few thousand of the ~30k rows: dense AdamW
    over the whole matrix would cost ~20x per step). Both follow a linear warm-up / decay schedule. The torch
    RNG is seeded with ``config.seed`` inside a fork (the caller's RNG state is left as it was). At the end the
    tables' trainability is set from ``config.freeze_embeddings`` and the student is in eval mode.

    Args:
        items: texts, or items already tokenised with the student's tokenizer (e.g. texts plus vocabulary tokens).
        checkpoint: with one, the state is saved at the end of every epoch (and every ``config.checkpoint_steps``
            steps); with ``resume=True`` the run continues from the state saved there, and ends exactly as a run
            that was never interrupted.
    """
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from textsiam.losses import MSELoss

    config = config.resolved()
    pre = pretokenized(student, items)
    if len(pre) != len(targets):
        raise ValueError(f"{len(pre)} items but {len(targets)} targets")
    n_items = len(pre)
    device = student.device
    steps_per_epoch = math.ceil(n_items / config.batch_size)
    total = steps_per_epoch * config.epochs
    tables = student.encoder.lookup_tables()
    for table in tables:
        table.weight.requires_grad_(False)
    params = [p for p in student.parameters() if p.requires_grad]
    optimizers: list[torch.optim.Optimizer] = []
    if params:
        optimizers.append(torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay))
    if config.embedding_lr > 0:
        for table in tables:
            table.weight.requires_grad_(True)
            table.sparse = True
        optimizers.append(torch.optim.SparseAdam([t.weight for t in tables], lr=config.embedding_lr))
    if not optimizers:
        raise ValueError("nothing to train: the student has no layers and embedding_lr is 0")
    schedules = [get_linear_schedule_with_warmup(o, int(config.warmup_ratio * total), total) for o in optimizers]
    mse = MSELoss()
    target = torch.from_numpy(targets).to(device)  # (N, D)
    rng = np.random.default_rng(config.seed)
    log: list[dict[str, Any]] = []
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(config.seed)
            first_epoch, skip, sums = 1, 0, [0.0, 0.0, 0.0]  # sums: loss, cosine, seconds of the epoch so far
            epoch_rng: dict[str, Any] | None = None
            if resume and checkpoint is not None:
                progress = checkpoint.load_state(student, optimizers, schedules)
                if progress is not None:
                    first_epoch, skip, sums = progress["epoch"], progress["step"], progress["sums"]
                    log, epoch_rng = progress["log"], progress["epoch_rng"]
                    rng.bit_generator.state = progress["rng"]
                    logger.info("resuming the distillation at epoch %d, step %d", first_epoch, skip)
            for epoch in range(first_epoch, config.epochs + 1):
                student.train()
                if epoch_rng is not None:  # resumed mid-epoch: replay this epoch's order
                    rng.bit_generator.state = epoch_rng
                epoch_rng = rng.bit_generator.state
                batches = length_bucketed_batches(pre.lengths, config.batch_size, rng, config.bucket_size)
                bar = tqdm(
                    total=len(batches),
                    initial=skip,
                    desc=f"Distil epoch {epoch}/{config.epochs}",
                    disable=not config.show_progress,
                )
                start = time.perf_counter() - sums[2]
                for step in range(skip, len(batches)):
                    idx = batches[step]
                    features = {k: v.to(device) for k, v in pre.collate(idx.tolist()).items()}
                    goal = target[torch.from_numpy(idx).to(device)]  # (b, D)
                    emb = student.embed(features)  # (b, D)
                    cos = nn.functional.cosine_similarity(emb, goal, dim=-1)  # (b,)
                    loss = mse(emb, labels=goal) if config.loss == "mse" else 1.0 - cos.mean()
                    if config.contrast_weight > 0:
                        loss = loss + config.contrast_weight * in_batch_contrast(emb, goal, config.contrast_temperature)
                    for optimizer in optimizers:
                        optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if config.max_grad_norm is not None and params:
                        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                    for optimizer, schedule in zip(optimizers, schedules, strict=True):
                        optimizer.step()
                        schedule.step()
                    sums[0] += loss.item() * len(idx)
                    sums[1] += float(cos.detach().sum())
                    bar.update(1)
                    done = step + 1
                    if (
                        checkpoint is not None
                        and config.checkpoint_steps
                        and ((epoch - 1) * steps_per_epoch + done) % config.checkpoint_steps == 0
                        and done < len(batches)
                    ):
                        sums[2] = time.perf_counter() - start
                        position = {
                            "epoch": epoch,
                            "step": done,
                            "epoch_rng": epoch_rng,
                            "rng": rng.bit_generator.state,
                        }
                        checkpoint.save_state(student, optimizers, schedules, {**position, "sums": sums, "log": log})
                bar.close()
                entry: dict[str, Any] = {
                    "epoch": epoch,
                    "steps": len(batches),
                    "loss": sums[0] / n_items,
                    "cosine_to_teacher": sums[1] / n_items,  # mean over the epoch's batches, as trained
                    "seconds": time.perf_counter() - start,
                }
                skip, sums, epoch_rng = 0, [0.0, 0.0, 0.0], None
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
                stop = callback is not None and callback(entry, student) is True
                if checkpoint is not None and epoch < config.epochs and not stop:
                    position = {"epoch": epoch + 1, "step": 0, "epoch_rng": None, "rng": rng.bit_generator.state}
                    checkpoint.save_state(student, optimizers, schedules, {**position, "sums": sums, "log": log})
                if stop:
                    logger.info("distillation stopped by the callback after epoch %d", epoch)
                    break
    finally:
        freeze = config.resolved_freeze()
        for table in tables:
            table.sparse = False
            table.weight.requires_grad_(not freeze)
        student.encoder.config.freeze_embeddings = freeze
        student.zero_grad(set_to_none=True)
        student.eval()
    return log
