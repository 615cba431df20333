"""Compact storage precisions for sentence embeddings, and the similarity to use with each.

:meth:`textsiam.SiameseModel.encode` takes ``precision=`` and returns embeddings in one of these forms. ``int8``,
``uint8``, ``binary`` and ``ubinary`` are sentence-transformers' precisions with its exact codes
(:func:`textsiam.quantize_embeddings`, :mod:`textsiam.model.quantization`); ``float16`` and ``int8_per_vector``
are textsiam's own.

===============  ==============  =============  ===================================================================
precision        dtype, shape    bytes (D=384)  similarity (:func:`pairwise_similarity` / :func:`similarity_matrix`)
===============  ==============  =============  ===================================================================
float32          float32 (N, D)  1536           any of :data:`textsiam.model.scoring.SIMILARITY_FUNCTIONS`
float16          float16 (N, D)  768            the same, computed in float32 (half storage, ~1e-3 error)
int8             int8 (N, D)     384            any, on the bucket centres: pass the ``ranges`` used to quantise
uint8            uint8 (N, D)    384            the same
binary           int8 (N, D/8)   48             ``hamming``: ``1 - 2 * hamming_distance / D`` in ``[-1, 1]``
ubinary          uint8 (N, D/8)  48             ``hamming``
int8_per_vector  int8 (N, D)     384            ``cosine`` only: exact integer cosine of the codes (see below)
===============  ==============  =============  ===================================================================

**int8 / uint8** (sentence-transformers' scheme) give each dimension 256 buckets between its minimum and maximum
over calibration embeddings (``ranges=``, ``calibration_embeddings=``; by default the embeddings of the call,
so codes then depend on the batch). Indexes built with sentence-transformers' ``quantize_embeddings`` read the
same codes.

**int8_per_vector** uses *per-vector symmetric* scaling: each row is divided by ``max|x| / 127`` and rounded, so
every row uses the whole ``[-127, 127]`` range and no calibration data is needed. A text always gets the
same codes, whatever it is encoded with, so codes from different ``encode`` calls are comparable. Cosine
similarity is scale-invariant, so the cosine of two code vectors (computed exactly with integer
arithmetic) approximates the float cosine directly (typically within ``1e-3``). The per-row scales are
dropped by ``encode``; when magnitudes matter (``dot``, ``euclidean``, ...) call :func:`quantize_int8`
yourself, keep the scales it returns, and :func:`dequantize_int8` before scoring. If you prefer one
scale per *dimension* fitted on your corpus (as some vector databases do), compute it with
:func:`calibrate_int8` and pass it as ``scale=``; such codes must be dequantized before any similarity,
because per-dimension scales change angles.

**ubinary** keeps the sign of each dimension (``x > 0`` -> bit 1), packed 8 per byte with
:func:`numpy.packbits` (big-endian bit order; the last byte is zero-padded when ``D`` is not a multiple
of 8); **binary** is the same bytes minus 128, as ``int8``. Their similarity ``1 - 2 * hamming / D`` is exactly
the cosine of the ``+-1`` vectors the bits stand for (:func:`dequantize` returns them); it is a coarse proxy for
the float cosine, good for a first-stage candidate search that is then re-scored with float embeddings.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Union

import numpy as np
import torch

from textsiam.model.quantization import as_unsigned, dequantize_embeddings, quantize_embeddings
from textsiam.model.scoring import pairwise_similarity as _float_pairwise
from textsiam.model.scoring import similarity_matrix as _float_matrix

ArrayLike = Union[np.ndarray, torch.Tensor]

PRECISIONS: tuple[str, ...] = ("float32", "float16", "int8", "uint8", "binary", "ubinary", "int8_per_vector")
#: sentence-transformers' quantised precisions (its codes, :func:`textsiam.quantize_embeddings`).
ST_QUANTIZED: tuple[str, ...] = ("int8", "uint8", "binary", "ubinary")
#: The precisions whose codes are packed sign bits.
BIT_PRECISIONS: tuple[str, ...] = ("binary", "ubinary")

_INT8_MAX = 127
_EPS = 1e-12
# number of set bits in each byte value (fallback for numpy < 2.0, which has no bitwise_count)
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of :data:`PRECISIONS`, else raise ``ValueError``."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    return precision


def _as_numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"expected a numpy.ndarray or torch.Tensor of embeddings, got {type(x).__name__}")


def _as_2d(x: np.ndarray) -> tuple[np.ndarray, bool]:
    if x.ndim == 1:
        return x[None, :], True
    if x.ndim != 2:
        raise ValueError(f"embeddings must be 1-D (D,) or 2-D (N, D), got shape {x.shape}")
    return x, False


# ---------------------------------------------------------------------------------------------- int8_per_vector
def calibrate_int8(embeddings: ArrayLike) -> np.ndarray:
    """Per-dimension int8 scales ``(D,)`` fitted on calibration embeddings ``(N, D)``: ``max|x| / 127``."""
    emb, _ = _as_2d(np.asarray(_as_numpy(embeddings), dtype=np.float32))
    if emb.shape[0] == 0:
        raise ValueError("calibrate_int8 needs at least one embedding")
    return np.maximum(np.abs(emb).max(axis=0), _EPS).astype(np.float32) / _INT8_MAX


def quantize_int8(embeddings: ArrayLike, scale: ArrayLike | float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantisation: ``codes = clip(round(x / scale), -127, 127)``.

    Args:
        embeddings: ``(N, D)`` or ``(D,)`` float embeddings.
        scale: ``None`` for one scale per row (``max|row| / 127``, the default of ``encode``); a float for
            one global scale; a ``(D,)`` array for per-dimension scales (see :func:`calibrate_int8`).

    Returns:
        ``(codes, scale)``: int8 codes shaped like ``embeddings`` and the float32 scale used (``(N, 1)``
        for per-row, ``(D,)`` per-dimension, ``()`` global), so that ``codes * scale`` approximates the input.
    """
    emb = np.asarray(_as_numpy(embeddings), dtype=np.float32)
    emb2, single = _as_2d(emb)
    if scale is None:
        s = np.maximum(np.abs(emb2).max(axis=1, keepdims=True), _EPS) / _INT8_MAX  # (N, 1)
    else:
        s = np.asarray(_as_numpy(scale) if isinstance(scale, torch.Tensor) else scale, dtype=np.float32)
        if s.ndim > 1 or (s.ndim == 1 and s.shape[0] != emb2.shape[1]):
            raise ValueError(f"scale must be a scalar or shaped (D,)=({emb2.shape[1]},), got {s.shape}")
        if np.any(s <= 0):
            raise ValueError("int8 scales must be positive")
    codes = np.clip(np.rint(emb2 / s), -_INT8_MAX, _INT8_MAX).astype(np.int8)
    if single:
        return codes[0], (s[0] if scale is None else s)
    return codes, s.astype(np.float32)


