"""Turn a list of training rows into one tokenised batch for the twin tower.

Rows are dicts with ``text_a`` and optionally ``text_b`` (pairs), ``text_c`` (triplets / hard negatives) and
``label``. The batch is::

    {"features_a": {input_ids, attention_mask, ...}, "features_b": {...}, "features_c": {...}, "labels": tensor}

with one key per text column present. :class:`transformers.Trainer` moves the nested dicts to the device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

from textsiam.training.augment import TextAugmenter

logger = logging.getLogger(__name__)

#: Text columns of a training example and the batch key each one becomes.
TEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("text_a", "features_a"),
    ("text_b", "features_b"),
    ("text_c", "features_c"),
)

#: ``label_dtype`` values: how the ``label`` column becomes the ``labels`` tensor.
LABEL_DTYPES: dict[str, torch.dtype] = {"float": torch.float32, "long": torch.int64, "vector": torch.float32}

Tokenize = Callable[[list[str]], "tuple[dict[str, torch.Tensor], int]"]


class SiameseDataCollator:
    """Tokenise the text columns of a batch with the model's tokenizer and stack the labels.

    Args:
        tokenize: ``texts -> (features, n_truncated)``, normally ``model.encoder.tokenize``.
        label_dtype: ``"float"`` (similarity scores, 0/1 labels), ``"long"`` (class ids), ``"vector"``
            (teacher embeddings, ``(B, D)``) or ``None`` (no labels, e.g. MNRL / SimCSE).
        augmenter: optional :class:`~textsiam.training.augment.TextAugmenter` applied to every text.
        label_column: the row key holding the label.
        prompt: a prefix put before every text after augmentation (sentence-transformers' training ``prompts``).

    Attributes:
        epoch: passed to the augmenter so each epoch sees different (but reproducible) augmentations;
            set by the training batch sampler (``set_epoch``).
        n_truncated: texts cut at ``max_seq_length`` so far.
    """

    def __init__(
        self,
        tokenize: Tokenize,
        label_dtype: str | None = "float",
        augmenter: TextAugmenter | None = None,
        label_column: str = "label",
        prompt: str = "",
    ) -> None:
        if label_dtype is not None and label_dtype not in LABEL_DTYPES:
            raise ValueError(f"unknown label_dtype {label_dtype!r}; choose one of {list(LABEL_DTYPES)} or None")
        self.tokenize = tokenize
        self.label_dtype = label_dtype
        self.augmenter = augmenter if augmenter is not None and augmenter.enabled else None
        self.label_column = label_column
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
        self.prompt = prompt
        self.epoch = 0
        self.n_truncated = 0
        self._warned = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _texts(self, rows: Sequence[dict[str, Any]], column: str, slot: int) -> list[str]:
        texts = []
        for i, row in enumerate(rows):
            value = row[column]
            if not isinstance(value, str):
                raise TypeError(f"row {i} of the batch: {column} must be a string, got {type(value).__name__}")
            texts.append(value)
        if self.augmenter is not None:
            texts = [self.augmenter(t, self.epoch, slot) for t in texts]
        if self.prompt:
            texts = [self.prompt + t for t in texts]
        return texts

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if not rows:
            raise ValueError("cannot collate an empty batch")
        batch: dict[str, Any] = {}
        for slot, (column, key) in enumerate(TEXT_COLUMNS):
            if column not in rows[0]:
                continue
            features, n_truncated = self.tokenize(self._texts(rows, column, slot))
            batch[key] = features
            self._count_truncated(n_truncated)
        if "features_a" not in batch:
            raise KeyError(f"training rows need a 'text_a' column, got {sorted(rows[0])}")
        if self.label_dtype is not None:
            if self.label_column not in rows[0]:
                raise KeyError(f"training rows need a {self.label_column!r} column for the loss, got {sorted(rows[0])}")
            values = [row[self.label_column] for row in rows]
            batch["labels"] = torch.tensor(values, dtype=LABEL_DTYPES[self.label_dtype])
        return batch

    def _count_truncated(self, n: int) -> None:
        self.n_truncated += int(n)
        if n and not self._warned:
            self._warned = True
            logger.warning("some training texts are longer than max_seq_length and are truncated (warned once)")

    def __repr__(self) -> str:
        prompt = f", prompt={self.prompt!r}" if self.prompt else ""
        return f"SiameseDataCollator(label_dtype={self.label_dtype!r}, augmenter={self.augmenter!r}{prompt})"
