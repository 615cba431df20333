"""What a mining run accepts: the constants, the argument checks, and the thresholds' ranges."""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textsiam.model.calibrator import Calibrator

logger = logging.getLogger(__name__)

#: Index kinds: ``auto`` is ``flat`` below ``max_exact`` texts and ``hnsw`` from there on.
INDEX_KINDS: tuple[str, ...] = ("auto", "flat", "ivf", "hnsw")
#: Storage precisions of the memory-mapped embeddings (``binary`` is not supported for mining).
MINING_PRECISIONS: tuple[str, ...] = ("float32", "float16", "int8")
#: ``index="auto"`` uses exact search below this many texts.
MAX_EXACT = 100_000
#: faiss codec of the index vectors for each storage precision.
CODECS = {"float32": "Flat", "float16": "SQfp16", "int8": "SQ8"}
EPS = 1e-12
#: Range of the raw mining score (cosine similarity of normalised embeddings).
COSINE_RANGE: tuple[float, float] = (-1.0, 1.0)
#: Name prefix of the temporary work folders (``textsiam-mine-PID-*`` in the system temp folder).
WORK_DIR_PREFIX = "textsiam-mine-"


# ---------------------------------------------------------------------------------------------- arguments
def check_int(value: Any, name: str, minimum: int = 1, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_mining_args(
    threshold: Any,
    top_k: Any,
    index: Any,
    precision: Any,
    chunk_size: Any,
    max_exact: Any = MAX_EXACT,
    nlist: Any = None,
    nprobe: Any = None,
    hnsw_m: Any = 16,
    ef_search: Any = 128,
    num_threads: Any = None,
    *,
    calibrated: bool | None = None,
) -> float:
    """Check the arguments shared by :func:`mine_duplicates` and :func:`mine_embeddings`; the threshold as float.

    ``calibrated=False``: the threshold is a cosine similarity and must lie in [-1, 1]. ``True`` or ``None``
    (not known yet): only finiteness is checked here; a calibrated threshold is checked against the
    calibrator's output range by :func:`check_calibrated_threshold` once the calibrator is known.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if calibrated is False:
        check_in_range(float(threshold), COSINE_RANGE, "cosine similarity")
    check_int(top_k, "top_k")
    if index not in INDEX_KINDS:
        raise ValueError(f"unknown index {index!r}; choose one of {list(INDEX_KINDS)}")
    if precision not in MINING_PRECISIONS:
        extra = " (binary codes cannot be searched by inner product)" if precision == "binary" else ""
        raise ValueError(f"unknown precision {precision!r} for mining{extra}; choose one of {list(MINING_PRECISIONS)}")
    check_int(chunk_size, "chunk_size")
    check_int(max_exact, "max_exact", minimum=0)
    check_int(nlist, "nlist", allow_none=True)
    check_int(nprobe, "nprobe", allow_none=True)
    check_int(hnsw_m, "hnsw_m", minimum=2)
    check_int(ef_search, "ef_search")
    check_int(num_threads, "num_threads", allow_none=True)
    return float(threshold)


#: The name the command line used before :func:`check_mining_args` was public.


def check_in_range(threshold: float, bounds: tuple[float, float], what: str) -> None:
    lo, hi = bounds
    if not lo <= threshold <= hi:
        effect = "no pair can reach it" if threshold > hi else "every pair would pass it"
        raise ValueError(f"threshold {threshold:g} is outside [{lo:g}, {hi:g}], the range of {what}: {effect}")


def calibrated_range(calibrator: Calibrator) -> tuple[float, float]:
    """``(low, high)``: the values a fitted calibrator can output (``(0, 1)`` for a probability)."""
    params = calibrator.params or {}
    if "y_min" in params and "y_max" in params:
        return float(params["y_min"]), float(params["y_max"])
    return (0.0, 1.0) if calibrator.target == "probability" else (-math.inf, math.inf)


def check_calibrated_threshold(threshold: float, calibrator: Calibrator) -> None:
    """``ValueError`` if ``threshold`` lies outside the output range of ``calibrator`` (e.g. [0, 1])."""
    what = "a probability" if calibrator.target == "probability" else f"calibrated {calibrator.target} scores"
    check_in_range(threshold, calibrated_range(calibrator), what)


def iter_texts(texts: Any) -> Iterator[str]:
    """Validate lazily: yield each text, raising ``TypeError`` (with its index) at the first non-string."""
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            what = "None (use '' for an empty text)" if t is None else type(t).__name__
            raise TypeError(f"texts[{i}] is {what}; expected a string")
        yield t


def check_iterable(texts: Any, name: str = "texts") -> None:
    if texts is None:
        raise TypeError(f"{name} must be an iterable of strings, got None")
    if isinstance(texts, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be an iterable of strings, not a single {type(texts).__name__}")
    if not hasattr(texts, "__iter__"):
        raise TypeError(f"{name} must be an iterable of strings, got {type(texts).__name__}")
