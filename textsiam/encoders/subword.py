"""Light towers over subword embeddings: what :class:`LSTMEncoder` and :class:`CNNEncoder` share.

Such a tower borrows a transformer's tokenizer (WordPiece, BPE or sentencepiece) and, by default, initialises
its embedding matrix from that transformer's *input* word embeddings (row ``i`` = the embedding of token id
``i``); the layers on top are new. :func:`textsiam.model.towers.source_embeddings` reads both from a source model;
:class:`SubwordEncoder` holds the tokenizer and the embedding, and saves and loads a tower:

* ``model.safetensors``: every weight of the tower (embedding matrix included);
* the tokenizer files (``tokenizer.json``, ``vocab.txt``, ...), as ``tokenizer.save_pretrained`` writes them;
* the settings (an :class:`EmbeddingConfig` subclass) under ``encoder`` in ``textsiam.json``, written by
  :class:`~textsiam.SiameseModel` (pooling and ``max_seq_length`` live at the top level of that file).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from textsiam.encoders.base import Encoder, PreTokenized
from textsiam.encoders.loading import (
    check_finite,
    check_loaded_keys,
    check_vocabulary,
    load_tokenizer,
    read_safetensors,
)
from textsiam.encoders.weight_dtypes import check_weight_dtypes

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "model.safetensors"
DEFAULT_MAX_SEQ_LENGTH = 256
EMBEDDING_INITS: tuple[str, ...] = ("pretrained", "random")

C = TypeVar("C", bound="EmbeddingConfig")
E = TypeVar("E", bound="SubwordEncoder")


@dataclass
class EmbeddingConfig:
    """Settings of the subword embedding layer, shared by the LSTM and CNN towers."""

    vocab_size: int = 30522  # rows of the embedding matrix: token ids 0 .. vocab_size - 1 (>= the tokenizer's)
    embedding_dim: int = 384  # size of one subword embedding (the source transformer's hidden size by default)
    padding_idx: int | None = 0  # the tokenizer's pad token id: its row gets no gradient; None = no pad token
    freeze_embeddings: bool = False  # keep the embedding matrix fixed while training (the layers above still learn)
    embedding_dropout: float = 0.0  # dropout on the subword embeddings (training only)
    pooling: str = "max"  # how token states become one vector (see each tower for its modes)

    def check(self) -> None:
        """Raise ``ValueError`` (naming the field) for values no tower can be built from."""
        for name in ("vocab_size", "embedding_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be a positive int, got {value!r}")
        if self.padding_idx is not None and not 0 <= self.padding_idx < self.vocab_size:
            raise ValueError(f"padding_idx {self.padding_idx} is outside the vocabulary (size {self.vocab_size})")
        if not 0 <= self.embedding_dropout < 1:
            raise ValueError(f"embedding_dropout must be in [0, 1), got {self.embedding_dropout!r}")

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """Build from a mapping; unknown keys raise ``ValueError`` listing the valid ones."""
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} settings must be a mapping, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} setting(s) {unknown}; valid: {names}")
        return cls(**data)


class SubwordEncoder(Encoder):
    """Base of the towers that embed subword tokens with a plain ``nn.Embedding`` and add layers on top.

    Subclasses set :attr:`config_class` and :attr:`pooling_modes`, build their layers in ``__init__`` after
    calling ``super().__init__``, and implement ``forward`` / ``get_embedding_dimension``.

    Args:
        config: the tower's settings.
        tokenizer: a ``transformers`` tokenizer whose ids index the embedding matrix.
        max_seq_length: inputs longer than this many tokens (special tokens included) are truncated.
    """

    config_class: ClassVar[type[EmbeddingConfig]] = EmbeddingConfig
    pooling_modes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: EmbeddingConfig, tokenizer: Any, max_seq_length: int | None = None) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"config must be a {self.config_class.__name__}, got {type(config).__name__}")
        config.check()
        if config.pooling not in self.pooling_modes:
            raise ValueError(
                f"unknown pooling {config.pooling!r} for {type(self).__name__}; "
                f"choose one of {list(self.pooling_modes)}"
            )
        if max_seq_length is None:
            max_seq_length = DEFAULT_MAX_SEQ_LENGTH
        if len(tokenizer) > config.vocab_size:
            raise ValueError(
                f"the tokenizer has {len(tokenizer)} tokens but the embedding matrix only {config.vocab_size} rows"
            )
        self.config = config
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.padding_idx)
        self.embedding.weight.requires_grad_(not config.freeze_embeddings)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def from_embeddings(
        cls: type[E],
        tokenizer: Any,
        weight: torch.Tensor,
        name: str = "",
        *,
        embeddings: str = "pretrained",
        max_seq_length: int | None = None,
        seed: int | None = None,
        **settings: Any,
    ) -> E:
        """A new tower over a source model's tokenizer; its embedding matrix copied from ``weight`` or random.

        :meth:`textsiam.SiameseModel.lstm` / :meth:`~textsiam.SiameseModel.cnn` read ``tokenizer`` and ``weight``
        from a source model (:func:`textsiam.model.towers.source_embeddings`).

        Args:
            tokenizer: the source's tokenizer (the tower keeps it).
            weight: the source's input word embeddings ``(V, E)``; row ``i`` embeds token id ``i``.
            name: the source's name, for the log.
            embeddings: ``"pretrained"`` (copy the source's input word embeddings; their size sets
                ``embedding_dim``) or ``"random"`` (``N(0, 1)`` rows of size ``embedding_dim``, default the
                source's; the pad row is zero).
            max_seq_length: token limit (default 256).
            seed: seed for the new layers' initial weights (``None``: torch's global RNG as it is).
            **settings: fields of the tower's config class (``hidden_size``, ``pooling``, ...).
        """
        if embeddings not in EMBEDDING_INITS:
            raise ValueError(f"unknown embeddings init {embeddings!r}; choose one of {list(EMBEDDING_INITS)}")
        if embeddings == "pretrained" and settings.get("embedding_dim", weight.shape[1]) != weight.shape[1]:
            raise ValueError(
                f"embedding_dim={settings['embedding_dim']} differs from the size of the source embeddings "
                f"({weight.shape[1]}); drop embedding_dim, or use embeddings='random'"
            )
        settings.setdefault("embedding_dim", int(weight.shape[1]))
        settings.setdefault("vocab_size", max(len(tokenizer), int(weight.shape[0])))
        settings.setdefault("padding_idx", tokenizer.pad_token_id)
        config = cls.config_class.from_dict(settings)
        with torch.random.fork_rng(enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            encoder = cls(config, tokenizer, max_seq_length=max_seq_length)
        if embeddings == "pretrained":
            with torch.no_grad():
                rows = min(weight.shape[0], config.vocab_size)
                encoder.embedding.weight[:rows].copy_(weight[:rows])
        logger.info("new %s: tokenizer and %s embeddings from %s", cls.__name__, embeddings, name)
        return encoder

    # ------------------------------------------------------------------------------------------ helpers
    def embed_tokens(self, features: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Subword embeddings of a padded batch: ``(x (B, T, E), mask (B, T) bool, lengths (B,) int64)``.

        ``lengths`` counts the real tokens of each text (at least 1, so an all-padding row still has one
        position); ``mask`` marks exactly those first ``lengths`` positions.
        """
        ids = features["input_ids"]  # (B, T)
        attention = features.get("attention_mask")
        if attention is None:
            attention = torch.ones_like(ids)
        lengths = attention.sum(dim=1).clamp(min=1)  # (B,)
        positions = torch.arange(ids.shape[1], device=ids.device)  # (T,)
        mask = positions.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        x = self.embedding_dropout(self.embedding(ids))  # (B, T, E)
        return x, mask, lengths

    def pretokenize(self, texts: list[str]) -> PreTokenized | None:
        """Tokenise all texts at once (see :meth:`Encoder.pretokenize`), through the Rust tokenizer directly.

        These towers read only ``input_ids``, so a copy of the fast tokenizer's backend (no padding, truncation
        at ``max_seq_length``) encodes the texts without offsets or Python-side batch objects: about twice as fast
        as the ``transformers`` call, which is most of a static tower's encoding time. The ids are the same
        (tested); a tokenizer without a Rust backend, or padding on the left, takes the common path.
        """
        backend = self.fast_backend()
        if backend is None:
            return super().pretokenize(texts)
        encodings = backend.encode_batch_fast(texts)
        ids = [e.ids for e in encodings]
        n_truncated = sum(1 for e in encodings if e.overflowing)
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        return PreTokenized({"input_ids": ids}, lengths, n_truncated, {"input_ids": int(self.tokenizer.pad_token_id)})

    def fast_backend(self) -> Any:
        """A private copy of the tokenizer's Rust backend set for :meth:`pretokenize` (``None`` if unsuitable)."""
        tok = self.tokenizer
        backend = getattr(tok, "backend_tokenizer", None)
        if backend is None or not hasattr(backend, "encode_batch_fast") or tok.pad_token_id is None:
            return None
        if getattr(tok, "padding_side", "right") != "right" or getattr(tok, "truncation_side", "right") != "right":
            return None
        key = (id(backend), self.max_seq_length)
        cached = getattr(self, "_fast_backend", None)
        if cached is None or cached[0] != key:
            from tokenizers import Tokenizer

            copy = Tokenizer.from_str(backend.to_str())
            copy.no_padding()
            copy.enable_truncation(self.max_seq_length)
            cached = (key, copy)
            self._fast_backend = cached
        return cached[1]

    @property
    def pooling_mode(self) -> str:
        return self.config.pooling

    def input_embeddings(self) -> nn.Embedding:
        return self.embedding

    def lookup_tables(self) -> list[nn.Embedding]:
        """The tower's per-token tables (the word embeddings first): a batch uses only a few of their rows, so
        distillation trains them with sparse gradients."""
        return [self.embedding]

    def encoder_config(self) -> dict[str, Any]:
        data = dataclasses.asdict(self.config)
        data.pop("pooling")  # stored as SiameseConfig.pooling (top level of textsiam.json)
        return data

    # ------------------------------------------------------------------------------------------ save / load
    def save(self, directory: Path) -> None:
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(Path(directory) / WEIGHTS_NAME), metadata={"format": "pt"})
        self.tokenizer.save_pretrained(directory)

    @classmethod
    def load(cls: type[E], directory: Path, config: dict[str, Any], strict: bool = True, **kwargs: Any) -> E:
        """Rebuild a saved tower; damaged or mismatched files are a ``ValueError`` naming the file.

        ``strict=False`` loads a checkpoint with missing or unexpected tensors, with a warning naming them.
        """
        if kwargs:
            raise ValueError(f"{cls.__name__}.load takes no extra options, got {sorted(kwargs)}")
        settings = dict(config)
        max_seq_length = settings.pop("max_seq_length", None)
        settings.pop("model_type", None)  # written by transformer towers; harmless if present
        directory = Path(directory)
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise ValueError(f"{directory}: {cls.__name__} weights {WEIGHTS_NAME} are missing")
        tokenizer = load_tokenizer(directory)
        vocab_size = settings.get("vocab_size")
        if isinstance(vocab_size, int) and not isinstance(vocab_size, bool):
            check_vocabulary(tokenizer, vocab_size, directory)
        try:
            encoder = cls(cls.config_class.from_dict(settings), tokenizer, max_seq_length=max_seq_length)
        except (TypeError, ValueError) as err:  # a missing or wrongly typed setting in textsiam.json
            raise ValueError(f"{directory / 'textsiam.json'}: bad encoder settings ({err})") from None
        state = read_safetensors(weights)
        own = {k for k, _ in encoder.state_dict().items()}
        missing = sorted(own - set(state))
        unexpected = sorted(set(state) - own)
        check_loaded_keys(missing, unexpected, {k.split(".", 1)[0] for k in own | set(state)}, weights, strict)
        check_weight_dtypes(encoder, {k: v.dtype for k, v in state.items()}, weights)
        try:
            encoder.load_state_dict(state, strict=False)
        except RuntimeError as err:  # shapes that do not fit the settings in textsiam.json
            raise ValueError(f"{weights}: tensor shapes do not match the settings in textsiam.json ({err})") from None
        check_finite(encoder, weights)
        return encoder

    def extra_repr(self) -> str:
        return f"max_seq_length={self.max_seq_length}"
