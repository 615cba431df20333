"""A (bi)LSTM tower over subword embeddings (MaLSTM-style Siamese recurrent networks).

The LSTM runs over *packed* sequences (:func:`torch.nn.utils.rnn.pack_padded_sequence`), so each text is
processed for exactly its own number of tokens: an embedding does not depend on how much padding its batch
has (the right-to-left direction of a biLSTM starts at the text's last real token, not at the padding).

Example::

    model = SiameseModel.lstm(hidden_size=50, bidirectional=False, pooling="last", similarity="malstm")
    model.similarity("A man is playing a guitar.", "A person plays the guitar.")

References:
    * Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", Neural Computation.
    * Mueller & Thyagarajan (2016), "Siamese Recurrent Architectures for Learning Sentence Similarity", AAAI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textsiam.encoders.pooling import Pooling
from textsiam.encoders.subword import EmbeddingConfig, SubwordEncoder

LSTM_POOLING_MODES: tuple[str, ...] = ("last", "max", "mean")


@dataclass
class LSTMConfig(EmbeddingConfig):
    """Settings of an :class:`LSTMEncoder` (stored under ``encoder`` in ``textsiam.json``)."""

    hidden_size: int = 256  # LSTM units per direction
    num_layers: int = 1  # stacked LSTM layers (1 - N)
    bidirectional: bool = True  # add a right-to-left LSTM; the output then has 2 * hidden_size features
    dropout: float = 0.0  # dropout between stacked LSTM layers and on the pooled output (training only)
    pooling: str = "max"  # last (final state of each direction) | max | mean; max and mean over real tokens only

    def check(self) -> None:
        super().check()
        for name in ("hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"LSTMConfig.{name} must be a positive int, got {value!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"LSTMConfig.dropout must be in [0, 1), got {self.dropout!r}")


class LSTMEncoder(SubwordEncoder):
    """Subword embeddings -> (bi)LSTM over packed sequences -> pooled sentence vector ``(B, D)``.

    ``D = hidden_size * (2 if bidirectional else 1)``. Pooling: ``"last"`` concatenates the final hidden
    state of each direction of the top layer (left-to-right after the last real token, right-to-left after
    the first), ``"max"`` / ``"mean"`` pool the top layer's outputs over the real tokens. For an output of
    another size, give the :class:`~textsiam.SiameseModel` a projection (``SiameseModel.lstm(projection_dim=...)``).

    Build one with :meth:`SiameseModel.lstm <textsiam.SiameseModel.lstm>` or :meth:`from_embeddings`; see
    :class:`LSTMConfig` for the settings.

    Args:
        config: the settings.
        tokenizer: a ``transformers`` tokenizer whose ids index the embedding matrix.
        max_seq_length: inputs longer than this many tokens are truncated (default 256).
    """

    encoder_type = "lstm"
    config_class = LSTMConfig
    pooling_modes = LSTM_POOLING_MODES
    config: LSTMConfig

    def __init__(self, config: LSTMConfig, tokenizer: Any, max_seq_length: int | None = None) -> None:
        super().__init__(config, tokenizer, max_seq_length)
        self.lstm = nn.LSTM(
            input_size=config.embedding_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.pooling = Pooling(config.pooling) if config.pooling != "last" else None
        self.output_dropout = nn.Dropout(config.dropout)

    @property
    def num_directions(self) -> int:
        return 2 if self.config.bidirectional else 1

    def get_embedding_dimension(self) -> int:
        return self.config.hidden_size * self.num_directions

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """``features`` (``input_ids``, ``attention_mask``; right-padded) -> ``(B, D)``."""
        x, mask, lengths = self.embed_tokens(features)  # (B, T, E), (B, T), (B,)
        batch, width = mask.shape
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, (h_n, _) = self.lstm(packed)  # h_n: (layers * dirs, B, H), in the input order
        if self.pooling is None:  # "last"
            top = h_n.view(self.config.num_layers, self.num_directions, batch, self.config.hidden_size)[-1]
            pooled = top.transpose(0, 1).reshape(batch, -1)  # (B, dirs * H)
        else:
            states, _ = pad_packed_sequence(output, batch_first=True, total_length=width)  # (B, T, dirs * H)
            pooled = self.pooling(states, mask)  # (B, dirs * H)
        return self.output_dropout(pooled)
