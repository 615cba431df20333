"""What a mining run accepts: the constants, the argument checks, and the thresholds' ranges."""

from __future__ import annotations

import logging
import math
import numbers
import os
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from textsiam.io_utils.input_paths import file_kind

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
#: Bytes per text and neighbour of the returned arrays (an int64 index and a float32 score).
NEIGHBOUR_BYTES = 12


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
    work_dir: Any = None,
) -> float:
    """Check the arguments shared by :func:`mine_duplicates` and :func:`mine_embeddings`; the threshold as float.

    ``calibrated=False``: the threshold is a cosine similarity and must lie in [-1, 1]. ``True`` or ``None``
    (not known yet): only finiteness is checked here; a calibrated threshold is checked against the
    calibrator's output range by :func:`check_calibrated_threshold` once the calibrator is known.
    ``work_dir`` is checked by :func:`check_work_dir`. ``top_k`` and ``ef_search`` may exceed the corpus: a run
    searches :func:`search_sizes` of them.
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
    check_work_dir(work_dir)
    return float(threshold)


def check_work_dir(work_dir: Any) -> None:
    """``work_dir`` must be ``None``, a folder, or a path where one can be created (not a file, a FIFO, ...)."""
    if work_dir is None:
        return
    if not isinstance(work_dir, (str, os.PathLike)):
        raise TypeError(f"work_dir must be a folder path (str or os.PathLike) or None, got {type(work_dir).__name__}")
    try:
        mode = os.stat(work_dir).st_mode
    except FileNotFoundError:  # the run creates it
        return
    except NotADirectoryError:
        raise ValueError(f"work_dir {os.fspath(work_dir)}: a folder on its path is a file") from None
    if not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else file_kind(mode)
        raise ValueError(
            f"work_dir {os.fspath(work_dir)} is {kind}, not a folder: give a folder to keep the embeddings in "
            "(it is created if missing)"
        )


def search_sizes(n: int, top_k: int, ef_search: int) -> tuple[int, int]:
    """``(k, ef)``: the neighbours kept per text and the HNSW candidates per query for a corpus of ``n`` texts.

    A text has at most ``n - 1`` other texts, so ``k = min(top_k, n - 1)`` (as ``semantic_search`` gives all rows
    for a ``top_k`` beyond the corpus); ``ef`` is ``ef_search``, at least ``k + 1`` and at most ``n`` (more
    candidates than the corpus holds change nothing, but faiss would allocate them).
    """
    k = min(top_k, max(n - 1, 0))
    ef = min(max(ef_search, k + 1), max(n, 1))
    if k < top_k:
        logger.info("top_k=%d, but each of the %d texts has only %d others: keeping %d neighbours", top_k, n, k, k)
    return k, ef


def check_neighbour_memory(n: int, top_k: int) -> None:
    """``ValueError`` if the neighbour arrays of ``n`` texts (``k`` of :func:`search_sizes` each, 12 bytes per
    neighbour) would not fit in this machine's memory, so that a run fails at once rather than being killed."""
    k = min(top_k, max(n - 1, 0))
    need = NEIGHBOUR_BYTES * n * k
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on this platform: no check
        return
    if total > 0 and need > total:
        raise ValueError(
            f"top_k={top_k} neighbours for each of {n} texts need {need / 1e9:.1f} GB for the neighbour arrays, "
            f"more than this machine's memory ({total / 1e9:.1f} GB): lower top_k"
        )


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
