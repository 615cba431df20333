"""The contract every sentence encoder (one tower of the twin) fulfils."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from textsiam.encoders.loading import check_max_seq_length
from textsiam.encoders.modes import MODE_LOCK

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


class PreTokenized:
    """Texts tokenised once, without padding; :meth:`collate` pads any subset of them into one batch.

    Attributes:
        columns: ``{feature_name: [token ids of text i, ...]}`` (``input_ids``, ``attention_mask``, ...).
        lengths: ``(N,)`` int64 number of tokens of each text (after truncation).
        n_truncated: how many texts were cut at ``max_seq_length``.
        pad_values: value each column is padded with (``input_ids``: the pad token id; others 0).
    """

    def __init__(
        self,
        columns: dict[str, list[list[int]]],
        lengths: np.ndarray,
        n_truncated: int,
        pad_values: dict[str, int],
    ) -> None:
        self.columns = columns
        self.lengths = lengths
        self.n_truncated = n_truncated
        self.pad_values = pad_values

    def __len__(self) -> int:
        return len(self.lengths)

    def concat(self, other: PreTokenized) -> PreTokenized:
        """These texts followed by ``other``'s; only the columns both have are kept."""
        names = [name for name in self.columns if name in other.columns]
        columns = {name: list(self.columns[name]) + list(other.columns[name]) for name in names}
        return PreTokenized(
            columns,
            np.concatenate([self.lengths, other.lengths]),
            self.n_truncated + other.n_truncated,
            {**other.pad_values, **self.pad_values},
        )

    def collate(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """Right-pad texts ``indices`` to their longest: ``{name: (b, T) int64}`` with an ``attention_mask``."""
        idx = np.asarray(indices, dtype=np.int64)
        lens = self.lengths[idx]  # (b,)
        width = max(int(lens.max()) if len(lens) else 0, 1)
        out: dict[str, torch.Tensor] = {}
        for name, rows in self.columns.items():
            if name == "attention_mask":
                continue
            arr = np.full((len(idx), width), self.pad_values.get(name, 0), dtype=np.int64)  # (b, T)
            for r, i in enumerate(idx):
                ids = rows[i]
                arr[r, : len(ids)] = ids
            out[name] = torch.from_numpy(arr)
        mask = (np.arange(width)[None, :] < lens[:, None]).astype(np.int64)  # (b, T)
        out["attention_mask"] = torch.from_numpy(mask)
        return out


def pretokenize_batch(tokenizer: Any, texts: list[str], max_seq_length: int) -> PreTokenized | None:
    """Tokenise all ``texts`` in one call of a fast (Rust) tokenizer, without padding.

    Returns ``None`` when the tokenizer cannot do this exactly like :func:`tokenize_batch` (a slow tokenizer,
    left padding, or no pad token); callers then fall back to tokenising batch by batch.
    """
    if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "padding_side", "right") != "right":
        return None
    pad_id = getattr(tokenizer, "pad_token_id", None)
    if pad_id is None:
        return None
    batch = tokenizer(texts, padding=False, truncation=True, max_length=max_seq_length, return_attention_mask=False)
    encodings = getattr(batch, "encodings", None)
    if encodings is None:
        return None
    n_truncated = sum(1 for e in encodings if e.overflowing)
    columns = {k: v for k, v in batch.items() if k != "attention_mask"}
    lengths = np.fromiter((len(ids) for ids in columns["input_ids"]), dtype=np.int64, count=len(texts))
    return PreTokenized(columns, lengths, n_truncated, {"input_ids": int(pad_id)})


class Encoder(nn.Module, ABC):
    """One tower: texts -> token features -> a fixed-size embedding ``(B, D)``.

    Subclasses own a tokenizer and know how to save themselves to, and load themselves from, a directory.
    :class:`textsiam.SiameseModel` applies the *same* encoder instance to both sides of a pair.
    """

    #: Name stored in ``textsiam.json`` to pick the class when loading.
    encoder_type: ClassVar[str] = ""
    #: ``True`` when a text's embedding does not depend on how far its batch is padded (mask-aware
    #: encoders). :meth:`textsiam.SiameseModel.embed_many` then runs several batches as one forward pass.
    padding_invariant: ClassVar[bool] = False
    #: ``True`` when :meth:`forward` accepts ``inputs_embeds`` ``(B, T, E)`` in place of ``input_ids`` (gradient
    #: attributions such as integrated gradients differentiate with respect to them).
    accepts_inputs_embeds: ClassVar[bool] = False

    tokenizer: Any

    def train(self, mode: bool = True) -> Encoder:
        """Switch training mode (``eval()`` calls this too), waiting for running inference to finish first."""
        with MODE_LOCK:
            return super().train(mode)

    def input_embeddings(self) -> nn.Embedding | None:
        """The input word-embedding layer (row ``i`` embeds token id ``i``), or ``None`` if the tower has none."""
        return None

    def max_positions(self) -> int | None:
        """Most tokens this tower can take in one text (its position embeddings), or ``None`` for no limit."""
        return None

    @property
    def max_seq_length(self) -> int:
        """Texts longer than this many tokens (special tokens included) are truncated."""
        return self._max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        value = check_max_seq_length(value)
        limit = self.max_positions()
        if limit is not None and value > limit:
            logger.warning(
                "max_seq_length=%d is more than this model can take (%d positions); using %d", value, limit, limit
            )
            value = limit
        self._max_seq_length = value

    def tokenize(self, texts: list[str]) -> tuple[dict[str, torch.Tensor], int]:
        """Tokenise a list of texts into a padded batch; also return how many texts were truncated."""
        return tokenize_batch(self.tokenizer, texts, self.max_seq_length)

    def pretokenize(self, texts: list[str]) -> PreTokenized | None:
        """Tokenise all texts at once without padding (for length-sorted batching), or ``None`` if unsupported.

        :meth:`textsiam.SiameseModel.encode` sorts texts by token count and pads each batch with
        :meth:`PreTokenized.collate`; when this returns ``None`` it sorts by characters and calls
        :meth:`tokenize` per batch instead. The batches must equal what :meth:`tokenize` would give.
        """
        return pretokenize_batch(self.tokenizer, texts, self.max_seq_length)

    @abstractmethod
    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Embed a tokenised batch: ``features`` -> ``(B, D)``."""

    def forward_features(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tower's outputs by name: ``token_embeddings`` ``(B, T, H)`` (before pooling) and
        ``sentence_embedding`` ``(B, H)`` (sentence-transformers' ``encode(output_value=...)``).

        Raises:
            ValueError: the tower has no per-token outputs (only transformer and ONNX towers have).
        """
        raise ValueError(
            f"{type(self).__name__} has no token embeddings: output_value='token_embeddings' or None needs a "
            "transformer (or ONNX) tower"
        )

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
