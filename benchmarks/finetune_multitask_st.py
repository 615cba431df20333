"""The sentence-transformers side of ``python -m benchmarks.finetune_multitask``: textsiam's multi-task recipe
run with ``SentenceTransformerTrainer``, a dict of datasets and a dict of losses.

The recipe is read from the textsiam YAML config (``train_datasets``, ``multi_dataset_batch_sampler`` and the
shared settings) and each task is built the way textsiam builds a task: the entry's settings over the top-level
ones; the training pairs from ``textsiam.data.load_pairs``, subsampled by ``textsiam.training.examples.subsample``
with the config's seed (the same pairs textsiam trains on); labels transformed by textsiam's own label rules
(STS-B 0-5 and SICK 1-5 scaled to [0, 1], MRPC and Quora 0/1 as they are).

Model selection: a callback scores the model with textsiam's :class:`~textsiam.evaluation.DevMetric` of each
task on the same dev pairs (subsampled the same way) whenever textsiam would (each epoch, or every
``eval_steps``), and keeps the weights with the best mean of the tasks' primary dev metrics: textsiam's rule,
computed by textsiam's code. sentence-transformers' own ``SequentialEvaluator`` with ``load_best_model_at_end``
would pick by its evaluators' metrics instead (its binary-classification evaluator chooses thresholds differently).

Resuming (``resume_from``, see ``benchmarks.resumable.train_st_resumable``): at every checkpoint the choice so far is
written beside it, the dev history and best step in ``OUT/dev_selection.json`` and the best weights in
``OUT/best_model/`` (safetensors), so a killed run continues from its checkpoint with the same choice.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

logger = logging.getLogger("benchmarks.finetune_multitask")

#: how the sentence-transformers side chooses its model (for the report)
SELECTION = (
    "sentence-transformers' checkpoint is chosen by textsiam's rule, computed by textsiam's code: a callback scores "
    "the model with `textsiam.evaluation.DevMetric` of each task on the same dev pairs whenever textsiam evaluates "
    "(each epoch, or every `eval_steps`, and at the last step) and keeps the weights with the best mean of the tasks' "
    "primary dev metrics (sentence-transformers' own `SequentialEvaluator` + `load_best_model_at_end` would score "
    "with its own evaluators, whose classification thresholds differ)."
)

#: the keys of the config that only multi-task training has (applied to the raw YAML here, not to TrainConfig)
MULTITASK_KEYS = ("train_datasets", "multi_dataset_batch_sampler", "prompts")
#: entry keys the sentence-transformers side can mirror (others, e.g. hard_negatives, stop it with a message)
SUPPORTED_ENTRY_KEYS = frozenset(
    {
        "dataset",
        "split",
        "loss",
        "loss_kwargs",
        "dev_dataset",
        "dev_split",
        "label_column",
        "label_transform",
        "binarize_threshold",
        "max_train_pairs",
        "max_dev_pairs",
    }
)


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """``data[a][b][c] = value`` for ``key = "a.b.c"`` (mappings made on the way)."""
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def read_recipe(config_file: Path, overrides: list[str]) -> tuple[Any, dict[str, dict[str, Any]], str]:
    """``(shared TrainConfig, {task: entry}, sampler)`` of a multi-task YAML config with ``--set`` overrides.

    The multi-task keys are taken out of the YAML (and out of the overrides: ``train_datasets.quora.max_train_pairs=
    1000`` sets that entry's value) before the rest becomes a :class:`~textsiam.training.TrainConfig`, so that this
    side does not depend on how textsiam parses them.
    """
    from textsiam.training import TrainConfig

    raw = yaml.safe_load(Path(config_file).read_text(encoding="utf-8"))
    multi = {key: raw.pop(key) for key in MULTITASK_KEYS if key in raw}
    plain = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if sep and key.split(".")[0] in MULTITASK_KEYS:
            set_dotted(multi, key, yaml.safe_load(value))
        else:
            plain.append(item)
    config = TrainConfig.from_dict(raw).with_overrides(plain)
    config.validate()
    config.prompts = multi.get("prompts")  # {task: prefix} names the tasks: checked by task_prompts in train_st
    tasks = multi.get("train_datasets") or {}
    if not tasks:
        raise SystemExit(f"{config_file} has no train_datasets: not a multi-task recipe")
    for name, entry in tasks.items():
        unsupported = sorted(k for k, v in (entry or {}).items() if k not in SUPPORTED_ENTRY_KEYS and v)
        if unsupported:
            raise SystemExit(f"train_datasets.{name}: the sentence-transformers side cannot mirror {unsupported}")
        if not (entry or {}).get("loss"):
            raise SystemExit(f"train_datasets.{name}: name its loss (the sentence-transformers side needs it)")
    return (
        config,
        {name: dict(entry or {}) for name, entry in tasks.items()},
        str(multi.get("multi_dataset_batch_sampler", "proportional")),
    )


def task_data(name: str, entry: Mapping[str, Any], config: Any) -> dict[str, Any]:
    """One task as textsiam builds it: ``{"train": pairs with transformed labels, "dev": DevMetric or None, ...}``."""
    import datasets

    from textsiam.data import dataset_info, load_pairs
    from textsiam.evaluation import DevMetric
    from textsiam.training.examples import subsample
    from textsiam.training.labels import raw_label_kind, resolve_label_transform, transform_labels

    dataset = str(entry.get("dataset", name))
    info = dataset_info(dataset)
    pairs = load_pairs(dataset, str(entry.get("split", "train")), config.data_dir)
    label_column = str(entry.get("label_column", "label"))
    if label_column != "label":
        pairs = pairs.remove_columns("label").rename_column(label_column, "label")
    max_train = entry.get("max_train_pairs", config.max_train_pairs)
    pairs = subsample(pairs, max_train, config.seed)
    settings = SimpleNamespace(
        loss=entry["loss"],
        label_transform=entry.get("label_transform", "auto"),
        binarize_threshold=entry.get("binarize_threshold"),
        label_column=label_column,
        train_dataset=dataset,
    )
    transform, problem = resolve_label_transform(settings, raw_label_kind(pairs["label"]))
    if problem:
        raise SystemExit(f"train_datasets.{name}: {problem}")
    score_range = tuple(info.score_range) if info.task == "sts" else None
    labels = transform_labels(pairs["label"], transform, score_range, settings.binarize_threshold)
    train = datasets.Dataset.from_dict(
        {"sentence1": list(pairs["text_a"]), "sentence2": list(pairs["text_b"]), "label": labels.tolist()}
    )
    dev_dataset = entry.get("dev_dataset", dataset)
    dev = None
    if dev_dataset is not None:
        dev_split = str(entry.get("dev_split", "dev"))
        dev_pairs = load_pairs(str(dev_dataset), dev_split, config.data_dir)
        dev_pairs = subsample(dev_pairs, entry.get("max_dev_pairs", config.max_dev_pairs), config.seed)
        dev = DevMetric(
            str(dev_dataset),
            split=dev_split,
            batch_size=config.eval_batch_size,
            primary_similarity="cosine",
            pairs=dev_pairs,
        )
    return {
        "train": train,
        "dev": dev,
        "info": {
            "dataset": dataset,
            "loss": entry["loss"],
            "loss_kwargs": dict(entry.get("loss_kwargs") or {}),
            "label_transform": transform,
            "n_train_pairs": len(train),
            "n_dev_pairs": None if dev is None else len(dev.evaluator.pairs),
        },
    }


def st_loss(model: Any, loss: str, kwargs: Mapping[str, Any]) -> Any:
    """The sentence-transformers loss of textsiam's ``loss`` with ``loss_kwargs``."""
    from sentence_transformers.sentence_transformer import losses

    kwargs = dict(kwargs)
    if loss == "cosent":
        if kwargs.pop("similarity", "cosine") != "cosine":
            raise SystemExit("cosent: only the cosine similarity is mirrored")
        return losses.CoSENTLoss(model, scale=float(kwargs.pop("scale", 20.0)), **kwargs)
    if loss == "cosine_similarity":
        if kwargs:
            raise SystemExit(f"cosine_similarity: loss_kwargs {sorted(kwargs)} are not mirrored")
        return losses.CosineSimilarityLoss(model)
    if loss in ("online_contrastive", "contrastive"):
        metrics = {
            "cosine": losses.SiameseDistanceMetric.COSINE_DISTANCE,
            "euclidean": losses.SiameseDistanceMetric.EUCLIDEAN,
            "manhattan": losses.SiameseDistanceMetric.MANHATTAN,
        }
        distance = metrics[str(kwargs.pop("distance", "cosine"))]
        margin = float(kwargs.pop("margin", 0.5))
        if loss == "online_contrastive":
            return losses.OnlineContrastiveLoss(model, distance_metric=distance, margin=margin, **kwargs)
        return losses.ContrastiveLoss(model, distance_metric=distance, margin=margin, **kwargs)
    raise SystemExit(f"loss {loss!r} has no sentence-transformers twin in this benchmark")


def dev_selection(eval_steps: int | None, evaluate: Callable[[Any], None]) -> Any:
    """A ``transformers`` callback that calls ``evaluate(state)`` when textsiam would evaluate: every ``eval_steps``
    steps (else at each epoch's end) and at the last step, so the peer's checkpoint is chosen by textsiam's rule."""
    from transformers import TrainerCallback

    class DevSelection(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
            if eval_steps and state.global_step % eval_steps == 0:
                evaluate(state)
            return control

        def on_epoch_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
            if not eval_steps:
                evaluate(state)
            return control

        def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
            evaluate(state)  # the last step, when max_steps ends training between two evaluations
            return control

    return DevSelection()


#: the dev choice so far, written at each checkpoint (``{"step", "history", "best_step", "best_value"}``)
SELECTION_FILE = "dev_selection.json"
#: the best weights so far, written at each checkpoint where they changed
BEST_DIR = "best_model"


def saved_selection_step(out_dir: Path) -> int | None:
    """The checkpoint step whose dev choice ``out_dir`` holds (``SELECTION_FILE``), None without a readable one."""
    try:
        return int(json.loads((Path(out_dir) / SELECTION_FILE).read_text(encoding="utf-8"))["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def persist_selection(out_dir: Path, model: Any, history: list[dict[str, float]], best: dict[str, Any]) -> Any:
    """A ``transformers`` callback that writes the dev choice so far at every checkpoint save: the best weights
    (when they changed since the last save) to ``out_dir/BEST_DIR``, then ``out_dir/SELECTION_FILE`` naming the
    checkpoint's step, each replaced whole, never half-written."""
    import shutil

    from transformers import TrainerCallback

    class PersistSelection(TrainerCallback):
        written: int | None = best["step"]  # the best step whose weights are on disk (restored ones are)

        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
            if best["state"] is not None and best["step"] != self.written:
                partial = out_dir / f"{BEST_DIR}.partial"
                shutil.rmtree(partial, ignore_errors=True)
                current = copy.deepcopy(model.state_dict())
                model.load_state_dict(best["state"])
                model.save(str(partial))
                model.load_state_dict(current)
                shutil.rmtree(out_dir / BEST_DIR, ignore_errors=True)
                partial.rename(out_dir / BEST_DIR)
                self.written = best["step"]
            saved = {"step": state.global_step, "history": history, "best_step": best["step"]}
            saved["best_value"] = best["value"] if best["state"] is not None else None
            partial = out_dir / f"{SELECTION_FILE}.partial"
            partial.write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
            partial.replace(out_dir / SELECTION_FILE)
            return control

    return PersistSelection()


def train_st(
    config: Any,
    tasks: Mapping[str, Mapping[str, Any]],
    sampler: str,
    start_model: str | None,
    out_dir: Path,
    callbacks: list[Any] | None = None,
    resume_from: Path | None = None,
) -> dict[str, Any]:
    """Train the multi-task recipe with sentence-transformers; save the best model to ``out_dir/model``.

    ``callbacks``: extra ``transformers.TrainerCallback`` objects (as ``textsiam.training.train`` takes them).
    ``resume_from``: a checkpoint folder of an earlier attempt in ``out_dir/checkpoints`` to continue from; the dev
    choice written with it (:func:`persist_selection`) must be that checkpoint's.

    Returns the run's record: wall time of ``trainer.train()`` (dev evaluations and checkpoints included, as
    textsiam's ``train_wall_time_s``), steps, loss, the dev history and the best dev value.
    """
    import datasets
    import torch
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Arguments
    from transformers import set_seed

    from textsiam.model.loading import default_model_path
    from textsiam.model.prompted import with_prompt
    from textsiam.training.prompts import task_prompts

    built = {name: task_data(name, entry, config) for name, entry in tasks.items()}
    for name, task in built.items():
        logger.info("sentence-transformers task %s: %s", name, task["info"])
    set_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(str(start_model or default_model_path()), device=device)
    train = datasets.DatasetDict({name: task["train"] for name, task in built.items()})
    loss = {name: st_loss(model, task["info"]["loss"], task["info"]["loss_kwargs"]) for name, task in built.items()}
    devs = {name: task["dev"] for name, task in built.items() if task["dev"] is not None}
    prompts = task_prompts(config.prompts, list(built), multi=True)  # {task: prefix}, "" for none
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"value": float("-inf"), "state": None, "step": None}
    if resume_from is not None:
        step = int(Path(resume_from).name.rsplit("-", 1)[1])
        if saved_selection_step(out_dir) != step:
            raise ValueError(f"{out_dir / SELECTION_FILE}: not the dev choice of {resume_from}; train from the start")
        saved = json.loads((out_dir / SELECTION_FILE).read_text(encoding="utf-8"))
        history += saved["history"]
        if saved["best_step"] is not None:
            best_weights = SentenceTransformer(str(out_dir / BEST_DIR), device=device).state_dict()
            best.update(value=saved["best_value"], step=saved["best_step"], state=best_weights)

    def evaluate(state: Any) -> None:
        if not devs or (history and history[-1]["step"] == state.global_step):
            return
        row: dict[str, float] = {"step": state.global_step, "epoch": float(state.epoch or 0)}
        for name, metric in devs.items():
            row[f"{name}_{metric.metric_name}"] = float(metric(with_prompt(model, prompts[name])))
        values = [v for k, v in row.items() if k not in ("step", "epoch")]
        row["mean_dev"] = sum(values) / len(values)
        history.append(row)
        logger.info("sentence-transformers step %d: dev %s", state.global_step, row)
        if row["mean_dev"] > best["value"]:
            best.update(value=row["mean_dev"], step=state.global_step, state=copy.deepcopy(model.state_dict()))

    save = (
        {"save_strategy": "steps", "save_steps": config.eval_steps} if config.eval_steps else {"save_strategy": "epoch"}
    )
    args = Arguments(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float < 1 is a ratio
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy="no",
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        multi_dataset_batch_sampler=sampler,
        prompts={name: p for name, p in prompts.items() if p} or None,  # {dataset name: prefix}, as textsiam's
        report_to="none",
        use_cpu=device == "cpu",
        disable_tqdm=True,
        **save,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train,
        loss=loss,
        callbacks=[
            dev_selection(config.eval_steps, evaluate),
            persist_selection(out_dir, model, history, best),
            *(callbacks or []),
        ],
    )
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from is not None else None)
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
        "dev_metric": "mean_dev" if devs else None,
        "dev_history": history,
        "best_step": best["step"],
        "best_dev": best["value"] if best["state"] is not None else None,
        "multi_dataset_batch_sampler": sampler,
        "prompts": {name: p for name, p in prompts.items() if p},
        "tasks": {name: task["info"] for name, task in built.items()},
        "examples": ", ".join(f"{name} {task['info']['n_train_pairs']}" for name, task in built.items()),
        "selection": SELECTION,
    }
