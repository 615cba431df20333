"""Distil a sentence encoder (the teacher) into a fast static, CNN or LSTM tower (the student); no labels needed.

The student shares the teacher's tokenizer. A static tower (:meth:`SiameseModel.static <textsiam.SiameseModel.static>`)
starts from the teacher's embedding of each vocabulary token on its own (model2vec's start, optionally PCA-reduced);
a CNN or LSTM (:meth:`~textsiam.SiameseModel.cnn`, :meth:`~textsiam.SiameseModel.lstm`) from the teacher's input word
embeddings, with a linear projection to the teacher's size when its own differs. Each is trained to reproduce the
teacher's embeddings of a corpus plus the vocabulary tokens (mean squared error, or one minus their cosine), with
checkpoints a killed run resumes from exactly. ``textsiam distill`` runs it from a shell. Example::

    from textsiam.training.distill import DistillConfig, default_corpus, distill

    texts = default_corpus("/data", copies=1)  # training-split sentences + an augmented copy of each
    config = DistillConfig(teacher="runs/stsb/model", tower="lstm", tower_args={"hidden_size": 128, "pooling": "mean"})
    result = distill(config, texts)  # result.student, result.log (loss, cosine to the teacher per epoch)

Modules: :mod:`~textsiam.training.distill.config` (:class:`DistillConfig`),
:mod:`~textsiam.training.distill.corpus` (the texts and the teacher's embeddings of them) and
:mod:`~textsiam.training.distill.loop` (:func:`distill`: the student and its training).
"""

from __future__ import annotations

from textsiam.training.distill.checkpoint import CHECKPOINT_DIR, DistillCheckpoint
from textsiam.training.distill.config import DISTILL_LOSSES, TOWER_KINDS, DistillConfig, DistillConfigError
from textsiam.training.distill.corpus import check_targets, check_texts, default_corpus, teacher_targets
from textsiam.training.distill.fit import fit, length_bucketed_batches
from textsiam.training.distill.loop import (
    DISTILL_INFO_NAME,
    DistillResult,
    build_student,
    distill,
    load_teacher,
    pca_reduce,
)
from textsiam.training.distill.vocabulary import vocabulary_items, vocabulary_targets

__all__ = [
    "CHECKPOINT_DIR",
    "DISTILL_INFO_NAME",
    "DISTILL_LOSSES",
    "TOWER_KINDS",
    "DistillConfig",
    "DistillCheckpoint",
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
    "pca_reduce",
    "teacher_targets",
    "vocabulary_items",
    "vocabulary_targets",
]
