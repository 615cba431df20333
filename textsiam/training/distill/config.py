"""The recipe of a distillation run: :class:`DistillConfig`, checked when it is built.

Every field carries a ``#`` comment that says what it does. Bad values raise :class:`DistillConfigError` (a
``ValueError``) listing every problem, before any model or text is loaded.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Any

#: Student towers :func:`~textsiam.training.distill.distill` can build.
TOWER_KINDS: tuple[str, ...] = ("static", "cnn", "lstm")
#: ``embeddings`` values: the teacher's input word embeddings, the teacher's output for each token on its own
#: (model2vec's start; PCA-reduced with ``pca_dims``), or random rows.
EMBEDDING_STARTS: tuple[str, ...] = ("pretrained", "distilled", "random")
#: What each tower gets for the fields left ``None`` (its ``tower_args`` are added under the ones given): the
#: settings measured in benchmarks/results/towers/distill.md (epochs chosen on STS-B and SICK dev).
TOWER_PRESETS: dict[str, dict[str, Any]] = {
    "static": {"embeddings": "distilled", "epochs": 6, "freeze_embeddings": False, "tower_args": {}},
    "cnn": {
        "embeddings": "distilled",
        "epochs": 5,
        "freeze_embeddings": True,
        "tower_args": {"num_filters": 128, "mean_embedding": True},
    },
    "lstm": {"embeddings": "pretrained", "epochs": 3, "freeze_embeddings": True, "tower_args": {}},
}
#: ``loss`` values: mean squared error to the teacher's embeddings, or one minus their cosine.
DISTILL_LOSSES: tuple[str, ...] = ("mse", "cosine")
#: ``tower_args`` keys the run sets itself (from the teacher, or from other fields).
RESERVED_TOWER_ARGS: dict[str, str] = {
    "vocab_size": "it is the teacher tokenizer's",
    "padding_idx": "it is the teacher tokenizer's pad token",
    "freeze_embeddings": "use the freeze_embeddings field (embedding_lr sets whether distillation trains them)",
}


class DistillConfigError(ValueError):
    """A distillation config is invalid. ``problems`` lists every problem found (the message shows them all)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid distillation config ({len(self.problems)} problem(s)):\n{lines}")


