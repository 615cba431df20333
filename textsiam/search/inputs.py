"""Inputs of the search functions: embeddings as finite float tensors, positive ints, and the score function."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Union

import numpy as np
import torch
import torch.nn.functional as F

from textsiam.model.scoring import check_similarity_name, similarity_matrix

#: A similarity name of :data:`textsiam.model.scoring.SIMILARITY_FUNCTIONS`, or ``f(a (Q, D), b (C, D)) -> (Q, C)``.
ScoreFunction = Union[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]


def check_int(value: Any, name: str) -> int:
    """``value`` as an int if it is a positive integer (not a bool), else a ``TypeError`` / ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


#: Range of a cosine similarity: a threshold outside it is refused (as ``mine_duplicates`` refuses it).
COSINE_RANGE: tuple[float, float] = (-1.0, 1.0)


def check_cosine_threshold(threshold: Any) -> float:
    """``threshold`` as a float if it is a finite number in [-1, 1]; a ``TypeError`` / ``ValueError`` otherwise.

    Outside the range of a cosine similarity no pair reaches the threshold (above 1), or every pair does (below
    -1): almost certainly a mistake (e.g. a percentage, or a distance), so it is refused rather than answered
    with an empty (or all-in) result.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number, got {threshold!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    lo, hi = COSINE_RANGE
    if not lo <= threshold <= hi:
        effect = "no pair can reach it" if threshold > hi else "every pair would pass it"
        raise ValueError(
            f"threshold {threshold:g} is outside [{lo:g}, {hi:g}], the range of cosine similarity: {effect}"
        )
    return float(threshold)


def as_embeddings(x: Any, name: str, *, allow_1d: bool = False) -> torch.Tensor:
    """``x`` as a dense, finite, floating ``(N, D)`` tensor (a 1-D vector becomes one row where allowed)."""
    if isinstance(x, (list, tuple)):
        if x and all(isinstance(row, torch.Tensor) for row in x):
            x = torch.stack(list(x))
        else:
            arrays = all(isinstance(row, np.ndarray) for row in x)
            try:
                x = np.asarray(x) if len(x) else np.empty((0, 0), dtype=np.float32)
            except ValueError as err:  # ragged rows
                raise ValueError(f"{name}: the rows have different lengths ({err})") from None
            if not arrays and x.dtype.kind == "f":  # Python floats: float32, as torch.tensor makes them
                x = x.astype(np.float32)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold numbers, got a numpy array of dtype {x.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, a numpy.ndarray or a list of vectors, got {type(x).__name__}")
    if x.layout != torch.strided:
        raise TypeError(f"{name} must be a dense tensor, got layout {x.layout}; call .to_dense() first")
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if not x.is_floating_point() or torch.finfo(x.dtype).bits < 32:
        x = x.float()
    if allow_1d and x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2:
        shapes = "(N, D) or a 1-D (D,) vector" if allow_1d else "(N, D)"
        raise ValueError(f"{name} must be 2-D {shapes}, got shape {tuple(x.shape)}")
    if x.shape[0] and x.shape[1] == 0:
        raise ValueError(f"{name} have no dimensions: shape {tuple(x.shape)}")
    # a sum is finite iff every element is, unless it overflows: then check element by element (slower)
    if not (bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())):
        raise ValueError(f"{name} contain NaN or infinite values")
    return x.detach()


def check_same_dim(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    """A ``ValueError`` if two non-empty embedding matrices differ in width."""
    if a.shape[0] and b.shape[0] and a.shape[1] != b.shape[1]:
        raise ValueError(f"{names} have different dimensions: {a.shape[1]} vs {b.shape[1]}")


def score_fn(score_function: ScoreFunction) -> tuple[str | None, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """``(name or None, f(a, b) -> (Q, C))``; cosine is returned as ``dot`` on embeddings the caller normalises."""
    if isinstance(score_function, str):
        name = check_similarity_name(score_function)
        inner = "dot" if name == "cosine" else name
        return name, lambda a, b: similarity_matrix(a, b, inner)
    if callable(score_function):
        return None, lambda a, b: torch.as_tensor(score_function(a, b)).detach()
    raise TypeError(f"score_function must be a similarity name or a callable, got {type(score_function).__name__}")


def prepare(x: torch.Tensor, name: str | None) -> torch.Tensor:
    """Rows as the score function wants them: L2-normalised for cosine (normalised once, then dot products)."""
    return F.normalize(x, p=2, dim=-1) if name == "cosine" else x