def dequantize_int8(codes: ArrayLike, scale: ArrayLike | float | None = None) -> np.ndarray:
    """Float32 approximation ``codes * scale`` (``scale=None``: ``codes / 127``, direction only)."""
    c = np.asarray(_as_numpy(codes))
    if c.dtype != np.int8:
        raise TypeError(f"int8 codes must have dtype int8, got {c.dtype}")
    s = np.float32(1.0 / _INT8_MAX) if scale is None else np.asarray(_as_numpy(scale), dtype=np.float32)
    return c.astype(np.float32) * s


def _int8_cosine_pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ai = a.astype(np.int32)
    bi = b.astype(np.int32)
    dot = (ai * bi).sum(-1, dtype=np.int64).astype(np.float64)
    na = (ai * ai).sum(-1, dtype=np.int64).astype(np.float64)
    nb = (bi * bi).sum(-1, dtype=np.int64).astype(np.float64)
    return (dot / np.maximum(np.sqrt(na * nb), _EPS)).astype(np.float32)


def _int8_cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # float64 matmul of small integers is exact (|sum| < 2**53), and BLAS-fast
    af = a.astype(np.float64)
    bf = b.astype(np.float64)
    dot = af @ bf.T  # (Q, C)
    na = np.sqrt((af * af).sum(-1))[:, None]
    nb = np.sqrt((bf * bf).sum(-1))[None, :]
    return (dot / np.maximum(na * nb, _EPS)).astype(np.float32)


# ---------------------------------------------------------------------------------------------- binary
def quantize_binary(embeddings: ArrayLike) -> np.ndarray:
    """Sign bits packed 8 per byte: ``(N, D)`` float -> ``(N, ceil(D / 8))`` uint8 (``x > 0`` is bit 1): ``ubinary``."""
    emb = np.asarray(_as_numpy(embeddings))
    return np.packbits(emb > 0, axis=-1)


def dequantize_binary(bits: ArrayLike, dim: int | None = None) -> np.ndarray:
    """Unpack ``ubinary`` (uint8) or ``binary`` (int8) codes to ``+-1`` float32 vectors; ``dim`` drops the zero
    padding of the last byte (default ``8 * bytes``)."""
    b = np.asarray(_as_numpy(bits))
    if b.dtype == np.int8:
        b = as_unsigned(b, "binary")
    if b.dtype != np.uint8:
        raise TypeError(f"binary embeddings must have dtype uint8 (ubinary) or int8 (binary), got {b.dtype}")
    unpacked = np.unpackbits(b, axis=-1, count=dim)
    return unpacked.astype(np.float32) * 2.0 - 1.0


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return _POPCOUNT[x]


