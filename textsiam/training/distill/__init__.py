"""Distil a sentence encoder (the teacher) into a fast LSTM or CNN tower (the student); no labels needed.

The student shares the teacher's tokenizer, starts from its input word embeddings
(:meth:`SiameseModel.lstm <textsiam.SiameseModel.lstm>` / :meth:`~textsiam.SiameseModel.cnn`), gets a linear
projection to the teacher's size when its own differs, and is trained to reproduce the teacher's embeddings of a
corpus (mean squared error, or one minus their cosine). Example::

    from textsiam.training.distill import DistillConfig, default_corpus, distill

    texts = default_corpus("/data", copies=1)  # training-split sentences + an augmented copy of each
    config = DistillConfig(teacher="runs/stsb/model", tower="lstm", tower_args={"hidden_size": 128, "pooling": "mean"})
    result = distill(config, texts)  # result.student, result.log (loss, cosine to the teacher per epoch)

Modules: :mod:`~textsiam.training.distill.config` (:class:`DistillConfig`),
:mod:`~textsiam.training.distill.corpus` (the texts and the teacher's embeddings of them) and
:mod:`~textsiam.training.distill.loop` (:func:`distill`: the student and its training).
"""

from __future__ import annotations

from textsiam.training.distill.config import DISTILL_LOSSES, TOWER_KINDS, DistillConfig, DistillConfigError
from textsiam.training.distill.corpus import check_targets, check_texts, default_corpus, teacher_targets
from textsiam.training.distill.loop import (
    DISTILL_INFO_NAME,
    DistillResult,
    build_student,
    distill,
    fit,
    length_bucketed_batches,
    load_teacher,
)

__all__ = [
    "DISTILL_INFO_NAME",
    "DISTILL_LOSSES",
    "TOWER_KINDS",
    "DistillConfig",
    "DistillConfigError",
    "DistillResult",
    "build_student",
    "check_targets",
    "check_texts",
    "default_corpus",
    "distill",
    "fit",
    "length_bucketed_batches",
    "load_teacher",
    "teacher_targets",
]
