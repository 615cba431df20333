"""sentence-transformers' embedding quantisation, with its names and schemes, so quantised indexes carry over.

:func:`quantize_embeddings` takes the arguments of ``sentence_transformers.quantization.quantize_embeddings`` and
returns the same arrays, bit for bit:

=========  ==============  ===========================================================================
precision  dtype, shape    scheme
=========  ==============  ===========================================================================
float32    float32 (N, D)  unchanged
int8       int8 (N, D)     per-dimension buckets: ``floor((x - min_d) / step_d)`` clipped to 0..255,
                           minus 128, with ``step_d = (max_d - min_d) / 255`` (``ranges`` = min / max)
uint8      uint8 (N, D)    the same buckets, 0..255
binary     int8 (N, D/8)   sign bits (``x > 0``) packed 8 per byte (:func:`numpy.packbits`), minus 128
ubinary    uint8 (N, D/8)  sign bits packed 8 per byte
=========  ==============  ===========================================================================

The int8 / uint8 ranges are, in order of preference, ``ranges`` (a ``(2, D)`` array: the minimum and the maximum of
each dimension), the per-dimension minimum and maximum of ``calibration_embeddings``, or those of ``embeddings``
themselves (then the codes depend on the batch: quantise a corpus with :func:`quantization_ranges` of a
representative sample instead). :func:`dequantize_embeddings` maps codes back to the centres of their buckets.

textsiam's own per-vector int8 codes (no calibration; each row scaled by its largest component) are the precision
``int8_per_vector`` of :mod:`textsiam.model.precision`.
"""

from __future__ import annotations

import logging
from typing import Any, Union

import numpy as np
import torch

logger = logging.getLogger(__name__)

ArrayLike = Union[np.ndarray, torch.Tensor]

#: sentence-transformers' precisions, in its order.
ST_PRECISIONS: tuple[str, ...] = ("float32", "int8", "uint8", "binary", "ubinary")
#: Codes per dimension of the int8 / uint8 schemes.
BUCKETS = 256
#: Fewer calibration embeddings than this give unstable ranges (sentence-transformers warns, so does textsiam).
MIN_STABLE_CALIBRATION = 100


