"""sentence-transformers' ``SentenceTransformer`` vocabulary, where it means the same thing in textsiam.

:class:`SentenceTransformersAPI` is a mixin of :class:`~textsiam.SiameseModel`: ``get_sentence_embedding_dimension``,
``encode_query`` / ``encode_document`` (prompts), ``similarity_pairwise`` on embeddings, and the embedding branch of
``similarity`` (a ``(N, M)`` matrix, as in sentence-transformers). The helpers below serve ``encode``'s keywords
``normalize_embeddings``, ``convert_to_numpy``, ``device``, ``prompt`` / ``prompt_name`` and ``truncate_dim``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from textsiam.model.scoring import pairwise_similarity, similarity_matrix


def is_embeddings(x: Any) -> bool:
    """``True`` for a numeric ``(D,)`` or ``(N, D)`` numpy array or tensor (embeddings, not texts)."""
    if isinstance(x, torch.Tensor):
        return x.ndim in (1, 2) and (x.is_floating_point() or x.dtype in (torch.int8, torch.uint8))
    if isinstance(x, np.ndarray):
        return x.ndim in (1, 2) and x.dtype.kind in "fiu"
    return False


def as_embedding_matrix(x: Any, name: str) -> torch.Tensor:
    """Embeddings as a float32 ``(N, D)`` tensor (a ``(D,)`` vector becomes one row)."""
    if not is_embeddings(x):
        raise TypeError(f"{name} must be embeddings (a numeric numpy array or tensor), got {type(x).__name__}")
    t = torch.as_tensor(x).float()
    return t.unsqueeze(0) if t.ndim == 1 else t


def check_truncate_dim(value: Any, dim: int) -> int | None:
    """``truncate_dim`` checked against the model's embedding size ``dim`` (``None``: no truncation)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= dim:
        raise ValueError(f"truncate_dim must be an int in [1, {dim}] (the embedding size) or None, got {value!r}")
    return value


def resolve_normalize(normalize: Any, normalize_embeddings: Any) -> bool | None:
    """One answer from textsiam's ``normalize`` and sentence-transformers' ``normalize_embeddings`` (aliases)."""
    for name, value in (("normalize", normalize), ("normalize_embeddings", normalize_embeddings)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True, False or None, got {value!r}")
    if normalize is not None and normalize_embeddings is not None and bool(normalize) != bool(normalize_embeddings):
        raise ValueError("normalize and normalize_embeddings disagree; give one of them")
    chosen = normalize if normalize is not None else normalize_embeddings
    return None if chosen is None else bool(chosen)


def apply_prompt(items: list[str], prompts: dict[str, str], prompt: Any, prompt_name: Any) -> list[str]:
    """Prefix every text with ``prompt``, or with the model's prompt called ``prompt_name``."""
    if prompt is None and prompt_name is not None:
        if prompt_name not in prompts:
            raise ValueError(f"unknown prompt_name {prompt_name!r}; this model's prompts: {sorted(prompts)}")
        prompt = prompts[prompt_name]
    if prompt is None or prompt == "":
        return items
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
    return [prompt + t for t in items]


def truncate_and_normalize(emb: torch.Tensor, truncate_dim: int | None, normalize: bool) -> torch.Tensor:
    """Matryoshka-style: keep the first ``truncate_dim`` dimensions, then L2-normalise if asked. ``(N, D')``."""
    if truncate_dim is not None:
        emb = emb[:, :truncate_dim]
    return nn.functional.normalize(emb, p=2, dim=-1) if normalize else emb


class SentenceTransformersAPI:
    """The ``SentenceTransformer`` methods that :class:`~textsiam.SiameseModel` offers with the same meaning."""

    embedding_dim: int
    max_seq_length: int
    similarity_fn_name: str
    truncate_dim: int | None
    prompts: dict[str, str]
    encode: Any

    def get_sentence_embedding_dimension(self) -> int:
        """Size of the embeddings :meth:`encode` returns (``truncate_dim`` when set)."""
        return self.truncate_dim or self.embedding_dim

    def get_max_seq_length(self) -> int:
        """Texts longer than this many tokens are truncated."""
        return self.max_seq_length

    def encode_query(self, texts: Any, **kwargs: Any) -> Any:
        """:meth:`encode` with the model's ``"query"`` prompt, if it has one (as in sentence-transformers)."""
        if "query" in self.prompts and "prompt" not in kwargs:
            kwargs.setdefault("prompt_name", "query")
        return self.encode(texts, **kwargs)

    def encode_document(self, texts: Any, **kwargs: Any) -> Any:
        """:meth:`encode` with the model's ``"document"`` prompt, if it has one (as in sentence-transformers)."""
        for name in ("document", "passage", "corpus"):
            if name in self.prompts and "prompt" not in kwargs:
                kwargs.setdefault("prompt_name", name)
                break
        return self.encode(texts, **kwargs)

    def embedding_similarity(self, a: Any, b: Any) -> torch.Tensor:
        """sentence-transformers' ``similarity``: every row of ``a`` ``(N, D)`` against every row of ``b`` ``(M, D)``
        with the model's similarity function, as a ``(N, M)`` tensor."""
        return torch.as_tensor(
            similarity_matrix(as_embedding_matrix(a, "a"), as_embedding_matrix(b, "b"), self.similarity_fn_name)
        )

    def similarity_pairwise(self, a: Any, b: Any) -> torch.Tensor:
        """sentence-transformers' ``similarity_pairwise``: row ``i`` of ``a`` against row ``i`` of ``b``: ``(N,)``.

        Takes embeddings; to score texts pair by pair use :meth:`similarity` with two lists of texts.
        """
        ea, eb = as_embedding_matrix(a, "a"), as_embedding_matrix(b, "b")
        if ea.shape != eb.shape:
            raise ValueError(f"a and b must have the same shape, got {tuple(ea.shape)} and {tuple(eb.shape)}")
        return torch.as_tensor(pairwise_similarity(ea, eb, self.similarity_fn_name))