@dataclass
class DistillConfig:
    """Everything that defines one distillation run (teacher -> new static / CNN / LSTM student). See each field's
    comment; :meth:`resolved` fills the fields left ``None`` with the tower's defaults."""

    # ---------------------------------------------------------------------------------------- teacher and student
    teacher: str | None = None  # teacher model dir or Hub name; None = the embedded all-MiniLM-L6-v2 (or pass one)
    tower: str = "static"  # student: static (weighted mean of token vectors) | cnn | lstm, on the teacher's tokenizer
    tower_args: dict[str, Any] = field(default_factory=dict)  # StaticConfig / CNNConfig / LSTMConfig fields
    embeddings: str | None = None  # first token vectors: pretrained | distilled | random; None = distilled for static,
    # pretrained (the teacher's input word embeddings) for cnn / lstm
    pca_dims: int | None = None  # reduce the teacher's embeddings to this many dimensions (PCA) and learn those
    vocabulary: bool = True  # add each vocabulary token on its own (and the teacher's embedding of it) to the texts
    projection: bool | None = None  # linear layer to the teacher's size; None = for a cnn, or when the size differs
    projection_activation: str = "identity"  # activation of that layer: identity | tanh | relu | gelu
    normalize: bool | None = None  # L2-normalise the student's embeddings; None = as the teacher does
    max_seq_length: int | None = None  # student's token limit (longer texts are truncated); None = the teacher's
    freeze_embeddings: bool | None = None  # saved student keeps its token vectors fixed when fine-tuned later;
    # None = True for cnn / lstm (their layers learn), False for static (its vectors are all it has)
    # ---------------------------------------------------------------------------------------- optimisation
    loss: str = "cosine"  # cosine: 1 - cos(student, teacher) | mse: mean squared error to the teacher's embeddings
    contrast_weight: float = 0.0  # add this times an in-batch contrastive loss (InfoNCE: each student embedding must
    # pick its own text's teacher embedding among the batch's); 0 = none
    contrast_temperature: float = 0.05  # temperature of that loss's cosine logits
    epochs: int | None = None  # passes over the texts; None = the tower's (TOWER_PRESETS: static 6, cnn 5, lstm 3)
    batch_size: int = 128  # texts per optimisation step
    lr: float = 2e-3  # peak AdamW learning rate of the tower's layers and the projection
    embedding_lr: float = 1e-2  # SparseAdam learning rate of the token-vector rows a batch uses; 0 = keep them fixed
    warmup_ratio: float = 0.05  # linear warm-up over this fraction of all steps, then linear decay to 0
    weight_decay: float = 0.0  # AdamW weight decay of the layers (the word embeddings get none)
    max_grad_norm: float | None = 1.0  # clip the layers' gradient norm (not the embeddings'); None = no clipping
    bucket_size: int = 50  # batches are cut from length-sorted random chunks of this many batches; 1 = plain random
    teacher_batch_size: int = 64  # batch size of teacher.encode when distill() computes the targets itself
    # ---------------------------------------------------------------------------------------- run
    seed: int = 42  # seeds the new layers, the batch order and dropout: same seed, same texts -> same student
    device: str | None = None  # where the student trains (and a teacher loaded here runs); None = the teacher's
    output_dir: str | None = None  # save the student here at the end (SiameseModel.save); None = do not save
    overwrite: bool = False  # save into output_dir even when it holds files but no model (those files are kept)
    show_progress: bool = True  # tqdm bars for the teacher's embeddings and for each epoch
    checkpoint_steps: int | None = None  # with output_dir: also checkpoint every this many steps (always per epoch)

    def __post_init__(self) -> None:
        if isinstance(self.output_dir, os.PathLike):
            self.output_dir = os.fspath(self.output_dir)
        if isinstance(self.teacher, os.PathLike):
            self.teacher = os.fspath(self.teacher)
        problems = self.problems()
        if problems:
            raise DistillConfigError(problems)

    # ------------------------------------------------------------------------------------------ (de)serialising
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DistillConfig:
        """Build from a mapping; unknown keys are a :class:`DistillConfigError` listing the valid ones."""
        if not isinstance(data, dict):
            raise DistillConfigError([f"a distillation config must be a mapping, got {type(data).__name__}"])
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise DistillConfigError([f"unknown field(s) {unknown}; valid: {names}"])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-serialisable dict (``from_dict`` reads it back)."""
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------------------------------ checks
    def problems(self) -> list[str]:
        """Every problem with the values (empty when the config is valid)."""
        from textsiam.model.projection import ACTIVATIONS

        out: list[str] = []
        if self.teacher is not None and (not isinstance(self.teacher, str) or not self.teacher.strip()):
            out.append(f"teacher must be a model path / Hub name or None, got {self.teacher!r}")
        if self.tower not in TOWER_KINDS:
            out.append(f"tower must be one of {list(TOWER_KINDS)}, got {self.tower!r}")
        else:
            out += self.tower_args_problems()
        if self.embeddings is not None and self.embeddings not in EMBEDDING_STARTS:
            out.append(f"embeddings must be one of {list(EMBEDDING_STARTS)} or None, got {self.embeddings!r}")
        if self.pca_dims is not None and (not is_int(self.pca_dims) or self.pca_dims < 1):
            out.append(f"pca_dims must be a positive int or None, got {self.pca_dims!r}")
        if self.pca_dims is not None and self.embeddings == "pretrained" and self.tower == "static":
            out.append(
                "pca_dims needs embeddings='distilled' or 'random' for a static tower (pretrained rows keep "
                "the teacher's input size)"
            )
        if self.checkpoint_steps is not None and (not is_int(self.checkpoint_steps) or self.checkpoint_steps < 1):
            out.append(f"checkpoint_steps must be a positive int or None, got {self.checkpoint_steps!r}")
        if self.projection_activation not in ACTIVATIONS:
            out.append(f"projection_activation must be one of {list(ACTIVATIONS)}, got {self.projection_activation!r}")
        if self.loss not in DISTILL_LOSSES:
            out.append(f"loss must be one of {list(DISTILL_LOSSES)}, got {self.loss!r}")
        for name in ("projection", "normalize", "freeze_embeddings"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), bool):
                out.append(f"{name} must be true, false or None, got {getattr(self, name)!r}")
        for name in ("vocabulary", "overwrite", "show_progress"):
            if not isinstance(getattr(self, name), bool):
                out.append(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("batch_size", "bucket_size", "teacher_batch_size"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                out.append(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if self.epochs is not None and (not is_int(self.epochs) or self.epochs < 1):
            out.append(f"epochs must be a positive int or None, got {self.epochs!r}")
        if self.max_seq_length is not None and (not is_int(self.max_seq_length) or self.max_seq_length < 1):
            out.append(f"max_seq_length must be a positive int or None, got {self.max_seq_length!r}")
        if not is_int(self.seed):
            out.append(f"seed must be an int, got {self.seed!r}")
        if not is_number(self.lr) or self.lr <= 0:
            out.append(f"lr must be a positive number, got {self.lr!r}")
        for name in ("embedding_lr", "weight_decay"):
            if not is_number(getattr(self, name)) or getattr(self, name) < 0:
                out.append(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        if not is_number(self.contrast_weight) or self.contrast_weight < 0:
            out.append(f"contrast_weight must be a number >= 0, got {self.contrast_weight!r}")
        if not is_number(self.contrast_temperature) or self.contrast_temperature <= 0:
            out.append(f"contrast_temperature must be a positive number, got {self.contrast_temperature!r}")
        if not is_number(self.warmup_ratio) or not 0 <= self.warmup_ratio < 1:
            out.append(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        if self.max_grad_norm is not None and (not is_number(self.max_grad_norm) or self.max_grad_norm <= 0):
            out.append(f"max_grad_norm must be a positive number or None, got {self.max_grad_norm!r}")
        for name in ("device", "output_dir"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                out.append(f"{name} must be a non-empty string or None, got {value!r}")
        return out

    def tower_args_problems(self) -> list[str]:
        """Problems with ``tower_args`` for ``tower`` (unknown or reserved keys, values the tower refuses)."""
        if not isinstance(self.tower_args, dict) or not all(isinstance(k, str) for k in self.tower_args):
            return [f"tower_args must be a mapping of setting names to values, got {self.tower_args!r}"]
        encoder_cls = self.encoder_class()
        names = [f.name for f in dataclasses.fields(encoder_cls.config_class)]
        out = [
            f"tower_args: {key!r} cannot be set ({why})"
            for key, why in RESERVED_TOWER_ARGS.items()
            if key in self.tower_args
        ]
        unknown = sorted(set(self.tower_args) - set(names))
        if unknown:
            valid = [n for n in names if n not in RESERVED_TOWER_ARGS]
            out.append(f"tower_args: unknown {self.tower} setting(s) {unknown}; valid: {valid}")
        if "embedding_dim" in self.tower_args and self.resolved_embeddings() != "random":
            out.append(
                "tower_args: embedding_dim comes from the teacher with embeddings='pretrained' or 'distilled' "
                "(set pca_dims, or use embeddings='random')"
            )
        if out:
            return out
        settings = encoder_cls.config_class.from_dict({**TOWER_PRESETS[self.tower]["tower_args"], **self.tower_args})
        try:
            settings.check()
        except (TypeError, ValueError) as err:
            return [f"tower_args: {err}"]
        if settings.pooling not in encoder_cls.pooling_modes:
            return [f"tower_args: pooling must be one of {list(encoder_cls.pooling_modes)}, got {settings.pooling!r}"]
        return []

    def encoder_class(self) -> type:
        """The encoder class of ``tower``."""
        from textsiam.encoders import CNNEncoder, LSTMEncoder, StaticEncoder

        return {"static": StaticEncoder, "cnn": CNNEncoder, "lstm": LSTMEncoder}[self.tower]

    def resolved(self) -> DistillConfig:
        """A copy with the fields left ``None`` set from :data:`TOWER_PRESETS` and the tower's preset
        ``tower_args`` under the ones given (what a run uses, and what ``distillation.json`` records)."""
        preset = TOWER_PRESETS[self.tower]
        return dataclasses.replace(
            self,
            embeddings=self.resolved_embeddings(),
            epochs=self.epochs if self.epochs is not None else preset["epochs"],
            freeze_embeddings=self.resolved_freeze(),
            tower_args={**preset["tower_args"], **self.tower_args},
        )

    def resolved_embeddings(self) -> str:
        """``embeddings``, or the tower's preset when it is ``None``."""
        return self.embeddings if self.embeddings is not None else TOWER_PRESETS[self.tower]["embeddings"]

    def resolved_freeze(self) -> bool:
        """``freeze_embeddings``, or the tower's preset when it is ``None``."""
        if self.freeze_embeddings is not None:
            return self.freeze_embeddings
        return bool(TOWER_PRESETS[self.tower]["freeze_embeddings"])

    def tower_dim(self, teacher_dim: int, input_dim: int | None = None) -> int:
        """Size of the tower's own output (before any projection), from ``tower``, ``tower_args`` and the sizes of
        the teacher's embeddings (``teacher_dim``) and input word embeddings (``input_dim``, default the same)."""
        from textsiam.encoders import CNNConfig, LSTMConfig

        if self.tower == "static":
            start = self.resolved_embeddings()
            if start == "random":
                return int(self.tower_args.get("embedding_dim", self.pca_dims or teacher_dim))
            if start == "distilled":
                return int(self.pca_dims or teacher_dim)
            return int(input_dim or teacher_dim)
        if self.tower == "lstm":
            lstm = LSTMConfig.from_dict(dict(self.tower_args))
            return lstm.hidden_size * (2 if lstm.bidirectional else 1)
        cnn = CNNConfig.from_dict(dict(self.tower_args))
        return len(cnn.kernel_sizes) * cnn.num_filters + (input_dim or teacher_dim if cnn.mean_embedding else 0)


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
