"""Distance and similarity functions between sentence embeddings.

Every function exists in two vectorised forms:

* ``pairwise``: row ``i`` of ``a`` against row ``i`` of ``b``, ``(N, D), (N, D) -> (N,)``.
* ``matrix``: every row of ``a`` against every row of ``b``, ``(Q, D), (C, D) -> (Q, C)``.

They accept ``torch.Tensor`` (and keep autograd), ``numpy.ndarray`` or a list of vectors, and return a
``torch.Tensor`` either way, as sentence-transformers' ``util.cos_sim`` / ``pairwise_cos_sim`` and
``model.similarity`` do (``.numpy()`` gives numpy). A 1-D ``(D,)`` input is one row: the matrix of a vector
against ``(C, D)`` is ``(1, C)``, the pairwise score of two vectors a 0-dim tensor. Half-precision and integer
inputs are computed in float32, float64 stays float64 (as in sentence-transformers). Higher always means
"more similar": distances are negated.

=============  ==============================  =========
name           formula                         range
=============  ==============================  =========
cosine         u.v / (|u| |v|)                 [-1, 1]
dot            u.v                             R
euclidean      -||u - v||_2                    (-inf, 0]
manhattan      -||u - v||_1                    (-inf, 0]
malstm         exp(-||u - v||_1)               (0, 1]
=============  ==============================  =========
"""

from __future__ import annotations

from typing import Callable, Union

import numpy as np
import torch
import torch.nn.functional as F

ArrayLike = Union[torch.Tensor, np.ndarray]

SIMILARITY_FUNCTIONS: tuple[str, ...] = ("cosine", "dot", "euclidean", "manhattan", "malstm")

_EPS = 1e-12


def _to_tensor(x: ArrayLike | list) -> torch.Tensor:
    """Embeddings as a floating tensor: numpy is wrapped (no copy where possible), lists are stacked, integer and
    half-precision values become float32."""
    if isinstance(x, np.ndarray):
        arr = np.ascontiguousarray(x)
        t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    elif isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, list):
        if x and all(isinstance(v, torch.Tensor) for v in x):
            t = torch.stack(x)
        else:
            try:
                t = torch.as_tensor(np.asarray([np.asarray(v) for v in x], dtype=np.float32))
            except (TypeError, ValueError) as err:
                raise TypeError(f"a list of embeddings must hold equal-length numeric vectors ({err})") from None
    else:
        raise TypeError(f"expected a torch.Tensor, numpy.ndarray or list of embeddings, got {type(x).__name__}")
    if not t.is_floating_point() or torch.finfo(t.dtype).bits < 32:
        t = t.float()
    return t


