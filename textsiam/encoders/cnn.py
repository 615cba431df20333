"""A convolutional tower over subword embeddings: multi-width 1-D convolutions with max-over-time pooling.

Each width ``k`` has ``num_filters`` filters that read ``k`` consecutive subword embeddings; a filter's
activations are max-pooled over the text's real tokens, and the widths are concatenated (Kim, 2014). The
convolutions are "same"-padded with zeros and padding tokens are zeroed before convolving, so a text's
embedding does not depend on the padding of its batch.

References:
    * Kim (2014), "Convolutional Neural Networks for Sentence Classification", EMNLP,
      https://arxiv.org/abs/1408.5882
    * Hu et al. (2014), "Convolutional Neural Network Architectures for Matching Natural Language Sentences",
      NeurIPS (ARC-I, a Siamese CNN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from textsiam.encoders.pooling import Pooling
from textsiam.encoders.subword import EmbeddingConfig, SubwordEncoder

CNN_POOLING_MODES: tuple[str, ...] = ("max", "mean")
CNN_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


@dataclass
class CNNConfig(EmbeddingConfig):
    """Settings of a :class:`CNNEncoder` (stored under ``encoder`` in ``textsiam.json``)."""

    kernel_sizes: list[int] = field(default_factory=lambda: [1, 2, 3])  # filter widths in tokens, one bank each
    num_filters: int = 256  # filters per width; the output has len(kernel_sizes) * num_filters features
    activation: str = "relu"  # non-linearity before pooling: relu | tanh | gelu
    dropout: float = 0.0  # dropout on the pooled output (training only)
    pooling: str = "max"  # max (max over time, the classic text CNN) | mean; over real tokens only
    mean_embedding: bool = False  # also output the mean of the token embeddings (a static path beside the filters)

    def check(self) -> None:
        super().check()
        sizes = self.kernel_sizes
        if not isinstance(sizes, (list, tuple)) or not sizes:
            raise ValueError(f"CNNConfig.kernel_sizes must be a non-empty list of ints, got {sizes!r}")
        for k in sizes:
            if not isinstance(k, int) or isinstance(k, bool) or k < 1:
                raise ValueError(f"CNNConfig.kernel_sizes must hold positive ints, got {sizes!r}")
        self.kernel_sizes = list(sizes)
        if not isinstance(self.num_filters, int) or isinstance(self.num_filters, bool) or self.num_filters < 1:
            raise ValueError(f"CNNConfig.num_filters must be a positive int, got {self.num_filters!r}")
        if self.activation not in CNN_ACTIVATIONS:
            raise ValueError(f"unknown CNN activation {self.activation!r}; choose one of {list(CNN_ACTIVATIONS)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"CNNConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not isinstance(self.mean_embedding, bool):
            raise ValueError(f"CNNConfig.mean_embedding must be true or false, got {self.mean_embedding!r}")


class CNNEncoder(SubwordEncoder):
    """Subword embeddings -> 1-D convolutions of several widths -> max over time -> ``(B, D)``.

    ``D = len(kernel_sizes) * num_filters`` (plus ``embedding_dim`` with ``mean_embedding``, which appends the
    mean of the text's token embeddings: a static path beside the filters). Build one with
    :meth:`SiameseModel.cnn <textsiam.SiameseModel.cnn>` or :meth:`from_embeddings`; see :class:`CNNConfig` for
    the settings.

    Args:
        config: the settings.
        tokenizer: a ``transformers`` tokenizer whose ids index the embedding matrix.
        max_seq_length: inputs longer than this many tokens are truncated (default 256).
    """

    encoder_type = "cnn"
    config_class = CNNConfig
    pooling_modes = CNN_POOLING_MODES
    config: CNNConfig

    def __init__(self, config: CNNConfig, tokenizer: Any, max_seq_length: int | None = None) -> None:
        super().__init__(config, tokenizer, max_seq_length)
        self.convs = nn.ModuleList(nn.Conv1d(config.embedding_dim, config.num_filters, k) for k in config.kernel_sizes)
        self.activation = CNN_ACTIVATIONS[config.activation]()
        self.pooling = Pooling(config.pooling)
        self.output_dropout = nn.Dropout(config.dropout)

    def get_embedding_dimension(self) -> int:
        extra = self.config.embedding_dim if self.config.mean_embedding else 0
        return len(self.config.kernel_sizes) * self.config.num_filters + extra

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """``features`` (``input_ids``, ``attention_mask``; right-padded) -> ``(B, D)``."""
        x, mask, lengths = self.embed_tokens(features)  # (B, T, E), (B, T), (B,)
        x = (x * mask.unsqueeze(-1).to(x.dtype)).transpose(1, 2)  # (B, E, T), padding tokens zeroed
        maps = []
        for conv, k in zip(self.convs, self.config.kernel_sizes, strict=True):
            y = conv(F.pad(x, ((k - 1) // 2, k // 2)))  # (B, F, T): position t reads t - (k-1)//2 .. t + k//2
            maps.append(self.activation(y))
        states = torch.cat(maps, dim=1).transpose(1, 2)  # (B, T, n_widths * F)
        pooled = self.pooling(states, mask)  # (B, n_widths * F)
        if self.config.mean_embedding:
            mean = x.sum(dim=2) / lengths.unsqueeze(1).to(x.dtype)  # (B, E): x is zero on padding
            pooled = torch.cat([pooled, mean], dim=1)  # (B, n_widths * F + E)
        return self.output_dropout(pooled)
