"""The training recipe: :class:`TrainConfig`, read from YAML / JSON and overridable with ``--set key=value``.

Every field carries a ``#`` comment that says what it does (:func:`field_help` reads them back for
``textsiam train --list-options``). :meth:`TrainConfig.validate` checks a config *before* any data or
model is loaded, so a typo fails in a second instead of after a model download.

Example::

    cfg = TrainConfig.from_file("benchmarks/configs/stsb.yaml")
    cfg = cfg.with_overrides(["lr=3e-5", "epochs=2"])
    cfg.validate()
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import math
import numbers
import os
import re
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union

from textsiam.training.augment import AUGMENTATIONS

logger = logging.getLogger(__name__)

#: Short names accepted by ``--set`` (and in config files) for some fields.
ALIASES: dict[str, str] = {
    "lr": "learning_rate",
    "bs": "batch_size",
    "num_epochs": "epochs",
    "num_train_epochs": "epochs",
    "grad_accum": "gradient_accumulation_steps",
}

LABEL_TRANSFORMS: tuple[str, ...] = ("auto", "none", "scale", "binarize")
#: ``encoder`` values: ``transformer`` loads ``model`` as it is (any saved tower); the others build a new tower.
ENCODER_CHOICES: tuple[str, ...] = ("transformer", "lstm", "cnn")
#: ``encoder_args`` keys besides the tower config's fields (arguments of ``SiameseModel.lstm`` / ``.cnn``).
TOWER_OPTIONS: tuple[str, ...] = ("embeddings", "projection_dim", "projection_activation", "normalize")
LR_SCHEDULERS: tuple[str, ...] = ("linear", "cosine", "constant")

#: Loss names whose batches use the other examples as negatives (duplicates there are false negatives).
IN_BATCH_NEGATIVE_LOSSES: frozenset[str] = frozenset({"mnrl", "simcse"})


class ConfigError(ValueError):
    """A training config is invalid. ``problems`` lists every problem found (the message shows them all)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid training config ({len(self.problems)} problem(s)):\n{lines}")


