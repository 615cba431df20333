"""A distillation run: load the teacher, compute (or read back) its targets, build the student on the teacher's
tokenizer, train it (:func:`~textsiam.training.distill.fit.fit`), and save it."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from textsiam.training.distill.checkpoint import CHECKPOINT_DIR, DistillCheckpoint, fingerprint
from textsiam.training.distill.config import DistillConfig, DistillConfigError
from textsiam.training.distill.corpus import check_targets, check_texts, teacher_targets
from textsiam.training.distill.fit import Callback, fit

logger = logging.getLogger(__name__)

#: Written beside the saved student: the config, the teacher, the number of texts and the per-epoch log.
DISTILL_INFO_NAME = "distillation.json"


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


def build_student(
    config: DistillConfig,
    teacher: Any,
    target_dim: int | None = None,
    vocabulary: tuple[np.ndarray, np.ndarray] | None = None,
) -> Any:
    """A new ``config.tower`` student on the teacher's tokenizer, with a linear projection to ``target_dim``
    (default the teacher's size) when ``config.projection`` asks for one or (``None``) when the tower's own size
    differs or the tower is a CNN (whose features are not negative).

    Its token vectors start as ``config.embeddings`` says: the teacher's input word embeddings (``pretrained``),
    random rows, or (``distilled``) the rows of ``vocabulary = (token_ids (M,), vectors (M, E))``, the teacher's
    embedding of each token on its own (see :mod:`~textsiam.training.distill.vocabulary`); other rows (special
    tokens) start at zero. The tables are built frozen; :func:`fit` trains them sparsely when
    ``config.embedding_lr > 0`` and sets the saved flag from ``config.freeze_embeddings`` at the end.
    """
    from textsiam.model.siamese import SiameseModel

    config = config.resolved()
    target_dim = int(target_dim or teacher.embedding_dim)
    start = config.resolved_embeddings()
    settings = dict(config.tower_args)
    if start == "distilled":
        if vocabulary is None:
            raise ValueError("embeddings='distilled' needs the teacher's vocabulary vectors (token ids, rows)")
        settings["embedding_dim"] = int(vocabulary[1].shape[1])
    elif start == "random" and config.tower == "static":
        settings.setdefault("embedding_dim", config.tower_dim(target_dim))
    layer = teacher.encoder.input_embeddings()  # its size is the tower's input size unless settings say otherwise
    emb_dim = int(settings.get("embedding_dim") or (layer.weight.shape[1] if layer is not None else target_dim))
    tower_dim = emb_dim if config.tower == "static" else config.tower_dim(target_dim, emb_dim)
    # a CNN's max-pooled ReLU features are never negative: it needs the projection to reach the teacher's space
    project = config.projection if config.projection is not None else tower_dim != target_dim or config.tower == "cnn"
    if not project and tower_dim != target_dim:
        raise DistillConfigError(
            [
                f"projection=False, but the {config.tower} tower gives {tower_dim} dimensions and the targets "
                f"{target_dim}; allow a projection or change tower_args / pca_dims"
            ]
        )
    build = {"static": SiameseModel.static, "cnn": SiameseModel.cnn, "lstm": SiameseModel.lstm}[config.tower]
    student = build(
        teacher,
        projection_dim=target_dim if project else None,
        projection_activation=config.projection_activation,
        normalize=teacher.normalize if config.normalize is None else config.normalize,
        embeddings="pretrained" if start == "pretrained" else "random",
        max_seq_length=config.max_seq_length or teacher.max_seq_length,
        freeze_embeddings=True,
        device=config.device or teacher.device,
        seed=config.seed,
        **settings,
    )
    if start == "distilled":
        assert vocabulary is not None
        weight = student.encoder.input_embeddings().weight  # (V, E)
        with torch.no_grad():
            weight.zero_()
            ids = torch.from_numpy(np.asarray(vocabulary[0], dtype=np.int64))
            weight[ids.to(weight.device)] = torch.from_numpy(np.asarray(vocabulary[1], dtype=np.float32)).to(weight)
    return student


# ---------------------------------------------------------------------------------------------- training
def distill(
    config: DistillConfig | Mapping[str, Any] | None,
    texts: Sequence[str],
    *,
    teacher: Any = None,
    targets: Any = None,
    dev_metric: Callable[[Any], float] | None = None,
    callback: Callback | None = None,
    resume: bool = False,
) -> DistillResult:
    """Distil a teacher into a new static, CNN or LSTM student that reproduces its embeddings; no labels needed.

    Args:
        config: a :class:`DistillConfig`, or a mapping of its fields (``None``: the defaults).
        texts: the corpus (any sequence of strings, e.g. :func:`~textsiam.training.distill.default_corpus`);
            with ``config.vocabulary`` every vocabulary token joins it as a one-token text.
        teacher: a loaded :class:`~textsiam.SiameseModel`, or a model path; ``None`` loads ``config.teacher``.
        targets: the teacher's embeddings of ``texts``, ``(N, D)`` (e.g. from a cache); ``None`` computes them
            with :func:`~textsiam.training.distill.teacher_targets`. ``D`` (or ``pca_dims``) sets the student's size.
        dev_metric: ``dev_metric(student) -> float`` after every epoch (student in eval mode), logged as
            ``dev_metric``.
        callback: ``callback(entry, student)`` after every epoch (after ``dev_metric``); returning ``True`` stops.
        resume: continue the run a kill interrupted in ``config.output_dir`` (same texts, teacher and settings):
            the teacher's targets and the training state come from its checkpoint, and the student ends as that
            of an uninterrupted run.

    Returns:
        A :class:`DistillResult`; the student is in eval mode and, with ``config.output_dir``, saved there (with
        ``distillation.json`` beside it). While it trains, ``output_dir/distill-checkpoint/`` holds its
        checkpoint (removed at the end).

    Raises:
        DistillConfigError: a bad config value (a ``ValueError``).
        FileExistsError: ``output_dir`` holds files but no model and ``overwrite`` is not set, or holds an
            interrupted run and neither ``resume`` nor ``overwrite`` is set (checked first).
        FileNotFoundError: ``resume`` without a checkpoint in ``output_dir``.
    """
    config = as_config(config).resolved()
    items = check_texts(texts, allow_empty=config.vocabulary)
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be true or false, got {resume!r}")
    out = check_output_dir(config, resume)
    checkpoint = DistillCheckpoint(out / CHECKPOINT_DIR) if out is not None else None
    if checkpoint is not None and checkpoint.exists and not resume:
        checkpoint.remove()  # overwrite=True (check_output_dir refused it otherwise)
    model, teacher_name = load_teacher(config, teacher)
    run_fingerprint = fingerprint(items, teacher_name, config.to_dict())
    pre, vocab, target_arr, teacher_seconds = prepare_targets(
        config, model, items, targets, checkpoint if resume else None, run_fingerprint
    )
    if checkpoint is not None and not resume:
        meta = {"fingerprint": run_fingerprint, "n_items": len(target_arr), "teacher_seconds": teacher_seconds}
        checkpoint.save_targets(target_arr, meta)
    student = build_student(config, model, target_arr.shape[1], vocab)
    train_items, train_targets = student_items(student, pre, items, target_arr, config.vocabulary)
    logger.info("distilling %s into %s on %d items", teacher_name, student, len(train_targets))
    start = time.perf_counter()
    log = fit(student, train_items, train_targets, config, dev_metric, callback, checkpoint, resume)
    train_seconds = time.perf_counter() - start
    student.name_or_path = f"{config.tower} student of {teacher_name}"
    result = DistillResult(student, log, config, teacher_name, len(items), teacher_seconds, train_seconds, None)
    if out is not None:
        result.output_dir = student.save(out, overwrite=True)  # check_output_dir allowed it
        write_info(result)
        assert checkpoint is not None
        checkpoint.remove()
    return result


def prepare_targets(
    config: DistillConfig,
    teacher: Any,
    texts: list[str],
    targets: Any,
    checkpoint: DistillCheckpoint | None,
    run_fingerprint: str,
) -> tuple[Any, tuple[np.ndarray, np.ndarray] | None, np.ndarray, float]:
    """The vocabulary items and the targets of a run: ``(vocab items or None, (token ids, vectors) or None,
    targets (N_texts [+ M], D'), teacher seconds)``; from ``checkpoint`` when resuming.

    Targets are the teacher's embeddings of the texts (then of the vocabulary tokens, when used), PCA-reduced to
    ``config.pca_dims`` and re-normalised when the student normalises.
    """
    from textsiam.training.distill.vocabulary import vocabulary_items, vocabulary_targets

    need_vocab = config.vocabulary or config.resolved_embeddings() == "distilled"
    pre, token_ids = vocabulary_items(teacher.tokenizer) if need_vocab else (None, None)
    if checkpoint is not None:
        if not checkpoint.exists:
            raise FileNotFoundError(f"resume: no distillation checkpoint in {checkpoint.directory}")
        arr, meta = checkpoint.load_targets(run_fingerprint)
        teacher_seconds = float(meta.get("teacher_seconds", 0.0))
    else:
        begin = time.perf_counter()
        if targets is None:
            arr = teacher_targets(teacher, texts, config.teacher_batch_size, show_progress=config.show_progress)
        else:
            arr = check_targets(targets, len(texts))
        if pre is not None:
            rows = vocabulary_targets(teacher, pre, config.teacher_batch_size, config.show_progress)
            arr = np.concatenate([arr, check_targets(rows, len(rows))], axis=0)
        teacher_seconds = time.perf_counter() - begin  # the texts' targets (unless given) and the vocabulary's
        logger.info("teacher targets of %d items in %.1fs", len(arr), teacher_seconds)
        if config.pca_dims is not None:
            arr = pca_reduce(arr, config.pca_dims)
        normalize = teacher.normalize if config.normalize is None else config.normalize
        if normalize and config.pca_dims is not None:
            arr /= np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
    vocab = (token_ids, arr[len(texts) :]) if token_ids is not None else None
    return pre, vocab, arr, teacher_seconds


def student_items(
    student: Any, vocab_items: Any, texts: list[str], targets: np.ndarray, with_vocabulary: bool
) -> tuple[Any, np.ndarray]:
    """What the student trains on: its tokenisation of the texts (plus the vocabulary items) and their targets."""
    from textsiam.training.distill.fit import pretokenized

    pre = pretokenized(student, texts)
    if with_vocabulary and vocab_items is not None:
        return pre.concat(vocab_items), targets
    return pre, targets[: len(texts)]


def pca_reduce(targets: np.ndarray, dims: int) -> np.ndarray:
    """``targets (N, D)`` projected on their ``dims`` leading principal directions (uncentred, so dot products
    and cosines are kept as well as ``dims`` dimensions can): ``(N, dims)`` float32."""
    if dims > targets.shape[1]:
        raise ValueError(f"pca_dims={dims} is more than the teacher's {targets.shape[1]} dimensions")
    gram = targets.T.astype(np.float64) @ targets.astype(np.float64)  # (D, D)
    values, vectors = np.linalg.eigh(gram)  # ascending
    basis = vectors[:, ::-1][:, :dims]  # (D, dims)
    basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(dims)])  # a fixed sign per direction
    kept = values[::-1][:dims].sum() / max(values.sum(), 1e-12)
    logger.info("PCA to %d dimensions keeps %.1f%% of the targets' energy", dims, 100 * kept)
    return np.ascontiguousarray(targets @ basis.astype(np.float32), dtype=np.float32)


# ---------------------------------------------------------------------------------------------- saving
def check_output_dir(config: DistillConfig, resume: bool = False) -> Path | None:
    """``config.output_dir`` resolved, refused early if saving there would fail (before any training).

    A folder with an interrupted run's checkpoint is refused unless ``resume`` (continue it) or ``overwrite``
    (start over); a model there is replaced by the new one (as :meth:`SiameseModel.save` does), and a folder with
    other files is refused unless ``overwrite`` (they are kept either way).
    """
    from textsiam.io_utils import is_model_dir

    if config.output_dir is None:
        if resume:
            raise ValueError("resume needs output_dir (the folder of the interrupted run)")
        return None
    out = Path(config.output_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"output_dir {out} exists and is not a directory")
    interrupted = DistillCheckpoint(out / CHECKPOINT_DIR).exists
    if resume:
        if not interrupted:
            raise FileNotFoundError(f"resume: no interrupted distillation in {out} (no {CHECKPOINT_DIR}/ there)")
        return out
    if config.overwrite or not out.is_dir():
        return out
    if interrupted:
        raise FileExistsError(
            f"{out} holds an interrupted distillation; resume it (resume=True, --resume) or start over "
            "(overwrite=True, --overwrite)"
        )
    if not is_model_dir(out) and any(p.name != CHECKPOINT_DIR for p in out.iterdir()):
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
