"""Helpers shared by the losses: distances built on :mod:`textsiam.model.scoring` and label checks.

Distances are the "lower means closer" counterparts of the similarity functions:

=============  ==============================
name           distance
=============  ==============================
euclidean      ||u - v||_2
manhattan      ||u - v||_1
cosine         1 - u.v / (|u| |v|)
=============  ==============================
"""

from __future__ import annotations

import torch
from torch import Tensor

from textsiam.model.scoring import pairwise_similarity, similarity_matrix

DISTANCES: tuple[str, ...] = ("euclidean", "manhattan", "cosine")


def check_distance_name(name: str) -> str:
    """Return ``name`` if it is a known distance, else raise ``ValueError``."""
    if not isinstance(name, str) or name not in DISTANCES:
        raise ValueError(f"unknown distance {name!r}; choose one of {list(DISTANCES)}")
    return name


def pairwise_distance(a: Tensor, b: Tensor, name: str = "euclidean") -> Tensor:
    """Distance of row ``i`` of ``a`` to row ``i`` of ``b``: ``(N, D), (N, D) -> (N,)``."""
    check_distance_name(name)
    if name == "cosine":
        return 1.0 - pairwise_similarity(a, b, "cosine")  # (N,)
    return -pairwise_similarity(a, b, name)  # (N,)


def distance_matrix(a: Tensor, b: Tensor, name: str = "euclidean") -> Tensor:
    """Distance of every row of ``a`` to every row of ``b``: ``(Q, D), (C, D) -> (Q, C)``."""
    check_distance_name(name)
    if name == "cosine":
        return 1.0 - similarity_matrix(a, b, "cosine")  # (Q, C)
    return -similarity_matrix(a, b, name)  # (Q, C)


def check_tensor(x: object, what: str) -> Tensor:
    """Raise ``TypeError`` unless ``x`` is a tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
    return x


def check_pair(emb_a: Tensor, emb_b: Tensor | None, loss: str) -> Tensor:
    """Check two ``(B, D)`` embedding batches of the same shape; return ``emb_b``."""
    check_tensor(emb_a, f"{loss}: emb_a")
    if emb_b is None:
        raise ValueError(f"{loss} needs two embedding batches (emb_a, emb_b); emb_b is None")
    check_tensor(emb_b, f"{loss}: emb_b")
    if emb_a.dim() != 2 or emb_a.shape != emb_b.shape:
        raise ValueError(
            f"{loss} expects two (B, D) embedding batches of the same shape, "
            f"got {tuple(emb_a.shape)} and {tuple(emb_b.shape)}"
        )
    return emb_b


def check_labels(labels: Tensor | None, batch_size: int, loss: str, per: str = "example") -> Tensor:
    """Flatten ``labels`` to ``(B,)`` and check there is exactly one per example (``per="pair"`` for a
    cross-encoder: the messages say what a label belongs to)."""
    if labels is None:
        raise ValueError(f"{loss} needs labels (one per {per}); got None")
    check_tensor(labels, f"{loss}: labels")
    if labels.numel() != batch_size:
        raise ValueError(
            f"{loss} expects {batch_size} labels (one per {per}), got {labels.numel()} with shape {tuple(labels.shape)}"
        )
    return labels.reshape(-1)


def zero_loss(*tensors: Tensor) -> Tensor:
    """A scalar ``0`` that is still connected to the autograd graph of ``tensors``.

    Returned when a batch holds nothing to learn from, so that ``loss.backward()`` works
    (and yields zero gradients) instead of failing or producing NaN.
    """
    return sum((t.sum() * 0.0 for t in tensors), torch.zeros((), device=tensors[0].device, dtype=tensors[0].dtype))