def _packed(x: ArrayLike) -> np.ndarray:
    """Packed bit rows as uint8: ``binary`` (int8) codes are viewed as their bytes (XOR of the two equals XOR of
    the ``ubinary`` codes, as the -128 offset flips the same bit in both)."""
    arr = np.asarray(_as_numpy(x))
    arr = arr.view(np.uint8) if arr.dtype == np.int8 else arr
    if arr.dtype != np.uint8:
        raise TypeError(f"packed bits must have dtype uint8 (ubinary) or int8 (binary), got {arr.dtype}")
    return _as_2d(arr)[0]


def hamming_distance(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Pairwise number of differing bits between packed rows: ``(N, B), (N, B) -> (N,)`` int64."""
    a2, b2 = _packed(a), _packed(b)
    _check_pair(a2, b2)
    return _popcount(np.bitwise_xor(a2, b2)).sum(-1, dtype=np.int64)


def hamming_distance_matrix(a: ArrayLike, b: ArrayLike, chunk_size: int = 1024) -> np.ndarray:
    """Differing bits between every packed row of ``a`` and of ``b``: ``(Q, B), (C, B) -> (Q, C)`` int64."""
    a2, b2 = _packed(a), _packed(b)
    if a2.shape[1] != b2.shape[1]:
        raise ValueError(f"packed widths differ: {a2.shape[1]} vs {b2.shape[1]} bytes")
    out = np.empty((a2.shape[0], b2.shape[0]), dtype=np.int64)
    for start in range(0, a2.shape[0], chunk_size):
        block = a2[start : start + chunk_size, None, :] ^ b2[None, :, :]  # (q, C, B)
        out[start : start + chunk_size] = _popcount(block).sum(-1, dtype=np.int64)
    return out


# ---------------------------------------------------------------------------------------------- generic
def quantize(
    embeddings: ArrayLike,
    precision: str,
    *,
    ranges: ArrayLike | None = None,
    calibration_embeddings: ArrayLike | None = None,
) -> np.ndarray:
    """Convert float embeddings to a storage precision (see the module docstring for each format).

    ``ranges`` / ``calibration_embeddings``: ``int8`` / ``uint8`` only, as in :func:`textsiam.quantize_embeddings`.
    """
    precision = check_precision(precision)
    if precision == "float32":
        return np.asarray(_as_numpy(embeddings), dtype=np.float32)
    if precision == "float16":
        return np.asarray(_as_numpy(embeddings)).astype(np.float16)
    if precision == "int8_per_vector":
        return quantize_int8(embeddings)[0]
    return quantize_embeddings(  # type: ignore[return-value]
        embeddings,
        precision,
        ranges=ranges,
        calibration_embeddings=calibration_embeddings,  # type: ignore[arg-type]
    )


def dequantize(
    embeddings: ArrayLike,
    precision: str,
    *,
    scale: ArrayLike | float | None = None,
    dim: int | None = None,
    ranges: ArrayLike | None = None,
) -> np.ndarray:
    """Back to float32: exact for float32, float16 -> float32, ``int8_per_vector`` ``codes * scale``, ``int8`` /
    ``uint8`` bucket centres, ``binary`` / ``ubinary`` ``+-1`` vectors.

    Args:
        embeddings: quantised embeddings.
        precision: the precision they are in.
        scale: int8_per_vector only: the scale :func:`quantize_int8` returned (``None``: ``codes / 127``).
        dim: binary / ubinary only: the original dimension ``D`` (drops the zero padding of the last byte).
        ranges: int8 / uint8 only: the ``(2, D)`` ranges they were quantised with.
    """
    precision = check_precision(precision)
    if precision in ("float32", "float16"):
        return np.asarray(_as_numpy(embeddings)).astype(np.float32)
    if precision == "int8_per_vector":
        return dequantize_int8(embeddings, scale)
    if precision in BIT_PRECISIONS:
        return dequantize_binary(embeddings, dim)
    return dequantize_embeddings(embeddings, precision, ranges=None if ranges is None else _as_numpy(ranges))


def default_similarity(precision: str) -> str:
    """The similarity that works directly on embeddings of this precision."""
    precision = check_precision(precision)
    return "hamming" if precision in BIT_PRECISIONS else "cosine"


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"paired embeddings must have the same shape, got {a.shape} and {b.shape}")


def _resolve(precision: str, name: str | None, ranges: Any) -> str:
    precision = check_precision(precision)
    name = default_similarity(precision) if name is None else name
    if precision == "int8_per_vector" and name != "cosine":
        raise ValueError(
            "int8_per_vector embeddings from encode() carry no scale, so only 'cosine' works on them directly; "
            "use quantize_int8/dequantize_int8 and float similarities for magnitudes"
        )
    if precision in BIT_PRECISIONS and name != "hamming":
        raise ValueError(f"{precision} embeddings support the 'hamming' similarity only (1 - 2 * hamming / D)")
    if precision in ("int8", "uint8") and ranges is None:
        raise ValueError(
            f"{precision} codes are scored on the bucket centres they stand for: pass ranges= (the (2, D) ranges "
            "they were quantised with); or store int8_per_vector codes, which need none"
        )
    return name


def _check_widths(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding widths differ: {a.shape[1]} vs {b.shape[1]}")


class _Shape(NamedTuple):
    """What differs between scoring row ``i`` against row ``i`` and every row against every row."""

    float_fn: Callable[[np.ndarray, np.ndarray, str], Any]
    check: Callable[[np.ndarray, np.ndarray], None]
    int8_cosine: Callable[[np.ndarray, np.ndarray], np.ndarray]
    hamming: Callable[[np.ndarray, np.ndarray], np.ndarray]


_PAIRWISE = _Shape(_float_pairwise, _check_pair, _int8_cosine_pair, hamming_distance)
_MATRIX = _Shape(_float_matrix, _check_widths, _int8_cosine_matrix, hamming_distance_matrix)


def _score(
    a: ArrayLike, b: ArrayLike, precision: str, name: str | None, dim: int | None, ranges: Any, shape: _Shape
) -> np.ndarray:
    """Float32 scores of embeddings stored in ``precision``, pairwise or as a matrix (``shape``)."""
    name = _resolve(precision, name, ranges)
    a_np, b_np = np.asarray(_as_numpy(a)), np.asarray(_as_numpy(b))
    if precision in ("int8", "uint8"):
        a_np, b_np = (dequantize(x, precision, ranges=ranges) for x in (a_np, b_np))
    if precision in ("float32", "float16", "int8", "uint8"):
        a2, _ = _as_2d(a_np.astype(np.float32))
        b2, _ = _as_2d(b_np.astype(np.float32))
        return np.asarray(shape.float_fn(a2, b2, name), dtype=np.float32)
    a2, _ = _as_2d(a_np)
    b2, _ = _as_2d(b_np)
    shape.check(a2, b2)
    if precision == "int8_per_vector":
        return shape.int8_cosine(a2, b2)
    d = dim or 8 * a2.shape[1]
    return (1.0 - 2.0 * shape.hamming(a2, b2) / d).astype(np.float32)


def pairwise_similarity(
    a: ArrayLike,
    b: ArrayLike,
    precision: str = "float32",
    name: str | None = None,
    *,
    dim: int | None = None,
    ranges: ArrayLike | None = None,
) -> np.ndarray:
    """Similarity of row ``i`` of ``a`` with row ``i`` of ``b``, for embeddings stored in ``precision``.

    Args:
        a, b: ``(N, D)`` (``(N, D/8)`` packed for binary) embeddings from ``encode(..., precision=...)``.
        precision: one of :data:`PRECISIONS`.
        name: similarity function: for float32 / float16 / int8 / uint8 any of
            ``textsiam.model.scoring.SIMILARITY_FUNCTIONS`` (default cosine); int8_per_vector: ``cosine``;
            binary / ubinary: ``hamming``.
        dim: binary / ubinary only: the embedding dimension ``D`` (default ``8 * bytes``).
        ranges: int8 / uint8 only (required): the ``(2, D)`` ranges the codes were quantised with.

    Returns:
        ``(N,)`` float32 scores (numpy), higher = more similar.
    """
    return _score(a, b, precision, name, dim, ranges, _PAIRWISE)


def similarity_matrix(
    a: ArrayLike,
    b: ArrayLike,
    precision: str = "float32",
    name: str | None = None,
    *,
    dim: int | None = None,
    ranges: ArrayLike | None = None,
) -> np.ndarray:
    """Every row of ``a`` against every row of ``b``: ``(Q, C)`` float32 scores, numpy (arguments: see pairwise)."""
    return _score(a, b, precision, name, dim, ranges, _MATRIX)


__all__ = [
    "BIT_PRECISIONS",
    "PRECISIONS",
    "ST_QUANTIZED",
    "calibrate_int8",
    "check_precision",
    "default_similarity",
    "dequantize",
    "dequantize_binary",
    "dequantize_int8",
    "hamming_distance",
    "hamming_distance_matrix",
    "pairwise_similarity",
    "quantize",
    "quantize_binary",
    "quantize_int8",
    "similarity_matrix",
]