def _check_shapes(a: torch.Tensor, b: torch.Tensor, *, paired: bool) -> None:
    if a.dim() not in (1, 2) or b.dim() not in (1, 2):
        raise ValueError(f"embeddings must be 1-D (D,) or 2-D (N, D); got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"embedding dimensions differ: {a.shape[-1]} vs {b.shape[-1]}")
    if paired and a.dim() == 2 and b.dim() == 2 and a.shape[0] != b.shape[0]:
        raise ValueError(f"paired similarity needs the same number of rows: {a.shape[0]} vs {b.shape[0]}")


# ---------------------------------------------------------------- pairwise: (N, D), (N, D) -> (N,)
def _cos_pair(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (F.normalize(a, dim=-1, eps=_EPS) * F.normalize(b, dim=-1, eps=_EPS)).sum(-1)


def _dot_pair(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1)


def _euc_pair(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -torch.linalg.vector_norm(a - b, ord=2, dim=-1)


def _man_pair(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -(a - b).abs().sum(-1)


def _malstm_pair(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.exp(_man_pair(a, b))


# ---------------------------------------------------------------- matrix: (Q, D), (C, D) -> (Q, C)
def _cos_mat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.normalize(a, dim=-1, eps=_EPS) @ F.normalize(b, dim=-1, eps=_EPS).T


def _dot_mat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b.T


def _euc_mat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -torch.cdist(a, b, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")


def _man_mat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -torch.cdist(a, b, p=1.0)


def _malstm_mat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.exp(_man_mat(a, b))


_PAIR: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cosine": _cos_pair,
    "dot": _dot_pair,
    "euclidean": _euc_pair,
    "manhattan": _man_pair,
    "malstm": _malstm_pair,
}
_MAT: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cosine": _cos_mat,
    "dot": _dot_mat,
    "euclidean": _euc_mat,
    "manhattan": _man_mat,
    "malstm": _malstm_mat,
}


def check_similarity_name(name: str) -> str:
    """Return ``name`` if it is a known similarity function, else raise ``ValueError``."""
    if not isinstance(name, str) or name not in _PAIR:
        raise ValueError(f"unknown similarity function {name!r}; choose one of {list(SIMILARITY_FUNCTIONS)}")
    return name


def _score(a: ArrayLike, b: ArrayLike, name: str, *, paired: bool) -> torch.Tensor:
    """Run similarity ``name`` pairwise (``paired``) or as a matrix, as a tensor."""
    fn = (_PAIR if paired else _MAT)[check_similarity_name(name)]
    ta, tb = _to_tensor(a), _to_tensor(b)
    _check_shapes(ta, tb, paired=paired)
    dtype = torch.promote_types(ta.dtype, tb.dtype)  # float32 with float64: float64
    out = fn(ta.reshape(-1, ta.shape[-1]).to(dtype), tb.reshape(-1, tb.shape[-1]).to(dtype))  # 1-D: one row
    return out[0] if paired and ta.dim() == 1 and tb.dim() == 1 else out


def pairwise_similarity(a: ArrayLike, b: ArrayLike, name: str = "cosine") -> torch.Tensor:
    """Similarity of row ``i`` of ``a`` with row ``i`` of ``b``.

    Args:
        a: ``(N, D)`` embeddings (a ``(D,)`` vector is scored against every row of ``b``).
        b: ``(N, D)`` embeddings.
        name: one of :data:`SIMILARITY_FUNCTIONS`.

    Returns:
        ``(N,)`` scores as a tensor (autograd kept), whatever the inputs were; a 0-dim tensor for two vectors.

    Example:
        >>> import numpy as np
        >>> pairwise_similarity(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32)).tolist()
        [1.0, 1.0]
    """
    return _score(a, b, name, paired=True)


def similarity_matrix(a: ArrayLike, b: ArrayLike, name: str = "cosine") -> torch.Tensor:
    """Similarity of every row of ``a`` with every row of ``b``: ``(Q, D), (C, D) -> (Q, C)``, a tensor (as
    sentence-transformers' ``model.similarity``); a 1-D ``(D,)`` input is one row."""
    return _score(a, b, name, paired=False)


def cosine(a: ArrayLike, b: ArrayLike) -> torch.Tensor:
    """Pairwise cosine similarity, ``(N, D), (N, D) -> (N,)``."""
    return pairwise_similarity(a, b, "cosine")


def dot(a: ArrayLike, b: ArrayLike) -> torch.Tensor:
    """Pairwise dot product, ``(N, D), (N, D) -> (N,)``."""
    return pairwise_similarity(a, b, "dot")


def neg_euclidean(a: ArrayLike, b: ArrayLike) -> torch.Tensor:
    """Pairwise negative L2 distance, ``(N, D), (N, D) -> (N,)``."""
    return pairwise_similarity(a, b, "euclidean")


def neg_manhattan(a: ArrayLike, b: ArrayLike) -> torch.Tensor:
    """Pairwise negative L1 distance, ``(N, D), (N, D) -> (N,)``."""
    return pairwise_similarity(a, b, "manhattan")


def malstm(a: ArrayLike, b: ArrayLike) -> torch.Tensor:
    """Pairwise MaLSTM similarity ``exp(-||u - v||_1)`` (Mueller & Thyagarajan, 2016)."""
    return pairwise_similarity(a, b, "malstm")
