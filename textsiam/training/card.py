"""The model card (``README.md``) written next to a trained model."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

from textsiam.evaluation import EvaluationResults
from textsiam.io_utils import atomic_open
from textsiam.model.loading import EMBEDDED_NAMES

__all__ = ["model_card", "write_model_card"]

_HYPER_PARAMETERS = (
    "model_type",
    "loss",
    "loss_kwargs",
    "label_transform",
    "binarize_threshold",
    "pos_neg_ratio",
    "hard_negatives",
    "epochs",
    "max_steps",
    "batch_size",
    "gradient_accumulation_steps",
    "learning_rate",
    "warmup_ratio",
    "lr_scheduler",
    "weight_decay",
    "max_grad_norm",
    "bf16",
    "seed",
    "no_duplicates_in_batch",
    "fgm_epsilon",
    "checkpoint_soup",
    "wise_alphas",
    "augment",
    "augment_prob",
    "eval_steps",
    "early_stopping_patience",
    "max_train_pairs",
    "max_dev_pairs",
    "pooling",
    "similarity",
    "max_seq_length",
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "–" if value is None else str(value)


def _results_table(results: EvaluationResults) -> str:
    lines = ["| dataset | split | metric | value | 95% CI | pairs |", "|---|---|---|---:|---:|---:|"]
    for res in results:
        for key in [k for k in res.get("main_metrics", []) if k in res.get("metrics", {})] or [res["primary_metric"]]:
            ci = res.get("ci", {}).get(key) or {}
            ci_text = f"[{_fmt(ci.get('low'))}, {_fmt(ci.get('high'))}]" if ci else ""
            metric = f"**{key}**" if key == res["primary_metric"] else key
            lines.append(
                f"| {res['dataset']} | {res['split']} | {metric} | {_fmt(res['metrics'][key])} | {ci_text} "
                f"| {res.get('n_pairs', '')} |"
            )
    return "\n".join(lines)


def base_model_id(model: Any) -> str | None:
    """The Hub id of a run's start model for the card's ``base_model:`` field, or ``None`` for a local folder
    (a card must not publish a path on the training machine)."""
    if model is None or str(model) in EMBEDDED_NAMES:
        return "sentence-transformers/all-MiniLM-L6-v2"
    name = str(model)
    if name.startswith((".", "/", "~")) or Path(name).expanduser().exists() or name.count("/") > 1:
        return None
    return name


def model_card(info: dict[str, Any]) -> str:
    """Markdown model card from a dict with ``config`` (a dict), ``base_model``, ``examples``, ``evaluation``
    (:class:`EvaluationResults` or ``None``), ``train_wall_time_s``, ``global_step``, ``best_checkpoint``,
    ``best_metric``, ``metric_name``, ``dev_history``, ``command``, ``config_file`` and ``versions``."""
    cfg: dict[str, Any] = info["config"]
    cross = cfg.get("model_type") == "cross_encoder"
    lines = [
        "---",
        "library_name: textsiam",
        f"tags: [{_CROSS_ENCODER_TAGS if cross else _TWIN_TOWER_TAGS}, textsiam]",
        *([f"base_model: {hub}"] if (hub := base_model_id(cfg.get("model"))) else []),
        f"pipeline_tag: {'text-ranking' if cross else 'sentence-similarity'}",
        "---",
        "",
        f"# {Path(cfg['output_dir']).name or 'textsiam model'}",
        "",
        *(_cross_encoder_intro(info) if cross else _twin_tower_intro(info)),
        "",
        "## Training",
        "",
        f"- **Base model:** `{info['base_model']}`",
        *_data_lines(cfg, info),
        f"- **Test data:** {', '.join(f'`{d}`' for d in cfg.get('test_datasets') or []) or 'none'}",
        f"- **Optimiser steps:** {info.get('global_step')}",
        f"- **Training wall time:** {info.get('train_wall_time_s', 0.0):.1f} s",
    ]
    if info.get("metric_name") and info.get("best_metric") is not None:
        lines.append(
            f"- **Selected checkpoint:** `{Path(str(info.get('best_checkpoint') or '')).name or 'last'}` "
            f"(dev {info['metric_name']} = {info['best_metric']:.2f})"
        )
    averaging = info.get("averaging")
    if averaging:
        members = averaging.get("soup_members") or []
        soup = f"greedy soup of {', '.join(f'`{m}`' for m in members)}" if len(members) > 1 else "no soup"
        lines.append(
            f"- **Weight averaging (chosen on dev):** {soup}; WiSE-FT alpha {averaging.get('wise_alpha', 1.0):.2f}; "
            f"dev {averaging.get('best_checkpoint_dev', 0.0):.2f} -> {averaging.get('final_dev', 0.0):.2f}"
        )
    lines += ["", "### Hyper-parameters", "", "| name | value |", "|---|---|"]
    lines += [f"| {key} | `{cfg.get(key)}` |" for key in _HYPER_PARAMETERS if key in cfg]
    history = info.get("dev_history") or []
    if history:
        name = info.get("metric_name")
        lines += ["", "### Dev metric during training", "", f"| step | epoch | {name} |", "|---:|---:|---:|"]
        lines += [f"| {h['step']} | {h['epoch']:.2f} | {h.get(name, float('nan')):.2f} |" for h in history]
    evaluation: EvaluationResults | None = info.get("evaluation")
    if evaluation is not None and len(evaluation):
        lines += [
            "",
            "## Evaluation",
            "",
            f"All values ×100; 95% bootstrap confidence intervals over pairs ({evaluation.n_resamples} resamples, "
            f"seed {evaluation.seed}). Classification thresholds are chosen on each dataset's dev split.",
            "",
            _results_table(evaluation),
        ]
    lines += [
        "",
        "## Reproduce",
        "",
        "```bash",
        info["command"],
        "```",
        "",
        f"The full resolved config is `{info.get('config_file', 'train_config.yaml')}` in the run folder.",
    ]
    versions = info.get("versions") or {}
    if versions:
        lines += ["", "Package versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."]
    lines += ["", f"_Card written {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}._", ""]
    return "\n".join(lines)


_TWIN_TOWER_TAGS = "sentence-similarity, siamese-network, sentence-embeddings"
_CROSS_ENCODER_TAGS = "cross-encoder, reranker, text-ranking"


def _twin_tower_intro(info: dict[str, Any]) -> list[str]:
    return [
        f"A Siamese (twin-tower) sentence encoder fine-tuned with textsiam from `{info['base_model']}`.",
        "",
        "```python",
        "from textsiam import SiameseModel",
        "",
        'model = SiameseModel.from_pretrained("path/to/this/folder")',
        'model.similarity("A man is playing a guitar.", "Someone plays an instrument.")',
        "```",
        "",
        "The folder is also a plain Hugging Face checkpoint (`transformers.AutoModel.from_pretrained`).",
    ]


def _cross_encoder_intro(info: dict[str, Any]) -> list[str]:
    return [
        f"A cross-encoder fine-tuned with textsiam from `{info['base_model']}`: one transformer reads both texts of a "
        "pair together and a head scores the pair (a re-ranker: it scores given pairs, it does not embed texts).",
        "",
        "```python",
        "from textsiam import CrossEncoder",
        "",
        'model = CrossEncoder("path/to/this/folder")',
        'model.predict([("How old is Anna?", "Anna is 30."), ("How old is Anna?", "Paris is in France.")])',
        "```",
        "",
        "The folder is also a sentence-transformers `CrossEncoder` folder and a Hugging Face "
        "`AutoModelForSequenceClassification` checkpoint.",
    ]


def write_model_card(directory: str | os.PathLike[str], info: dict[str, Any]) -> Path:
    """Write :func:`model_card` to ``directory/README.md`` atomically; returns the path."""
    path = Path(directory) / "README.md"
    with atomic_open(path) as fh:
        fh.write(model_card(info))
    return path


def _data_lines(cfg: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """The training data, dev data and loss lines: one set, or one line per task of a multi-task run
    (``info["tasks"]``: ``{task: {dataset, split, loss, loss_kwargs, dev_dataset, dev_split}}``)."""
    tasks = info.get("tasks") or {}
    if len(tasks) < 2:
        dev = "none (last step kept)"
        if cfg.get("dev_dataset"):
            dev = f"`{cfg['dev_dataset']}` split `{cfg['dev_split']}`"
        kwargs = f" with `{cfg['loss_kwargs']}`" if cfg.get("loss_kwargs") else ""
        return [
            f"- **Training data:** `{cfg['train_dataset']}` split `{cfg['train_split']}`: {info['examples']}",
            f"- **Dev data (model selection):** {dev}",
            f"- **Loss:** `{cfg['loss']}`{kwargs}",
        ]
    lines = [
        f"- **Multi-task training** ({len(tasks)} tasks, batches mixed `{cfg.get('multi_dataset_batch_sampler')}`, "
        "each batch from one task; the mean of the tasks' dev metrics picks the checkpoint):"
    ]
    for name, task in tasks.items():
        kwargs = f" with `{task['loss_kwargs']}`" if task.get("loss_kwargs") else ""
        dev = ", no dev data"
        if task.get("dev_dataset"):
            dev = f", dev `{task['dev_dataset']}` split `{task['dev_split']}`"
        lines.append(f"  - `{name}`: `{task['dataset']}` split `{task['split']}`, loss `{task['loss']}`{kwargs}{dev}")
    lines.append(f"- **Training examples:** {info['examples']}")
    return lines