@dataclass
class TrainConfig:
    """Everything that defines one fine-tuning run. See the comment on each field."""

    # ---------------------------------------------------------------------------------------- model
    model: str | None = None  # start model: model dir or Hub name; None = the embedded all-MiniLM-L6-v2
    pooling: str | None = None  # override the model's pooling: mean | cls | max | weighted_mean; None = keep
    similarity: str | None = None  # override the similarity function: cosine | dot | euclidean | manhattan | malstm
    max_seq_length: int | None = None  # override the token limit (longer inputs are truncated); None = keep
    teacher_model: str | None = None  # loss=mse only: teacher whose embeddings are the targets; None = embedded default
    encoder: str = "transformer"  # transformer: train `model` as loaded | lstm | cnn: new tower, `model`'s tokenizer
    encoder_args: dict[str, Any] = field(default_factory=dict)  # lstm/cnn: tower settings, e.g. {hidden_size: 256}
    # ---------------------------------------------------------------------------------------- data
    train_dataset: str = "stsb"  # benchmark name (stsb, sick, sick-e, mrpc, quora) or a CSV/TSV/JSONL file of pairs
    train_split: str = "train"  # split of train_dataset used for training
    dev_dataset: str | None = "stsb"  # dev set for early stopping / best-model choice (name or file); None = no dev
    dev_split: str = "dev"  # split of dev_dataset
    test_datasets: list[str] = field(default_factory=list)  # evaluated on split "test" after training, e.g. [stsb]
    data_dir: str | None = None  # folder with stsb/ sick/ mrpc/ quora/; None = $TEXTSIAM_DATA, else the HF Hub
    max_train_pairs: int | None = None  # use a deterministic random subsample (seeded) of this many training pairs
    max_dev_pairs: int | None = None  # same for the dev pairs (faster dev evaluation); None = all
    label_column: str = "label"  # column of the data files holding the label (e.g. label3 for 3-way SICK-E)
    label_transform: str = "auto"  # auto | none | scale (score -> [0, 1] by its range) | binarize (>= threshold -> 1)
    binarize_threshold: float | None = None  # label_transform=binarize: scores >= this become 1 (e.g. 4.0 on STS-B)
    pos_neg_ratio: float | None = None  # 0/1 pair losses: resample to this positives:negatives ratio (1.0 = balanced)
    hard_negatives: bool = False  # triplet / mnrl: mine each anchor's negative with the start model instead of random
    augment: str = "none"  # text augmentation of training texts: none | delete (random word deletion) | swap
    augment_prob: float = 0.1  # augment: per-word deletion probability, or swaps per word
    # ---------------------------------------------------------------------------------------- loss
    loss: str = "cosent"  # loss registry name (textsiam.losses.LOSSES), e.g. cosent, cosine_similarity, mnrl
    loss_kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the loss (e.g. {scale: 20.0})
    # ---------------------------------------------------------------------------------------- optimisation
    epochs: float = 4.0  # passes over the training examples (may be fractional)
    max_steps: int | None = None  # stop after this many optimiser steps (overrides epochs for the schedule); None = off
    batch_size: int = 16  # examples per device per forward pass
    learning_rate: float = 2e-5  # peak AdamW learning rate (alias: lr)
    warmup_ratio: float = 0.1  # fraction of the optimiser steps with linear learning-rate warm-up
    lr_scheduler: str = "linear"  # learning-rate decay after warm-up: linear | cosine | constant
    weight_decay: float = 0.01  # AdamW decoupled weight decay (not applied to biases and LayerNorm weights)
    max_grad_norm: float = 1.0  # clip the gradient to this global L2 norm; 0 = no clipping
    gradient_accumulation_steps: int = 1  # forward/backward passes per optimiser step
    bf16: bool = False  # bfloat16 autocast (GPUs with bf16 support; on CPU it works but is rarely faster)
    seed: int = 42  # seeds weights of new layers, dropout, data order, subsampling and augmentation
    no_duplicates_in_batch: bool | None = None  # no text twice in a batch; None = on for in-batch-negative losses
    fgm_epsilon: float = 0.0  # FGM adversarial training on the word embeddings with this step size; 0 = off
    checkpoint_soup: bool = False  # after training: greedy soup of the kept checkpoints, on dev (keep them: limit null)
    wise_alphas: list[float] = field(default_factory=list)  # WiSE-FT: α·tuned + (1-α)·start weights to try; dev picks
    # ---------------------------------------------------------------------------------------- evaluation / checkpoints
    eval_steps: int | None = None  # dev evaluation (and checkpoint) every this many steps; None = once per epoch
    early_stopping_patience: int | None = None  # stop after this many dev evaluations without improvement; None = off
    save_total_limit: int | None = 2  # keep at most this many checkpoints (the best one is always kept); None = all
    logging_steps: int = 50  # log the training loss every this many optimiser steps
    eval_batch_size: int = 64  # texts per forward pass when encoding for evaluation
    n_resamples: int = 1000  # bootstrap resamples for the confidence intervals of the final evaluation
    output_dir: str = "runs/textsiam"  # run folder: checkpoints/, model/, evaluation.json, train_config.yaml
    dataloader_num_workers: int = 0  # DataLoader worker processes for tokenisation (0 = main process)

    # ------------------------------------------------------------------------------------------ io
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a config from a mapping; aliases are accepted, values are coerced to the field types.

        Raises:
            ConfigError: unknown keys (with the valid ones) or values that do not fit a field's type.
        """
        if not isinstance(data, dict):
            raise ConfigError([f"a config must be a mapping of field names to values, got {type(data).__name__}"])
        kwargs: dict[str, Any] = {}
        problems: list[str] = []
        for raw_key, value in data.items():
            try:
                key = resolve_key(str(raw_key))
                kwargs[key] = coerce_value(key, value)
            except (KeyError, ValueError, TypeError) as err:
                problems.append(_message(err))
        if problems:
            raise ConfigError(problems)
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a ``.yaml`` / ``.yml`` or ``.json`` config file."""
        p = Path(path).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"config file not found: {p}")
        try:
            text = p.read_bytes().decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as err:
            raise ConfigError([f"{p}: not valid UTF-8 (byte {err.start}: {err.reason})"]) from None
        if p.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as err:
                raise ConfigError([f"{p}: invalid JSON: {err}"]) from None
        else:
            import yaml

            try:
                data = yaml.safe_load(text)
            except (yaml.YAMLError, RecursionError) as err:
                raise ConfigError([f"{p}: invalid YAML: {err}"]) from None
        if data is None:
            data = {}
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError([f"{p}: {problem}" for problem in err.problems]) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write the config as YAML (``.yaml`` / ``.yml``) or JSON (``.json``); returns the path."""
        from textsiam.io_utils import atomic_open

        p = Path(path).expanduser()
        if p.suffix.lower() == ".json":
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        elif p.suffix.lower() in (".yaml", ".yml"):
            text = self.to_yaml()
        else:
            raise ValueError(f"config files must end with .yaml, .yml or .json, got {p.name}")
        with atomic_open(p) as fh:
            fh.write(text)
        return p

    def to_yaml(self) -> str:
        """YAML text of the config, one ``key: value`` line per field with its comment."""
        import yaml

        helps = field_help()
        lines = []
        for f in fields(self):
            value = yaml.safe_dump({f.name: getattr(self, f.name)}, default_flow_style=True, width=10_000)
            value = value.strip()[1:-1]  # drop the {} of the flow mapping
            comment = helps.get(f.name, "")
            lines.append(f"{value}  # {comment}" if comment else value)
        return "\n".join(lines) + "\n"

    def with_overrides(self, assignments: list[str]) -> TrainConfig:
        """A copy with ``key=value`` assignments applied (``--set``); ``key.sub=value`` sets a dict entry.

        Values are parsed by the field's type: numbers, ``true``/``false``, ``none``/``null`` for
        optional fields, lists as ``a,b,c`` or JSON ``["a", "b"]``, dicts as JSON / YAML flow.
        """
        data = self.to_dict()
        problems: list[str] = []
        for item in assignments:
            if "=" not in item:
                problems.append(f"--set expects key=value, got {item!r}")
                continue
            raw_key, value = item.split("=", 1)
            raw_key = raw_key.strip()
            try:
                if "." in raw_key:
                    head, sub = raw_key.split(".", 1)
                    key = resolve_key(head)
                    if _field_types()[key] is not dict and not _is_dict_type(_field_types()[key]):
                        raise ValueError(f"{key} is not a mapping; {raw_key!r} cannot set an entry of it")
                    entry = dict(data.get(key) or {})
                    entry[sub] = _parse_scalar(value)
                    data[key] = entry
                else:
                    key = resolve_key(raw_key)
                    data[key] = coerce_value(key, value)
            except (KeyError, ValueError, TypeError) as err:
                problems.append(_message(err))
        if problems:
            raise ConfigError(problems)
        return type(self).from_dict(data)

    # ------------------------------------------------------------------------------------------ derived
    @property
    def label_kind(self) -> str:
        """The label kind the loss expects (:data:`textsiam.losses.LOSS_LABEL_KIND`; ``"unknown"`` for a bad loss)."""
        from textsiam.losses import LOSS_LABEL_KIND

        return LOSS_LABEL_KIND.get(self.loss, "unknown")

    @property
    def use_no_duplicates(self) -> bool:
        """Whether the batch sampler keeps duplicate texts out of a batch (``no_duplicates_in_batch`` resolved)."""
        if self.no_duplicates_in_batch is not None:
            return bool(self.no_duplicates_in_batch)
        return self.loss in IN_BATCH_NEGATIVE_LOSSES

    # ------------------------------------------------------------------------------------------ validation
    def validate(self) -> TrainConfig:
        """Check the config without loading data or models; raise :class:`ConfigError` listing every problem.

        Checks: the loss and its keyword arguments, dataset / split names, that the training labels fit the loss
        (e.g. graded STS scores with ``contrastive`` need ``label_transform: binarize``), and every number.
        Returns ``self`` so calls chain.
        """
        from textsiam.training.examples import check_label_compatibility

        problems = self._check_types()
        if problems:  # the checks below compare values and would fail on a value of the wrong type
            raise ConfigError(problems)
        problems += self._check_loss()
        problems += self._check_data()
        problems += self._check_numbers()
        problems += self._check_choices()
        if not any(p.startswith("unknown loss") for p in problems):
            problems += check_label_compatibility(self, dataset_task(self.train_dataset), "train_dataset")
        if problems:
            raise ConfigError(problems)
        return self

    def _check_types(self) -> list[str]:
        """Every field holds a value of its declared type; numbers are finite.

        A config built directly (``TrainConfig(bf16="false")``, no coercion) fails here rather than being read
        as ``bool("false") is True``. Booleans are real ``bool`` (not ``1`` or ``"false"``), integers are ``int``
        but not ``bool``, floats are finite ``int`` / ``float`` (no ``nan`` / ``inf``, not ``bool``).
        """
        problems: list[str] = []
        for name, tp in _field_types().items():
            value = getattr(self, name)
            base, optional = _strip_optional(tp)
            if value is None and optional:
                continue
            if typing.get_origin(base) is list:
                (item_type,) = typing.get_args(base) or (Any,)
                if not isinstance(value, list):
                    problems.append(f"{name}: expected a list, got {value!r}")
                elif item_type in (str, float, int, bool):
                    bad = [v for v in value if not _has_type(v, item_type)]
                    if bad:
                        what = {str: "strings", float: "finite numbers", int: "integers", bool: "booleans"}[item_type]
                        problems.append(f"{name}: expected a list of {what}, got the item {bad[0]!r}")
                continue
            if _is_dict_type(base):
                if not isinstance(value, dict):
                    problems.append(f"{name}: expected a mapping, got {value!r}")
                continue
            if base in (str, float, int, bool) and not _has_type(value, base):
                if base is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
                    problems.append(f"{name} must be a finite number, got {value!r}")
                else:
                    problems.append(f"{name}: expected {_type_name(tp)}, got {value!r}")
        return problems

    def _check_loss(self) -> list[str]:
        from textsiam.losses import LOSSES

        if self.loss not in LOSSES:
            return [f"unknown loss {self.loss!r}; valid losses: {', '.join(sorted(LOSSES))}"]
        problems = []
        if not isinstance(self.loss_kwargs, dict):
            return [f"loss_kwargs must be a mapping, got {type(self.loss_kwargs).__name__}"]
        params = inspect.signature(LOSSES[self.loss].__init__).parameters
        accepted = [n for n, p in params.items() if n != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]
        for key in self.loss_kwargs:
            if key not in accepted:
                problems.append(f"loss {self.loss!r} has no argument {key!r}; it accepts {accepted}")
        if "loss_fct" in self.loss_kwargs:
            problems.append("loss_kwargs.loss_fct cannot be set from a config")
        return problems

    def _check_data(self) -> list[str]:
        problems = []
        for attr, split_attr in (("train_dataset", "train_split"), ("dev_dataset", "dev_split")):
            name = getattr(self, attr)
            if name is None:
                if attr == "train_dataset":
                    problems.append("train_dataset is required")
                continue
            problems += _check_dataset(name, getattr(self, split_attr), attr)
        if not isinstance(self.test_datasets, list):
            problems.append("test_datasets must be a list of dataset names")
        else:
            for name in self.test_datasets:
                problems += _check_dataset(name, "test", "test_datasets", registry_only=True)
        if self.early_stopping_patience is not None and self.dev_dataset is None:
            problems.append("early_stopping_patience needs a dev_dataset to watch; set dev_dataset or remove it")
        for name, on in (("checkpoint_soup", self.checkpoint_soup), ("wise_alphas", bool(self.wise_alphas))):
            if on and self.dev_dataset is None:
                problems.append(f"{name} chooses weights on dev: set dev_dataset or turn {name} off")
        return problems

    def _check_numbers(self) -> list[str]:
        problems: list[str] = []

        def need(ok: bool, message: str) -> None:
            if not ok:
                problems.append(message)

        need(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        need(self.max_steps is None or self.max_steps >= 1, f"max_steps must be >= 1 or None, got {self.max_steps}")
        need(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        if self.loss in IN_BATCH_NEGATIVE_LOSSES or self.loss in ("cosent",) or self.label_kind == "class":
            need(self.batch_size >= 2, f"loss {self.loss!r} compares examples within a batch: batch_size must be >= 2")
        need(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        need(0 <= self.warmup_ratio < 1, f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        need(self.max_grad_norm >= 0, f"max_grad_norm must be >= 0 (0 = no clipping), got {self.max_grad_norm}")
        need(self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be >= 1")
        need(self.eval_steps is None or self.eval_steps >= 1, f"eval_steps must be >= 1 or None, got {self.eval_steps}")
        need(
            self.early_stopping_patience is None or self.early_stopping_patience >= 1,
            f"early_stopping_patience must be >= 1 or None, got {self.early_stopping_patience}",
        )
        need(
            self.save_total_limit is None or self.save_total_limit >= 1,
            f"save_total_limit must be >= 1 or None, got {self.save_total_limit}",
        )
        need(self.logging_steps >= 1, f"logging_steps must be >= 1, got {self.logging_steps}")
        need(self.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {self.eval_batch_size}")
        need(self.n_resamples >= 0, f"n_resamples must be >= 0 (0 = no CIs), got {self.n_resamples}")
        need(self.max_train_pairs is None or self.max_train_pairs >= 1, "max_train_pairs must be >= 1 or None")
        need(self.max_dev_pairs is None or self.max_dev_pairs >= 2, "max_dev_pairs must be >= 2 or None")
        need(self.max_seq_length is None or self.max_seq_length >= 1, "max_seq_length must be >= 1 or None")
        need(0 <= self.augment_prob <= 1, f"augment_prob must be in [0, 1], got {self.augment_prob}")
        need(
            all(0 < a <= 1 for a in self.wise_alphas),
            f"wise_alphas are weights of the fine-tuned model and must be in (0, 1], got {self.wise_alphas}",
        )
        need(self.fgm_epsilon >= 0, f"fgm_epsilon must be >= 0 (0 = off), got {self.fgm_epsilon}")
        need(self.pos_neg_ratio is None or self.pos_neg_ratio > 0, "pos_neg_ratio must be > 0 or None")
        need(self.dataloader_num_workers >= 0, "dataloader_num_workers must be >= 0")
        need(bool(str(self.output_dir).strip()), "output_dir must not be empty")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        return problems

    def _check_choices(self) -> list[str]:
        from textsiam.encoders.pooling import check_pooling_mode
        from textsiam.model.scoring import check_similarity_name

        problems = []
        if self.label_transform not in LABEL_TRANSFORMS:
            problems.append(f"unknown label_transform {self.label_transform!r}; choose one of {list(LABEL_TRANSFORMS)}")
        if self.label_transform == "binarize" and self.binarize_threshold is None:
            problems.append("label_transform=binarize needs binarize_threshold (e.g. 4.0 on STS-B)")
        if self.binarize_threshold is not None and self.label_transform not in ("binarize", "auto"):
            problems.append(f"binarize_threshold is set but label_transform is {self.label_transform!r}")
        if self.lr_scheduler not in LR_SCHEDULERS:
            problems.append(f"unknown lr_scheduler {self.lr_scheduler!r}; choose one of {list(LR_SCHEDULERS)}")
        if self.augment not in AUGMENTATIONS:
            problems.append(f"unknown augment {self.augment!r}; choose one of {list(AUGMENTATIONS)}")
        problems += self._check_encoder()
        checks = [("similarity", check_similarity_name)]
        if self.encoder not in ("lstm", "cnn"):  # the new towers check their own pooling modes
            checks.append(("pooling", check_pooling_mode))
        for attr, check in checks:
            value = getattr(self, attr)
            if value is not None:
                try:
                    check(value)
                except (ValueError, TypeError) as err:
                    problems.append(f"{attr}: {err}")
        if self.hard_negatives and self.label_kind not in ("triplet", "anchor_positive"):
            problems.append(f"hard_negatives applies to triplet and mnrl losses, not {self.loss!r}")
        if self.hard_negatives and self.loss == "simcse":
            problems.append("hard_negatives does not apply to simcse (it uses no negatives besides the batch)")
        if self.pos_neg_ratio is not None and self.label_kind not in ("binary", "float"):
            problems.append(f"pos_neg_ratio applies to pair losses with 0/1 labels, not {self.loss!r}")
        if self.teacher_model is not None and self.loss != "mse":
            problems.append("teacher_model is only used by loss=mse")
        return problems

    def _check_encoder(self) -> list[str]:
        """``encoder`` / ``encoder_args``: known names, and settings a new LSTM / CNN tower accepts."""
        if self.encoder not in ENCODER_CHOICES:
            return [f"unknown encoder {self.encoder!r}; choose one of {list(ENCODER_CHOICES)}"]
        if not isinstance(self.encoder_args, dict):
            return [f"encoder_args must be a mapping, got {type(self.encoder_args).__name__}"]
        if self.encoder == "transformer":
            if self.encoder_args:
                return ["encoder_args apply to a new tower (encoder: lstm or cnn), not to encoder: transformer"]
            return []
        from textsiam.encoders import CNNConfig, LSTMConfig

        config_class = LSTMConfig if self.encoder == "lstm" else CNNConfig
        names = [f.name for f in fields(config_class)]
        settings = {k: v for k, v in self.encoder_args.items() if k in names}
        unknown = sorted(set(self.encoder_args) - set(names) - set(TOWER_OPTIONS))
        if unknown:
            return [f"encoder_args: unknown {self.encoder} setting(s) {unknown}; valid: {names + list(TOWER_OPTIONS)}"]
        problems = _check_tower_options(self.encoder_args)
        if problems:
            return problems
        if self.pooling is not None:
            settings["pooling"] = self.pooling
        try:
            config_class.from_dict(settings).check()
        except (TypeError, ValueError) as err:
            return [f"encoder_args: {err}"]
        modes = {"lstm": ("last", "max", "mean"), "cnn": ("max", "mean")}[self.encoder]
        pooling = settings.get("pooling", config_class.pooling)
        if pooling not in modes:
            return [f"pooling {pooling!r} does not apply to {self.encoder} towers; choose one of {list(modes)}"]
        return []


# ---------------------------------------------------------------------------------------------- helpers
def _has_type(value: Any, tp: Any) -> bool:
    """Whether ``value`` is a valid ``tp`` (``bool`` / ``int`` / ``float`` / ``str``) field value, strictly."""
    if tp is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if tp is int:
        return isinstance(value, numbers.Integral)
    if tp is float:
        try:
            return isinstance(value, numbers.Real) and math.isfinite(value)
        except OverflowError:  # an int too large for a float
            return False
    if tp is str:
        return isinstance(value, (str, os.PathLike))  # a Path for output_dir, data_dir, ... is fine
    return True  # pragma: no cover - no other scalar field type


def _check_tower_options(args: dict[str, Any]) -> list[str]:
    """The :data:`TOWER_OPTIONS` in ``encoder_args`` have the types of ``SiameseModel.lstm`` / ``.cnn``'s arguments."""
    problems = []
    if "normalize" in args and not isinstance(args["normalize"], bool):
        problems.append(f"encoder_args.normalize: expected a boolean (true / false), got {args['normalize']!r}")
    dim = args.get("projection_dim")
    if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 1):
        problems.append(f"encoder_args.projection_dim: expected a positive integer or none, got {dim!r}")
    for name in ("projection_activation", "embeddings"):
        if name in args and not isinstance(args[name], str):
            problems.append(f"encoder_args.{name}: expected a string, got {args[name]!r}")
    return problems


