"""New light towers (LSTM, CNN) over a source model's tokenizer and input word embeddings."""

from __future__ import annotations

import copy
import os
from typing import Any

import torch
from torch import nn

from textsiam.encoders import CNNEncoder, Encoder, LSTMEncoder, StaticEncoder
from textsiam.model.projection import Projection
from textsiam.model.scoring import check_similarity_name


def source_embeddings(source: Any, load: Any) -> tuple[Any, torch.Tensor, str]:
    """The tokenizer and input word embeddings ``(V, E)`` of a source model.

    Args:
        source: ``None`` (the embedded all-MiniLM-L6-v2), a model directory or Hub name (anything
            ``load`` reads), a :class:`~textsiam.SiameseModel`, or an :class:`~textsiam.encoders.Encoder` (a
            transformer tower, or another subword tower).
        load: loads a model from a name or path (``SiameseModel.from_pretrained``).

    Returns:
        ``(tokenizer, weight, name)``: a private copy of the tokenizer, the embedding matrix (a detached
        float32 CPU copy; row ``i`` embeds token id ``i``) and a name for the source (for logs and configs).
    """
    name = ""
    if source is None or isinstance(source, (str, os.PathLike)):
        model = load(source, device="cpu")
        name = str(source) if source is not None else "all-MiniLM-L6-v2 (embedded)"
        source = model
    if isinstance(getattr(source, "encoder", None), Encoder):  # a SiameseModel
        name = name or getattr(source, "name_or_path", "") or "SiameseModel"
        source = source.encoder
    if not isinstance(source, Encoder):
        raise TypeError(
            f"source must be None, a model path or Hub name, a SiameseModel or an Encoder, got {type(source).__name__}"
        )
    name = name or type(source).__name__
    layer = source.input_embeddings()
    if not isinstance(layer, nn.Embedding):
        raise ValueError(f"{type(source).__name__} has no input word embedding (nn.Embedding) to copy")
    weight = layer.weight.detach().to("cpu", torch.float32).clone()  # (V, E)
    return copy.deepcopy(source.tokenizer), weight, name


def build_tower(
    cls: type,
    encoder_cls: type,
    source: Any = None,
    *,
    similarity: str = "cosine",
    normalize: bool = False,
    projection_dim: int | None = None,
    projection_activation: str = "identity",
    embeddings: str = "pretrained",
    max_seq_length: int | None = None,
    device: str | torch.device | None = None,
    seed: int | None = None,
    **settings: Any,
) -> Any:
    """A new (untrained) ``cls`` (a :class:`~textsiam.SiameseModel`) whose tower is ``encoder_cls`` (a subword
    tower: :class:`~textsiam.encoders.LSTMEncoder` or :class:`~textsiam.encoders.CNNEncoder`).

    Args:
        source: where the tokenizer and the initial embedding matrix come from: ``None`` (the embedded
            all-MiniLM-L6-v2), a model directory / Hub name, or a :class:`~textsiam.SiameseModel`.
        similarity: the scoring function; ``"malstm"`` (``exp(-||u - v||_1)``) for the MaLSTM of
            Mueller & Thyagarajan (2016).
        normalize: L2-normalise the embeddings.
        projection_dim: add a dense layer ``D -> projection_dim`` on top (e.g. the teacher's size for
            distillation); ``projection_activation`` is its activation (``identity``, ``tanh``, ...).
        embeddings: ``"pretrained"`` (copy the source's input word embeddings) or ``"random"``.
        max_seq_length: token limit (default 256).
        device: where to run (default CUDA when available, else CPU).
        seed: seed for the new layers' initial weights (the projection gets ``seed + 1``).
        **settings: fields of the tower's config class (:class:`~textsiam.encoders.LSTMConfig`: ``hidden_size``
            (256), ``num_layers`` (1), ``bidirectional`` (True), ``dropout``, ``pooling`` (``last`` | ``max`` |
            ``mean``), ...; :class:`~textsiam.encoders.CNNConfig`: ``kernel_sizes`` ([1, 2, 3]), ``num_filters``
            (256 per width), ``activation``, ``pooling`` (``max`` | ``mean``), ...; both: ``freeze_embeddings``,
            ``embedding_dropout``, ``embedding_dim`` (random embeddings only)).
    """
    check_similarity_name(similarity)
    encoder = encoder_cls.from_embeddings(
        *source_embeddings(source, cls.from_pretrained),
        embeddings=embeddings,
        max_seq_length=max_seq_length,
        seed=seed,
        **settings,
    )
    projection = None
    if projection_dim is not None:
        if not isinstance(projection_dim, int) or isinstance(projection_dim, bool) or projection_dim < 1:
            raise ValueError(f"projection_dim must be a positive int or None, got {projection_dim!r}")
        with torch.random.fork_rng(enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed + 1)
            projection = Projection(encoder.get_embedding_dimension(), projection_dim, activation=projection_activation)
    model = cls(encoder, similarity=similarity, normalize=normalize, projection=projection, device=device)
    model.name_or_path = f"new {encoder.encoder_type} tower"
    return model


class LightTowers:
    """The constructors of new light towers, mixed into :class:`~textsiam.SiameseModel` (``SiameseModel.lstm()``,
    ``.cnn()``, ``.static()``)."""

    @classmethod
    def lstm(cls, source: Any = None, **options: Any) -> Any:
        """A new (untrained) twin tower whose encoder is a (bi)LSTM over ``source``'s subword embeddings.

        ``options`` are those of :func:`textsiam.model.towers.build_tower` (``similarity``, ``normalize``,
        ``projection_dim``, ``embeddings``, ``max_seq_length``, ``device``, ``seed``) and the fields of
        :class:`~textsiam.encoders.LSTMConfig` (``hidden_size``, ``num_layers``, ``bidirectional``, ``pooling``, ...).

        Example:
            >>> model = SiameseModel.lstm(hidden_size=50, bidirectional=False, pooling="last", similarity="malstm")
        """
        return build_tower(cls, LSTMEncoder, source, **options)

    @classmethod
    def cnn(cls, source: Any = None, **options: Any) -> Any:
        """A new (untrained) twin tower whose encoder is a multi-width 1-D CNN with max-over-time pooling.

        ``options`` as for :meth:`lstm`, with the fields of :class:`~textsiam.encoders.CNNConfig`
        (``kernel_sizes``, ``num_filters``, ``activation``, ``pooling``, ...) in place of the LSTM's.
        """
        return build_tower(cls, CNNEncoder, source, **options)

    @classmethod
    def static(cls, source: Any = None, **options: Any) -> Any:
        """A new (untrained) twin tower whose encoder is a weighted mean of static subword vectors (the fastest).

        ``options`` as for :meth:`lstm`, with the fields of :class:`~textsiam.encoders.StaticConfig`
        (``token_weights``, ``embedding_dim`` with ``embeddings="random"``). Such a tower is useful once trained:
        :func:`textsiam.training.distill.distill` with ``tower="static"`` builds one from a teacher.
        """
        return build_tower(cls, StaticEncoder, source, **options)
