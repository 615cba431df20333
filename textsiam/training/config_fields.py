"""The fields of a training run and what each one means: :class:`TrainFields`, the data of
:class:`~textsiam.training.config.TrainConfig`.

Each field's help text lives in its ``dataclasses.field`` metadata (``metadata={"help": ...}``, read by
:func:`field_help`): ``textsiam train --list-options`` prints it, and :meth:`TrainConfig.to_yaml
<textsiam.training.config.TrainConfig.to_yaml>` writes it as the comment of each line. The fields live apart from
:class:`~textsiam.training.config.TrainConfig` (which adds files, ``--set`` overrides and validation) so that the
checks in :mod:`textsiam.training.config_checks` can name their type without importing the config module.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from textsiam.losses import LOSSES

#: Short names accepted by ``--set`` (and in config files, and in a teacher's ``train`` mapping) for some fields.
ALIASES: dict[str, str] = {
    "lr": "learning_rate",
    "bs": "batch_size",
    "num_epochs": "epochs",
    "num_train_epochs": "epochs",
    "grad_accum": "gradient_accumulation_steps",
}


def setting(default: Any = dataclasses.MISSING, text: str = "", *, factory: Callable[[], Any] | None = None) -> Any:
    """A dataclass field with a ``default`` (or a default ``factory``) and its help ``text`` in the metadata."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"help": text})
    return dataclasses.field(default=default, metadata={"help": text})


