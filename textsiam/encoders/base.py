"""The contract every sentence encoder (one tower of the twin) fulfils."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

logger = logging.getLogger(__name__)


def tokenize_batch(tokenizer: Any, texts: list[str], max_seq_length: int) -> tuple[dict[str, torch.Tensor], int]:
    """Tokenise ``texts`` into one padded batch truncated at ``max_seq_length``.

    Returns:
        ``(features, n_truncated)``: the tensors the model takes and how many texts were cut.
    """
    batch = tokenizer(
        texts,
        padding=True,
        truncation=True,
        max_length=max_seq_length,
        return_tensors="pt",
    )
    encodings = getattr(batch, "encodings", None)
    if encodings is not None:
        n_truncated = sum(1 for e in encodings if e.overflowing)
    else:  # slow tokenizer: detect truncation by asking for one token more
        longer = tokenizer(texts, truncation=True, max_length=max_seq_length + 1)["input_ids"]
        n_truncated = sum(1 for ids in longer if len(ids) > max_seq_length)
    return dict(batch), n_truncated


class Encoder(nn.Module, ABC):
    """One tower: texts -> token features -> a fixed-size embedding ``(B, D)``.

    Subclasses own a tokenizer and know how to save themselves to, and load themselves from, a directory.
    :class:`textsiam.SiameseModel` applies the *same* encoder instance to both sides of a pair.
    """

    #: Name stored in ``textsiam.json`` to pick the class when loading.
    encoder_type: ClassVar[str] = ""

    tokenizer: Any
    max_seq_length: int

    def tokenize(self, texts: list[str]) -> tuple[dict[str, torch.Tensor], int]:
        """Tokenise a list of texts into a padded batch; also return how many texts were truncated."""
        return tokenize_batch(self.tokenizer, texts, self.max_seq_length)

    @abstractmethod
    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Embed a tokenised batch: ``features`` -> ``(B, D)``."""

    @abstractmethod
    def get_embedding_dimension(self) -> int:
        """Size ``D`` of the embeddings this encoder returns."""

    @abstractmethod
    def encoder_config(self) -> dict[str, Any]:
        """JSON-serialisable settings needed to rebuild this encoder (stored in ``textsiam.json``)."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write weights (safetensors) and tokenizer files into an existing ``directory``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, config: dict[str, Any], **kwargs: Any) -> Encoder:
        """Rebuild an encoder saved by :meth:`save` with the settings from :meth:`encoder_config`."""