def _message(err: BaseException) -> str:
    return err.args[0] if isinstance(err, KeyError) and err.args else str(err)


def dataset_task(name: str | None) -> str | None:
    """``"sts"`` / ``"classification"`` for a benchmark name; ``None`` for files (known only once loaded)."""
    if name is None or is_file_dataset(name):
        return None
    from textsiam.data import task_type

    try:
        return task_type(name)
    except ValueError:
        return None


def is_file_dataset(name: str) -> bool:
    """Whether a dataset name refers to a data file rather than a benchmark."""
    return bool(re.search(r"\.(csv|tsv|txt|jsonl|json)$", str(name), re.IGNORECASE)) or os.sep in str(name)


def _check_dataset(name: Any, split: str, attr: str, registry_only: bool = False) -> list[str]:
    from textsiam.data import dataset_info

    if not isinstance(name, str) or not name.strip():
        return [f"{attr}: dataset names must be non-empty strings, got {name!r}"]
    if is_file_dataset(name):
        if registry_only:
            return [f"{attr}: {name!r} is a file; test datasets must be benchmark names (stsb, sick, mrpc, ...)"]
        if not Path(name).expanduser().is_file():
            return [f"{attr}: data file not found: {name}"]
        return []
    try:
        info = dataset_info(name)
    except ValueError as err:
        return [f"{attr}: {err}"]
    canonical = {"validation": "dev", "trial": "dev"}.get(split.strip().lower(), split.strip().lower())
    if canonical not in info.splits:
        return [f"{attr}: dataset {info.name!r} has no split {split!r}; available: {', '.join(info.splits)}"]
    return []


