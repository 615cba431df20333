"""Encode each unique text once and score sentence pairs with every similarity function.

The model is duck-typed: anything with
``encode(texts: list[str], batch_size: int = 32, show_progress_bar: bool = False) -> (N, D)``
works (numpy array or torch tensor).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from textsiam.similarity import pairwise_similarity

logger = logging.getLogger(__name__)


def model_name(model: Any) -> str | None:
    """Best-effort name of a model for records: ``name_or_path``, else the class name."""
    name = getattr(model, "name_or_path", None)
    if name:
        return str(name)
    return type(model).__name__ if model is not None else None


def encode_unique(
    model: Any,
    texts: Sequence[str],
    batch_size: int = 32,
    show_progress_bar: bool = False,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Encode every distinct text of ``texts`` exactly once.

    Args:
        model: object with an ``encode`` method (see module docstring).
        texts: texts, possibly with repeats.
        batch_size: forwarded to ``model.encode``.
        show_progress_bar: forwarded to ``model.encode``.

    Returns:
        ``(unique_texts, embeddings, inverse)``: the distinct texts in first-seen order, their
        ``(U, D)`` float32 embeddings, and an int64 array with ``embeddings[inverse[i]]`` being
        the embedding of ``texts[i]``.

    Raises:
        ValueError: the model returned the wrong shape or non-finite values.
    """
    texts = [str(t) for t in texts]
    row_of: dict[str, int] = {}
    inverse = np.fromiter((row_of.setdefault(t, len(row_of)) for t in texts), dtype=np.int64, count=len(texts))
    unique = list(row_of)
    logger.info("encoding %d unique texts (%d total)", len(unique), len(texts))
    emb = model.encode(unique, batch_size=batch_size, show_progress_bar=show_progress_bar)
    if hasattr(emb, "detach"):
        emb = emb.detach().cpu().numpy()
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(unique):
        raise ValueError(f"model.encode returned shape {emb.shape} for {len(unique)} texts; expected (N, D)")
    if not np.all(np.isfinite(emb)):
        bad = int((~np.isfinite(emb).all(axis=1)).sum())
        raise ValueError(f"model.encode returned NaN/inf embeddings for {bad} of {len(unique)} texts")
    return unique, emb, inverse


def pair_scores(
    embeddings: np.ndarray,
    idx_a: np.ndarray,
    idx_b: np.ndarray,
    similarities: Iterable[str],
    chunk_size: int = 8192,
) -> dict[str, np.ndarray]:
    """Score pairs ``(embeddings[idx_a[i]], embeddings[idx_b[i]])`` with each similarity function.

    Works in chunks of ``chunk_size`` pairs to bound memory. Higher always means more similar.

    Returns:
        ``{similarity_name: (N,) float64 scores}``.
    """
    idx_a = np.asarray(idx_a, dtype=np.int64)
    idx_b = np.asarray(idx_b, dtype=np.int64)
    if idx_a.shape != idx_b.shape or idx_a.ndim != 1:
        raise ValueError(f"idx_a and idx_b must be 1-D of equal length, got {idx_a.shape} and {idx_b.shape}")
    out: dict[str, np.ndarray] = {}
    for name in similarities:
        scores = np.empty(len(idx_a), dtype=np.float64)
        for start in range(0, len(idx_a), chunk_size):
            sl = slice(start, start + chunk_size)
            scores[sl] = pairwise_similarity(embeddings[idx_a[sl]], embeddings[idx_b[sl]], name)
        out[name] = scores
    return out
