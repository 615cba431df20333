"""A static tower: a sentence is the weighted mean of its subword tokens' vectors; no layers, no context.

Each token id ``t`` has a learned vector ``e_t`` and a learned positive weight ``w_t = exp(s_t)``; a text with
tokens ``t_1 .. t_n`` (special tokens included) is embedded as

    u = sum_i w_{t_i} e_{t_i} / sum_i w_{t_i}

so encoding is one table look-up per token, and the tokenizer is most of the cost. Such a tower is built by
distillation (:func:`textsiam.training.distill.distill` with ``tower="static"``): its rows start as the teacher's
embedding of each token on its own (model2vec's recipe), optionally PCA-reduced, and are then trained to
reproduce the teacher's sentence embeddings. The weights let frequent, uninformative tokens count less (as SIF
weighting does), and matter when the output is not L2-normalised or a projection follows.

Example::

    model = SiameseModel.static(embedding_dim=256, embeddings="random", seed=0)  # untrained
    model.encode(["A man is playing a guitar."]).shape  # (1, 256)

References:
    * Arora, Liang & Ma (2017), "A Simple but Tough-to-Beat Baseline for Sentence Embeddings" (SIF), ICLR.
    * Tulkens & van Dongen (2024), "Model2Vec: Distill a Small Fast Model from any Sentence Transformer",
      https://github.com/MinishLab/model2vec
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from textsiam.encoders.subword import EmbeddingConfig, SubwordEncoder

STATIC_POOLING_MODES: tuple[str, ...] = ("mean",)


@dataclass
class StaticConfig(EmbeddingConfig):
    """Settings of a :class:`StaticEncoder` (stored under ``encoder`` in ``textsiam.json``)."""

    token_weights: bool = True  # learn a positive weight per token id (weighted mean); False = plain mean
    pooling: str = "mean"  # mean over real tokens (weighted by the token weights); the only mode

    def check(self) -> None:
        super().check()
        if not isinstance(self.token_weights, bool):
            raise ValueError(f"StaticConfig.token_weights must be true or false, got {self.token_weights!r}")


class StaticEncoder(SubwordEncoder):
    """Subword token vectors -> weighted mean over the text's real tokens -> ``(B, E)``.

    The embedding matrix is the whole model (``E = embedding_dim``); ``token_weight`` holds the log-weight of
    each token id (zero at the start: a plain mean). A text's embedding does not depend on its batch's padding.

    Args:
        config: the settings (:class:`StaticConfig`).
        tokenizer: a ``transformers`` tokenizer whose ids index the embedding matrix.
        max_seq_length: inputs longer than this many tokens are truncated (default 256).
    """

    encoder_type = "static"
    config_class = StaticConfig
    pooling_modes = STATIC_POOLING_MODES
    padding_invariant = True
    config: StaticConfig

    def __init__(self, config: StaticConfig, tokenizer: Any, max_seq_length: int | None = None) -> None:
        super().__init__(config, tokenizer, max_seq_length)
        # (V, 1) log-weights; an nn.Embedding so that training can update only the rows a batch uses
        self.token_weight = nn.Embedding(config.vocab_size, 1)
        nn.init.zeros_(self.token_weight.weight)
        self.token_weight.weight.requires_grad_(config.token_weights and not config.freeze_embeddings)

    def lookup_tables(self) -> list[nn.Embedding]:
        return [self.embedding, self.token_weight] if self.config.token_weights else [self.embedding]

    def get_embedding_dimension(self) -> int:
        return self.config.embedding_dim

    def token_weights(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The weight ``w_t > 0`` of each token of a batch: ``(B, T)`` (all ones with ``token_weights=False``)."""
        if not self.config.token_weights:
            return torch.ones(input_ids.shape, dtype=self.embedding.weight.dtype, device=input_ids.device)
        return self.token_weight(input_ids).squeeze(-1).exp()  # (B, T)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """``features`` (``input_ids``, ``attention_mask``; right-padded) -> ``(B, E)``."""
        x, mask, _ = self.embed_tokens(features)  # (B, T, E), (B, T), (B,)
        w = self.token_weights(features["input_ids"]) * mask.to(x.dtype)  # (B, T), zero on padding
        summed = torch.bmm(w.unsqueeze(1), x).squeeze(1)  # (B, E)
        return summed / w.sum(dim=1, keepdim=True).clamp(min=1e-12)  # (B, E)