def as_float_numpy(x: Any, name: str = "embeddings") -> np.ndarray:
    """``x`` (numpy, tensor, or a list of vectors) as a numpy array of floats; ``TypeError`` for integer codes."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    elif isinstance(x, list):
        x = np.array([as_float_numpy(v, name) if isinstance(v, torch.Tensor) else v for v in x])
    elif not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, a torch.Tensor or a list of vectors, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name} to quantise must be floats, got dtype {x.dtype} (already quantised?)")
    return x


def check_st_precision(precision: Any) -> str:
    """``precision`` if it is one of :data:`ST_PRECISIONS`, else ``ValueError`` naming them."""
    if not isinstance(precision, str) or precision not in ST_PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {list(ST_PRECISIONS)}")
    return precision


def quantization_ranges(calibration_embeddings: ArrayLike) -> np.ndarray:
    """The ``(2, D)`` int8 / uint8 ranges of calibration embeddings ``(N, D)``: per-dimension minimum and maximum."""
    calibration = as_float_numpy(calibration_embeddings, "calibration_embeddings")
    if calibration.ndim != 2 or calibration.shape[0] == 0:
        raise ValueError(f"calibration embeddings must be 2-D (N, D) with N >= 1, got shape {calibration.shape}")
    return np.vstack((np.min(calibration, axis=0), np.max(calibration, axis=0)))


def _ranges_for(embeddings: np.ndarray, precision: str, calibration_embeddings: Any) -> np.ndarray:
    """Ranges from ``calibration_embeddings`` if given, else from ``embeddings`` (at least two; a warning below
    :data:`MIN_STABLE_CALIBRATION`), as sentence-transformers takes them."""
    if calibration_embeddings is not None:
        return quantization_ranges(calibration_embeddings)
    if embeddings.ndim == 1 or embeddings.shape[0] == 1:
        raise ValueError(
            f"cannot compute {precision} quantisation ranges from a single embedding; pass ranges= or "
            "calibration_embeddings= from a representative set of embeddings"
        )
    if embeddings.shape[0] < MIN_STABLE_CALIBRATION:
        logger.warning(
            "computing %s quantisation ranges from %d embeddings; ranges from more embeddings (ranges= or "
            "calibration_embeddings=) are more stable",
            precision,
            embeddings.shape[0],
        )
    return quantization_ranges(embeddings)


def _check_ranges(ranges: Any, dim: int) -> np.ndarray:
    r = np.asarray(ranges.detach().cpu().numpy() if isinstance(ranges, torch.Tensor) else ranges)
    if r.ndim != 2 or r.shape[0] != 2 or r.shape[1] != dim:
        raise ValueError(f"ranges must have shape (2, D) = (2, {dim}) (per-dimension min and max), got {r.shape}")
    return r.astype(np.float32, copy=False)


def _buckets(embeddings: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    starts = ranges[0, :]
    steps = (ranges[1, :] - starts) / (BUCKETS - 1)
    steps = np.where(steps == 0, 1, steps)
    return np.clip(np.floor((embeddings - starts) / steps), 0, BUCKETS - 1)


def quantize_embeddings(
    embeddings: ArrayLike | list[Any],
    precision: str,
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Quantise float embeddings as ``sentence_transformers.quantization.quantize_embeddings`` does (same codes).

    Args:
        embeddings: ``(N, D)`` (or ``(D,)``) float embeddings as numpy, a tensor or a list of vectors; or a list of
            ``(T_i, D)`` matrices (token embeddings), quantised with one shared set of ranges.
        precision: ``"float32"``, ``"int8"``, ``"uint8"``, ``"binary"`` or ``"ubinary"`` (see the module docstring).
        ranges: int8 / uint8 only: ``(2, D)`` per-dimension minimum and maximum.
        calibration_embeddings: int8 / uint8 only: embeddings to take the ranges from when ``ranges`` is not given
            (default: ``embeddings`` themselves).

    Returns:
        The codes as numpy (a list of arrays for a list of matrices).

    Raises:
        TypeError: the embeddings are not floats.
        ValueError: an unknown precision, ranges of the wrong shape, or int8 / uint8 ranges to infer from one vector.
    """
    precision = check_st_precision(precision)
    if isinstance(embeddings, list):
        if not embeddings:
            return []
        if all(isinstance(m, (np.ndarray, torch.Tensor)) and m.ndim == 2 for m in embeddings):
            matrices = [as_float_numpy(m) for m in embeddings]
            if precision.endswith("int8") and ranges is None:  # one set of ranges for every matrix
                calibration = np.concatenate(matrices, axis=0)
                if calibration_embeddings is not None or len(calibration):
                    ranges = _ranges_for(calibration, precision, calibration_embeddings)
            return [quantize_embeddings(m, precision, ranges=ranges) for m in matrices]  # type: ignore[misc]
    emb = as_float_numpy(embeddings)
    if emb.ndim == 2 and emb.shape[0] == 0:
        dim = emb.shape[1]
        width = dim if precision.endswith("int8") else (dim + 7) // 8
        dtype = np.uint8 if precision.startswith("u") else (np.float32 if precision == "float32" else np.int8)
        return np.zeros((0, dim if precision == "float32" else width), dtype=dtype)
    if precision == "float32":
        return emb.astype(np.float32)
    if precision.endswith("int8"):
        if ranges is None:
            ranges = _ranges_for(emb, precision, calibration_embeddings)
        codes = _buckets(emb, _check_ranges(ranges, emb.shape[-1]))
        return codes.astype(np.uint8) if precision == "uint8" else (codes - 128).astype(np.int8)
    bits = np.packbits(emb > 0, axis=-1)
    return bits if precision == "ubinary" else (bits - 128).astype(np.int8)


def dequantize_embeddings(codes: ArrayLike, precision: str, ranges: np.ndarray | None = None) -> np.ndarray:
    """Float32 vectors that the codes stand for: int8 / uint8 bucket centres (``ranges`` needed), binary / ubinary
    ``+-1`` per bit (``8 * bytes`` dimensions; drop the padding of the last byte yourself), float32 unchanged."""
    precision = check_st_precision(precision)
    c = np.asarray(codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else codes)
    expected = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8, "binary": np.int8, "ubinary": np.uint8}
    if c.dtype != expected[precision]:
        raise TypeError(f"{precision} codes must have dtype {np.dtype(expected[precision])}, got {c.dtype}")
    if precision == "float32":
        return c
    if precision in ("binary", "ubinary"):
        return np.unpackbits(as_unsigned(c, precision), axis=-1).astype(np.float32) * 2.0 - 1.0
    if ranges is None:
        raise ValueError(f"{precision} codes need the ranges they were quantised with (ranges=, shape (2, D))")
    r = _check_ranges(ranges, c.shape[-1])
    steps = (r[1, :] - r[0, :]) / (BUCKETS - 1)
    steps = np.where(steps == 0, 1, steps)
    buckets = as_unsigned(c, precision).astype(np.float32)
    return (r[0, :] + (buckets + 0.5) * steps).astype(np.float32)


def as_unsigned(codes: np.ndarray, precision: str) -> np.ndarray:
    """int8 / binary codes (offset by -128) as the uint8 / ubinary codes they stand for; unsigned ones unchanged."""
    return (codes.astype(np.int16) + 128).astype(np.uint8) if precision in ("int8", "binary") else codes


__all__ = [
    "ST_PRECISIONS",
    "as_unsigned",
    "check_st_precision",
    "dequantize_embeddings",
    "quantization_ranges",
    "quantize_embeddings",
]