@dataclass
class TrainFields:
    """Everything that defines one fine-tuning run; ``textsiam train --list-options`` describes each field."""

    # ---------------------------------------------------------------------------------------- model
    model: str | None = setting(None, "start model: model dir or Hub name; None = the embedded all-MiniLM-L6-v2")
    model_type: str = setting(
        "siamese",
        "siamese: a twin tower that embeds each text (SiameseModel) | cross_encoder: one transformer reads both texts "
        "and a head scores the pair (CrossEncoder; `model` with its head, or a new head on an encoder: None = the "
        "embedded all-MiniLM-L6-v2 with a new head); see docs/cross-encoder.md",
    )
    pooling: str | None = setting(None, "override the model's pooling: mean | cls | max | weighted_mean; None = keep")
    similarity: str | None = setting(
        None, "override the similarity function: cosine | dot | euclidean | manhattan | malstm; None = keep"
    )
    max_seq_length: int | None = setting(None, "override the token limit (longer inputs are truncated); None = keep")
    teacher_model: str | None = setting(
        None, "losses with a teacher (mse): the model whose embeddings are the targets; None = the embedded default"
    )
    encoder: str = setting(
        "transformer", "transformer: train `model` as loaded | lstm | cnn: a new tower with `model`'s tokenizer"
    )
    encoder_args: dict[str, Any] = setting(
        factory=dict, text="lstm / cnn: settings of the new tower, e.g. {hidden_size: 256}"
    )
    # ---------------------------------------------------------------------------------------- data
    train_dataset: str = setting(
        "stsb", "benchmark name (stsb, sick, sick-e, mrpc, quora) or a CSV/TSV/JSONL file of pairs"
    )
    train_split: str = setting("train", "split of train_dataset used for training")
    dev_dataset: str | None = setting(
        "stsb", "dev set for early stopping / best-model choice (name or file); None = no dev"
    )
    dev_split: str = setting("dev", "split of dev_dataset")
    test_datasets: list[str] = setting(factory=list, text="evaluated on split 'test' after training, e.g. [stsb]")
    data_dir: str | None = setting(None, "folder with stsb/ sick/ mrpc/ quora/; None = $TEXTSIAM_DATA, else the HF Hub")
    max_train_pairs: int | None = setting(
        None, "use a deterministic random subsample (seeded) of this many training pairs; None = all"
    )
    max_dev_pairs: int | None = setting(None, "same for the dev pairs (faster dev evaluation); None = all")
    label_column: str | None = setting(
        "label",
        "column holding the label: 'label' also finds sentence-transformers' names (score, is_duplicate, ...); "
        "another name (e.g. label3 for 3-way SICK-E); null = no label (e.g. anchor, positive pairs)",
    )
    text_a_column: str | None = setting(
        None, "column of the first text (None: text_a, sentence1, anchor, question1, text, ...); every split"
    )
    text_b_column: str | None = setting(
        None, "column of the second text (None: text_b, sentence2, positive, question2, ...); every split"
    )
    text_c_column: str | None = setting(
        None, "column of a third text, the negative of a triplet (None: text_c, negative); every split"
    )
    label_transform: str = setting(
        "auto", "auto | none | scale (score -> [0, 1] by its range) | binarize (>= binarize_threshold -> 1)"
    )
    binarize_threshold: float | None = setting(
        None, "label_transform=binarize: scores >= this become 1 (e.g. 4.0 on STS-B)"
    )
    pos_neg_ratio: float | None = setting(
        None, "0/1 pair losses: resample to this positives:negatives ratio (1.0 = balanced)"
    )
    hard_negatives: bool = setting(
        False, "losses that take a hard negative (triplet, mnrl): mine it with the start model instead of random"
    )
    augment: str = setting("none", "text augmentation of training texts: none | delete (random word deletion) | swap")
    augment_prob: float = setting(0.1, "augment: per-word deletion probability, or swaps per word")
    train_datasets: dict[str, dict[str, Any]] = setting(
        factory=dict,
        text="multi-task training: {task: {dataset, split, loss, loss_kwargs, dev_dataset, dev_split, ...}}; "
        "replaces train_dataset and dev_dataset (see docs/training.md)",
    )
    multi_dataset_batch_sampler: str = setting(
        "proportional",
        "several train_datasets: proportional (every batch of every task, in a seeded order) | round_robin (one "
        "batch per task in turn, until the smallest task runs out); each batch comes from one task",
    )
    prompts: str | dict[str, str] | None = setting(
        None,
        "a prefix before every training, dev and test text: one string, or {task: prefix} with train_datasets "
        "(e.g. {stsb: 'similarity: ', sick: 'relatedness: '}); the model keeps them as named prompts",
    )
    # ---------------------------------------------------------------------------------------- silver pairs
    silver_teacher: str | dict[str, Any] | list[str | dict[str, Any]] | None = setting(
        None,
        "Augmented SBERT: a teacher labels new pairs of the training texts (silver pairs) and the twin tower trains "
        "on gold + silver: a cross-encoder or twin-tower folder / Hub name, or {train: {settings}}: a teacher trained "
        "first on the gold pairs (a cross-encoder from `model` unless the settings say otherwise; into "
        "output_dir/teachers/N), or a list of them (an ensemble: the mean of their scores, each mapped onto the gold "
        "scale); None = off (see docs/cross-encoder.md)",
    )
    silver_strategies: list[str] = setting(
        factory=lambda: ["bm25"],
        text="silver_teacher: how pairs of the distinct training texts are sampled: bm25 (each text's top BM25 "
        "neighbours) | nn (its nearest neighbours by cosine of the start model's embeddings) | random; the default "
        "bm25 was chosen on STS-B dev (docs/cross-encoder.md)",
    )
    silver_texts: list[str] = setting(
        factory=lambda: ["train"],
        text="silver_teacher: the texts pairs are sampled from, the distinct texts of all these sources together: "
        "train (the training texts), NAME:SPLIT of a benchmark (e.g. sick:train), a .txt file (one text per line) "
        "or a data file (its text columns); labels unused",
    )
    silver_per_text: int = setting(
        3,
        "silver_teacher: partners per text from each strategy (its top k); a text with itself, pairs already in "
        "gold and repeats (either order) are left out",
    )
    silver_max_pairs: int | None = setting(
        10_000,
        "silver_teacher: at most this many silver pairs (a seeded random subsample); None = all (10,000: the best "
        "on STS-B dev of 2,500, 5,000 and 10,000)",
    )
    silver_mapping: str = setting(
        "isotonic",
        "silver_teacher: the monotone map from teacher scores onto the gold label scale, fitted on the gold "
        "training pairs: isotonic | linear; 0/1 gold labels: a silver label is 1 when the mapped score >= 0.5",
    )
    silver_label_match: bool = setting(
        False,
        "silver_teacher: keep only silver pairs whose labels follow the gold labels' distribution (0/1 labels by "
        "class, graded ones in 10 bins of the gold range; the largest seeded subsample that fits, after labelling); "
        "false = every labelled pair",
    )
    silver_batch_size: int = setting(32, "silver_teacher: pairs (or texts) per teacher forward pass")
    silver_prompt_name: str | None = setting(
        None,
        "silver_teacher: the saved prompt (by name) each twin-tower teacher encodes the texts with when it labels, "
        "e.g. the task of a multi-task model trained with prompts (quora); every twin-tower teacher must have it; "
        "cross-encoders take no prompt; None = each teacher's default prompt, if it has one",
    )
    # ---------------------------------------------------------------------------------------- loss
    loss: str | None = setting(
        None,
        "loss registry name (textsiam.losses.LOSSES), e.g. cosent, cosine_similarity, mnrl; for a cross_encoder "
        "binary_cross_entropy, cross_entropy, cross_encoder_mse; None = chosen from the data's format and labels "
        "(the run logs which)",
    )
    loss_kwargs: dict[str, Any] = setting(factory=dict, text="keyword arguments of the loss (e.g. {scale: 20.0})")
    # ---------------------------------------------------------------------------------------- optimisation
    epochs: float = setting(4.0, "passes over the training examples (may be fractional)")
    max_steps: int | None = setting(
        None, "stop after this many optimiser steps (overrides epochs for the schedule); None = off"
    )
    batch_size: int = setting(16, "examples per device per forward pass")
    learning_rate: float = setting(2e-5, "peak AdamW learning rate (alias: lr)")
    warmup_ratio: float = setting(0.1, "fraction of the optimiser steps with linear learning-rate warm-up")
    lr_scheduler: str = setting("linear", "learning-rate decay after warm-up: linear | cosine | constant")
    weight_decay: float = setting(0.01, "AdamW decoupled weight decay (not applied to biases and LayerNorm weights)")
    max_grad_norm: float = setting(1.0, "clip the gradient to this global L2 norm; 0 = no clipping")
    gradient_accumulation_steps: int = setting(1, "forward/backward passes per optimiser step")
    bf16: bool = setting(False, "bfloat16 autocast (GPUs with bf16 support; on CPU it works but is rarely faster)")
    seed: int = setting(42, "seeds weights of new layers, dropout, data order, subsampling and augmentation")
    no_duplicates_in_batch: bool | None = setting(
        None, "no text twice in a batch; None = on for losses with in-batch negatives (mnrl, simcse)"
    )
    fgm_epsilon: float = setting(0.0, "FGM adversarial training on the word embeddings with this step size; 0 = off")
    checkpoint_soup: bool = setting(
        False, "after training: greedy soup of the kept checkpoints, on dev (keep them: save_total_limit null)"
    )
    wise_alphas: list[float] = setting(factory=list, text="WiSE-FT: α·tuned + (1-α)·start weights to try; dev picks")
    # ---------------------------------------------------------------------------------------- evaluation / checkpoints
    eval_steps: int | None = setting(
        None, "dev evaluation (and checkpoint) every this many steps; None = once per epoch"
    )
    early_stopping_patience: int | None = setting(
        None, "stop after this many dev evaluations without improvement; None = off"
    )
    save_total_limit: int | None = setting(
        2, "keep at most this many checkpoints (the best one is always kept); None = all"
    )
    logging_steps: int = setting(50, "log the training loss every this many optimiser steps")
    eval_batch_size: int = setting(64, "texts per forward pass when encoding for evaluation")
    n_resamples: int = setting(1000, "bootstrap resamples for the confidence intervals of the final evaluation")
    output_dir: str = setting("runs/textsiam", "run folder: checkpoints/, model/, evaluation.json, train_config.yaml")
    dataloader_num_workers: int = setting(0, "DataLoader worker processes for tokenisation (0 = main process)")

    # ------------------------------------------------------------------------------------------ derived
    @property
    def label_kind(self) -> str:
        """The label kind the loss expects (its class's ``label_kind``; ``"unknown"`` for an unknown loss)."""
        spec = LOSSES.get(self.loss)
        return spec.label_kind if spec is not None else "unknown"

    @property
    def use_no_duplicates(self) -> bool:
        """Whether the batch sampler keeps duplicate texts out of a batch (``no_duplicates_in_batch`` resolved).

        ``None`` means: on for losses whose batches use the other examples as negatives (``in_batch_negatives``).
        """
        if self.no_duplicates_in_batch is not None:
            return bool(self.no_duplicates_in_batch)
        spec = LOSSES.get(self.loss)
        return spec is not None and spec.in_batch_negatives


@functools.cache
def field_types(cls: type = TrainFields) -> dict[str, Any]:
    """``{field: type hint}`` of a config class (the annotations resolved by ``typing.get_type_hints``).

    The mapping is cached: do not modify it.
    """
    return typing.get_type_hints(cls)


def field_help(cls: type = TrainFields) -> dict[str, str]:
    """``{field: help text}`` from each field's ``metadata["help"]``."""
    return {f.name: str(f.metadata.get("help", "")) for f in fields(cls)}