def resolve_key(key: str) -> str:
    """Map an alias (``lr``) to its field name; raise ``KeyError`` naming the valid keys for unknown ones."""
    key = key.strip().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in _field_types():
        valid = ", ".join(f.name for f in fields(TrainConfig))
        close = [k for k in _field_types() if key in k or k in key]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"unknown config key {key!r}{hint}; valid keys: {valid}; aliases: {ALIASES}")
    return key


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return Union[tuple(args)], optional  # pragma: no cover - no such field today
    return tp, False


def _is_dict_type(tp: Any) -> bool:
    base, _ = _strip_optional(tp)
    return base is dict or typing.get_origin(base) is dict


_NONE_WORDS = {"none", "null", "~", ""}
_TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE_WORDS = {"false", "no", "off", "0"}


def _parse_scalar(text: str) -> Any:
    """Parse a ``--set`` value without a known type (dict entries): YAML scalar rules, ``3e-5`` as float."""
    import yaml

    text = text.strip()
    try:
        return float(text) if re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", text) else yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def coerce_value(key: str, value: Any) -> Any:
    """Convert ``value`` (a string from ``--set``, or a YAML / JSON value) to the type of field ``key``.

    Raises:
        ValueError: the value does not fit (the message names the field and the expected type).
    """
    tp = _field_types()[key]
    base, optional = _strip_optional(tp)
    where = f"{key}: expected {_type_name(tp)}"
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS and base is not str):
        if optional:
            return None
        if typing.get_origin(base) is list:
            return []
        if _is_dict_type(base):
            return {}
        raise ValueError(f"{where}, got None (this field is not optional)")
    if isinstance(value, str) and optional and base is str and value.strip().lower() in ("none", "null", "~"):
        return None
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
            return value.strip().lower() in _TRUE_WORDS
        raise ValueError(f"{where}, got {value!r}")
    if base is int:
        if isinstance(value, bool):
            raise ValueError(f"{where}, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            text = value.strip().replace("_", "")
            if re.fullmatch(r"[-+]?\d+", text):
                return int(text)
            try:
                number = float(text)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
        raise ValueError(f"{where}, got {value!r}")
    if base is float:
        if isinstance(value, bool):
            raise ValueError(f"{where}, got {value!r}")
        try:
            if isinstance(value, (int, float)):
                return float(value)
            if isinstance(value, str):
                return float(value.strip().replace("_", ""))
        except (ValueError, OverflowError):
            pass
        raise ValueError(f"{where}, got {value!r}")
    if base is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        raise ValueError(f"{where}, got {value!r}")
    if typing.get_origin(base) is list:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError:
                    value = _parse_scalar(text)
            else:
                value = [part.strip() for part in text.split(",") if part.strip()]
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise ValueError(f"{where}, got {value!r}")
        (item_type,) = typing.get_args(base) or (Any,)
        if item_type is str:
            return [str(v) for v in value]
        if item_type is float:
            out = []
            for v in value:
                try:
                    if isinstance(v, bool):
                        raise ValueError
                    out.append(float(v.strip() if isinstance(v, str) else v))
                except (TypeError, ValueError, OverflowError):
                    raise ValueError(f"{where} of numbers, got the item {v!r}") from None
            return out
        return list(value)
    if _is_dict_type(base):
        if isinstance(value, str):
            parsed = _parse_scalar(value) if value.strip() else {}
            if not isinstance(parsed, dict):
                raise ValueError(f'{where} (JSON or YAML flow mapping, e.g. {{"scale": 20}}), got {value!r}')
            value = parsed
        if not isinstance(value, dict):
            raise ValueError(f"{where}, got {value!r}")
        return {str(k): (_parse_scalar(v) if isinstance(v, str) and _looks_numeric(v) else v) for k, v in value.items()}
    return value  # pragma: no cover - every field type is handled above


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*", text))


def _type_name(tp: Any) -> str:
    base, optional = _strip_optional(tp)
    if typing.get_origin(base) is list:
        name = "a list (a,b,c or JSON)"
    elif _is_dict_type(base):
        name = "a mapping (JSON / YAML)"
    else:
        name = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(base, str(base))
    return f"{name} or none" if optional else name


def field_help() -> dict[str, str]:
    """``{field: comment}`` for every field, read from the ``#`` comments in this class's source."""
    try:
        source = inspect.getsource(TrainConfig)
    except (OSError, TypeError):  # pragma: no cover - source unavailable (zipped install)
        return {}
    helps = {}
    for line in source.splitlines():
        m = re.match(r"\s{4}(\w+): [^=]+=.*?  # (.*)$", line)
        if m:
            helps[m.group(1)] = m.group(2).strip()
    return helps


def describe_fields() -> str:
    """A plain-text table of every field: name, type, default and comment (``textsiam train --list-options``)."""
    helps = field_help()
    types_ = _field_types()
    rows = []
    for f in fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        rows.append(f"{f.name:<28} {_type_name(types_[f.name]):<34} default={default!r}\n    {helps.get(f.name, '')}")
    return "\n".join(rows)
