"""Duplicate mining in large corpora: stream-encode to a memory-mapped file, search it with a faiss index.

:func:`mine_duplicates` finds, for every text of a corpus, its ``top_k`` most similar other texts, and the
pairs whose similarity reaches a threshold:

1. **Encode.** Texts are read lazily from any iterable (a list, a generator, the lines of a file), ``chunk_size``
   at a time, embedded, L2-normalised and appended to a file in the storage precision (``float32``,
   ``float16`` or per-vector ``int8`` codes, see :mod:`textsiam.precision`). Memory does not grow with the
   corpus: only one chunk of texts is held at a time.
2. **Index.** The file is memory-mapped (opened for each chunk read, so its pages are not held by the process)
   and added, chunk by chunk, to a `faiss <https://github.com/facebookresearch/faiss>`_ inner-product index:
   exact search (``IndexFlatIP``, or an exhaustive scalar-quantizer index) below ``max_exact`` texts (100k by
   default), a graph index above (``HNSW``, ``hnsw_m`` links per node, ``ef_search`` candidates per query), or
   on request an inverted-file index (``IVF``, ``nlist = 4 * sqrt(N)`` lists, ``nprobe`` of them searched).
   The index stores vectors in the storage precision (``Flat`` / ``SQfp16`` / ``SQ8``: ``4 D``, ``2 D`` or
   ``D`` bytes per text, plus about ``8 * hnsw_m`` bytes of graph links for HNSW). With the returned
   neighbour arrays (``12 * top_k`` bytes per text) it is the only memory that grows with the corpus.
3. **Search.** Every stored embedding queries the index for its ``top_k + 1`` nearest vectors; the text
   itself is dropped. For ``float16`` and ``int8`` storage the neighbours' scores are recomputed exactly from
   the stored embeddings, so every score is the **cosine similarity of the stored embeddings** (the same
   value :func:`textsiam.precision.similarity_matrix` gives), whatever the index approximates.

Pairs are the unordered pairs ``(i, j)``, ``i < j``, with ``j`` among the top-k neighbours of ``i`` or ``i``
among those of ``j``, and a score of at least ``threshold``; each pair is reported once. With
``calibrated=True`` scores go through the model's calibrator (see :meth:`textsiam.SiameseModel.calibrate`)
and the threshold is on the calibrated scale (e.g. a probability of duplicate).

Example:
    >>> from textsiam import mine_duplicates
    >>> result = mine_duplicates(["How do I learn Python?", "How can I learn Python?", "Nice weather."],
    ...                          threshold=0.8, top_k=2)  # doctest: +SKIP
    >>> result.pairs, result.scores  # doctest: +SKIP
    (array([[0, 1]]), array([0.93], dtype=float32))
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from textsiam.precision import quantize

if TYPE_CHECKING:
    import pandas as pd

    from textsiam.calibration import Calibrator
    from textsiam.siamese import SiameseModel

logger = logging.getLogger(__name__)

#: Index kinds: ``auto`` is ``flat`` below ``max_exact`` texts and ``hnsw`` from there on.
INDEX_KINDS: tuple[str, ...] = ("auto", "flat", "ivf", "hnsw")
#: Storage precisions of the memory-mapped embeddings (``binary`` is not supported for mining).
MINING_PRECISIONS: tuple[str, ...] = ("float32", "float16", "int8")
#: ``index="auto"`` uses exact search below this many texts.
MAX_EXACT = 100_000
#: faiss codec of the index vectors for each storage precision.
_CODECS = {"float32": "Flat", "float16": "SQfp16", "int8": "SQ8"}
_EPS = 1e-12

__all__ = ["INDEX_KINDS", "MAX_EXACT", "MINING_PRECISIONS", "MiningResult", "mine_duplicates", "mine_embeddings"]


@dataclass
class MiningResult:
    """What :func:`mine_duplicates` found.

    Attributes:
        pairs: ``(P, 2)`` int64 row indices ``(i, j)`` with ``i < j``, each unordered pair once, sorted by
            descending score (ties by ``i``, then ``j``).
        scores: ``(P,)`` float32 score of each pair (cosine of the stored embeddings, or calibrated).
        neighbours: ``(N, top_k)`` int64: the nearest other texts of each text, most similar first; ``-1``
            where there are fewer than ``top_k`` (a corpus of ``top_k`` texts or fewer, or an ANN index that
            returned fewer).
        neighbour_scores: ``(N, top_k)`` float32 scores of ``neighbours`` (``NaN`` where the index is ``-1``).
        stats: sizes, index settings and wall times (``encode_s``, ``index_s``, ``search_s``, ``total_s``).
    """

    pairs: np.ndarray
    scores: np.ndarray
    neighbours: np.ndarray
    neighbour_scores: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __iter__(self) -> Iterator[tuple[int, int, float]]:
        """Iterate over ``(i, j, score)`` for the pairs, best first."""
        for (i, j), s in zip(self.pairs.tolist(), self.scores.tolist(), strict=True):
            yield i, j, s

    def to_dataframe(self, texts: Any = None) -> pd.DataFrame:
        """The pairs as a DataFrame ``i, j, score`` (plus ``text_a, text_b`` if ``texts`` can be indexed)."""
        import pandas as pd

        df = pd.DataFrame({"i": self.pairs[:, 0], "j": self.pairs[:, 1], "score": self.scores})
        if texts is not None:
            df["text_a"] = [texts[i] for i in df["i"].tolist()]
            df["text_b"] = [texts[j] for j in df["j"].tolist()]
        return df

    def __repr__(self) -> str:
        n = self.stats.get("n_texts", self.neighbours.shape[0])
        return (
            f"MiningResult({len(self)} pairs >= {self.stats.get('threshold')} among {n} texts, "
            f"top_k={self.neighbours.shape[1]}, index={self.stats.get('index_factory')!r})"
        )


# ---------------------------------------------------------------------------------------------- arguments
def _check_int(value: Any, name: str, minimum: int = 1, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_common(
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
) -> float:
    """Check the arguments shared by :func:`mine_duplicates` and :func:`mine_embeddings`; the threshold as float."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    _check_int(top_k, "top_k")
    if index not in INDEX_KINDS:
        raise ValueError(f"unknown index {index!r}; choose one of {list(INDEX_KINDS)}")
    if precision not in MINING_PRECISIONS:
        extra = " (binary codes cannot be searched by inner product)" if precision == "binary" else ""
        raise ValueError(f"unknown precision {precision!r} for mining{extra}; choose one of {list(MINING_PRECISIONS)}")
    _check_int(chunk_size, "chunk_size")
    _check_int(max_exact, "max_exact", minimum=0)
    _check_int(nlist, "nlist", allow_none=True)
    _check_int(nprobe, "nprobe", allow_none=True)
    _check_int(hnsw_m, "hnsw_m", minimum=2)
    _check_int(ef_search, "ef_search")
    _check_int(num_threads, "num_threads", allow_none=True)
    return float(threshold)


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _iter_texts(texts: Any) -> Iterator[str]:
    """Validate lazily: yield each text, raising ``TypeError`` (with its index) at the first non-string."""
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            what = "None (use '' for an empty text)" if t is None else type(t).__name__
            raise TypeError(f"texts[{i}] is {what}; expected a string")
        yield t


def _check_iterable(texts: Any, name: str = "texts") -> None:
    if texts is None:
        raise TypeError(f"{name} must be an iterable of strings, got None")
    if isinstance(texts, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be an iterable of strings, not a single {type(texts).__name__}")
    if not hasattr(texts, "__iter__"):
        raise TypeError(f"{name} must be an iterable of strings, got {type(texts).__name__}")


# ---------------------------------------------------------------------------------------------- storage
class _EmbeddingFile:
    """Normalised embeddings of one corpus in a flat binary file, appended chunk by chunk.

    Contiguous rows (:meth:`rows`) are read through a memory map held for one chunk only; scattered rows
    (:meth:`take`) with positioned reads. Either way the file's pages count against the page cache, not against
    the resident memory of the process.
    """

    def __init__(self, path: Path, precision: str) -> None:
        self.path = path
        self.precision = precision
        self.dtype = np.dtype({"float32": np.float32, "float16": np.float16, "int8": np.int8}[precision])
        self.n = 0
        self.dim: int | None = None

    def append(self, fh: Any, emb: np.ndarray) -> None:
        emb = np.asarray(emb, dtype=np.float32)
        if emb.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (n, D), got shape {emb.shape}")
        if self.dim is None:
            self.dim = int(emb.shape[1])
        elif emb.shape[1] != self.dim:
            raise ValueError(f"embedding width changed from {self.dim} to {emb.shape[1]}")
        if not np.isfinite(emb).all():
            raise ValueError(f"embeddings {self.n}..{self.n + len(emb) - 1} contain NaN or infinity")
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        codes = quantize(emb / np.maximum(norms, _EPS), self.precision)
        fh.write(np.ascontiguousarray(codes, dtype=self.dtype).tobytes())
        self.n += len(emb)

    @property
    def nbytes(self) -> int:
        return self.n * (self.dim or 0) * self.dtype.itemsize

    def _map(self) -> np.memmap:
        return np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.n, self.dim))

    @staticmethod
    def _normalise(raw: np.ndarray) -> np.ndarray:
        x = raw.astype(np.float32)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), _EPS)
        return x

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as unit-length float32 (the stored vectors, renormalised after rounding)."""
        mm = self._map()
        try:
            return self._normalise(np.array(mm[start:stop]))
        finally:
            del mm

    def take(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` as unit-length float32.

        Read with plain positioned reads, not through a memory map: for scattered rows the kernel maps the
        pages around every faulting row as well, so a few thousand random rows would put most of the file in
        the process's resident memory. Runs of consecutive rows are read in one call.
        """
        idx = np.asarray(idx, dtype=np.int64)
        row = (self.dim or 0) * self.dtype.itemsize
        order = np.argsort(idx, kind="stable")
        wanted = idx[order]  # ascending
        raw = np.empty((len(idx), self.dim or 0), dtype=self.dtype)
        if len(idx):
            if wanted[0] < 0 or wanted[-1] >= self.n:
                raise IndexError(f"row ids must be in [0, {self.n}), got {wanted[0]}..{wanted[-1]}")
            # runs of consecutive ids: [starts[r], ends[r]) in ``wanted``
            breaks = np.nonzero(np.diff(wanted) != 1)[0] + 1
            starts = np.concatenate(([0], breaks)).tolist()
            ends = np.concatenate((breaks, [len(wanted)])).tolist()
            sorted_raw = np.empty_like(raw)
            buf = memoryview(sorted_raw.reshape(-1).view(np.uint8))
            with open(self.path, "rb", buffering=0) as fh:
                for a, b in zip(starts, ends, strict=True):
                    fh.seek(int(wanted[a]) * row)
                    if fh.readinto(buf[a * row : b * row]) != (b - a) * row:
                        raise OSError(f"{self.path} is shorter than its {self.n} rows")
            raw[order] = sorted_raw
        return self._normalise(raw)


# ---------------------------------------------------------------------------------------------- index
def _index_plan(
    n: int, kind: str, precision: str, max_exact: int, nlist: int | None, nprobe: int | None, hnsw_m: int
) -> dict[str, Any]:
    codec = _CODECS[precision]
    if kind == "auto":
        kind = "flat" if n < max_exact else "hnsw"
    plan: dict[str, Any] = {"index": kind, "nlist": None, "nprobe": None, "hnsw_m": None}
    if kind == "flat":
        plan["factory"] = codec
    elif kind == "ivf":
        if nlist is None:
            # the usual 4 * sqrt(N) lists, but at least 39 training points per list (faiss' minimum)
            nlist = max(1, min(int(round(4 * math.sqrt(n))), n // 39))
        elif nlist > n:
            raise ValueError(f"nlist={nlist} exceeds the number of texts ({n})")
        plan["nlist"] = nlist
        plan["nprobe"] = min(nlist, nprobe if nprobe is not None else max(32, nlist // 16))
        plan["factory"] = f"IVF{nlist},{codec}"
    else:
        plan["hnsw_m"] = hnsw_m
        plan["factory"] = f"HNSW{hnsw_m},{codec}"
    return plan


def _reserve(index: Any, n: int) -> None:
    """Give the growing arrays of a flat or HNSW index their final capacity before the first ``add``.

    faiss appends each added chunk to ``std::vector``s, which grow by doubling: up to twice the needed memory
    at the end, and both the old and the new buffer while a large one is copied. Resizing a vector to its
    final size and back to empty keeps that capacity, so the chunked adds below never reallocate. Only an
    optimisation: skipped when this faiss build does not expose the vectors.
    """
    import faiss

    def hold(vec: Any, size: int, keep: int = 0) -> None:
        if vec.size() <= keep:
            vec.resize(size)
            vec.resize(keep)

    try:
        if isinstance(index, faiss.IndexHNSW):
            storage = faiss.downcast_index(index.storage)
            hold(storage.codes, n * storage.code_size)
            hnsw = index.hnsw
            m = hnsw.nb_neighbors(1)
            # level 0 holds 2M links per node; the upper levels add M / (M - 1) on average (levels ~ geometric)
            hold(hnsw.neighbors, int(n * (hnsw.nb_neighbors(0) + m / max(m - 1, 1) + 2)))
            hold(hnsw.offsets, n + 1, keep=1)
            hold(hnsw.levels, n)
        elif isinstance(index, faiss.IndexFlatCodes):
            hold(index.codes, n * index.code_size)
    except (AttributeError, TypeError) as err:  # pragma: no cover - other faiss builds
        logger.debug("could not reserve index memory: %s", err)


def _build_index(
    store: _EmbeddingFile, plan: dict[str, Any], chunk_size: int, ef_search: int, seed: int, show: bool
) -> tuple[Any, float]:
    import faiss

    index = faiss.index_factory(store.dim, plan["factory"], faiss.METRIC_INNER_PRODUCT)
    _reserve(index, store.n)
    t0 = time.perf_counter()
    if not index.is_trained:
        # IVF: 50 points per list (faiss wants at least 39); SQ8 ranges (per-dimension min / max): a sample of
        # 20k is plenty, and a larger one only adds a transient float32 copy (1.5 kB a row at D = 384)
        want = 20_000 if plan["nlist"] is None else max(50 * plan["nlist"], 10_000)
        m = min(store.n, want)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(store.n, size=m, replace=False)) if m < store.n else np.arange(store.n)
        logger.info("training %s on %d of %d embeddings", plan["factory"], m, store.n)
        index.train(store.take(sample))
    train_s = time.perf_counter() - t0
    with tqdm(total=store.n, desc="Indexing", unit="text", disable=not show) as bar:
        for start in range(0, store.n, chunk_size):
            stop = min(start + chunk_size, store.n)
            index.add(store.rows(start, stop))
            bar.update(stop - start)
    params = faiss.ParameterSpace()
    if plan["nprobe"] is not None:
        params.set_index_parameter(index, "nprobe", plan["nprobe"])
    if plan["index"] == "hnsw":
        plan["ef_search"] = ef_search
        params.set_index_parameter(index, "efSearch", ef_search)
    return index, train_s


def _search(
    index: Any,
    store: _EmbeddingFile,
    top_k: int,
    chunk_size: int,
    rescore: bool,
    calibrator: Calibrator | None,
    threshold: float,
    show: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = store.n
    neighbours = np.full((n, top_k), -1, dtype=np.int64)
    neighbour_scores = np.full((n, top_k), np.nan, dtype=np.float32)
    k_search = min(top_k + 1, n)
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    found_s: list[np.ndarray] = []
    pair_dtype = np.int32 if n < 2**31 else np.int64  # 4 bytes per index while collecting
    with tqdm(total=n, desc="Searching", unit="text", disable=not show) as bar:
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            queries = store.rows(start, stop)  # (c, D)
            dist, ids = index.search(queries, k_search)  # (c, k+1)
            own = np.arange(start, stop)[:, None]
            invalid = (ids < 0) | (ids == own)
            ids = np.where(invalid, -1, ids)
            if rescore:
                dist = _rescore(store, queries, ids, invalid, np.array(dist, dtype=np.float32))
            dist = np.where(invalid, -np.inf, dist).astype(np.float32)
            order = np.argsort(-dist, axis=1, kind="stable")[:, :top_k]  # best first, misses last
            ids = np.take_along_axis(ids, order, axis=1)
            dist = np.take_along_axis(dist, order, axis=1)
            valid = ids >= 0
            if calibrator is not None and valid.any():
                dist[valid] = calibrator.transform(dist[valid]).astype(np.float32)
            dist[~valid] = np.nan
            width = ids.shape[1]
            neighbours[start:stop, :width] = ids
            neighbour_scores[start:stop, :width] = dist
            hit = valid & (dist >= threshold)
            if hit.any():
                qi = np.broadcast_to(own, ids.shape)[hit].astype(pair_dtype)
                qj = ids[hit].astype(pair_dtype)
                sc = dist[hit]
                # A pair found from both sides is kept once, from its smaller index's search. When j < q, j's
                # neighbours are already known (an earlier row, or this chunk's, written above): skip the pair if
                # j's search returned q at or above the threshold. Both sides score the same stored vectors, so
                # no score is lost, and nothing needs a global de-duplication (memory: one entry per pair).
                back = np.nonzero(qj < qi)[0]
                if len(back):
                    j_rows = qj[back]
                    seen = (neighbours[j_rows] == qi[back, None]) & (neighbour_scores[j_rows] >= threshold)
                    keep = np.ones(len(qi), dtype=bool)
                    keep[back[seen.any(axis=1)]] = False
                    qi, qj, sc = qi[keep], qj[keep], sc[keep]
                found_i.append(np.minimum(qi, qj))
                found_j.append(np.maximum(qi, qj))
                found_s.append(sc)
            bar.update(stop - start)
    if not found_i:
        return neighbours, neighbour_scores, np.empty((0, 2), dtype=np.int64), np.empty(0, dtype=np.float32)
    lo = np.concatenate(found_i)
    found_i.clear()
    hi = np.concatenate(found_j)
    found_j.clear()
    sc = np.concatenate(found_s)
    found_s.clear()
    order = np.lexsort((hi, lo, -sc))  # by descending score, then i, then j
    pairs = np.empty((len(order), 2), dtype=np.int64)
    pairs[:, 0] = lo[order]
    del lo
    pairs[:, 1] = hi[order]
    del hi
    return neighbours, neighbour_scores, pairs, sc[order].astype(np.float32)


def _rescore(
    store: _EmbeddingFile,
    queries: np.ndarray,
    ids: np.ndarray,
    invalid: np.ndarray,
    dist: np.ndarray,
    block: int = 1024,
) -> np.ndarray:
    """Exact cosine of the stored vectors for every valid ``(query, id)``, whatever the index codec approximated.

    Works on ``block`` queries at a time, so the gathered neighbour vectors stay small.
    """
    for b0 in range(0, len(ids), block):
        ok = ~invalid[b0 : b0 + block]
        if not ok.any():
            continue
        uniq, inverse = np.unique(ids[b0 : b0 + block][ok], return_inverse=True)  # sorted: sequential reads
        rows = np.nonzero(ok)[0]
        dist[b0 : b0 + block][ok] = np.einsum("ij,ij->i", queries[b0 : b0 + block][rows], store.take(uniq)[inverse])
    return dist


@contextlib.contextmanager
def _faiss_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _run(
    chunks: Iterator[np.ndarray],
    *,
    total: int | None,
    threshold: float,
    top_k: int,
    index: str,
    precision: str,
    chunk_size: int,
    calibrator: Calibrator | None,
    work_dir: str | os.PathLike | None,
    max_exact: int,
    nlist: int | None,
    nprobe: int | None,
    hnsw_m: int,
    ef_search: int,
    num_threads: int | None,
    show_progress_bar: bool,
    seed: int,
    encode_unit: str,
) -> MiningResult:
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="textsiam-mine-")))
        else:
            folder = Path(work_dir)
            folder.mkdir(parents=True, exist_ok=True)
        store = _EmbeddingFile(folder / f"embeddings.{precision}.bin", precision)
        t0 = time.perf_counter()
        with (
            open(store.path, "wb") as fh,
            tqdm(total=total, desc="Encoding", unit=encode_unit, disable=not show_progress_bar) as bar,
        ):
            for emb in chunks:
                store.append(fh, emb)
                bar.update(len(emb))
        encode_s = time.perf_counter() - t0
        n, dim = store.n, store.dim
        stats: dict[str, Any] = {
            "n_texts": n,
            "dim": dim,
            "precision": precision,
            "top_k": top_k,
            "threshold": threshold,
            "calibrated": calibrator is not None,
            "embeddings_file": str(store.path) if work_dir is not None else None,
            "embeddings_bytes": store.nbytes,
            "encode_s": encode_s,
        }
        logger.info("encoded %d texts (%s) in %.1f s", n, precision, encode_s)
        if n == 0:
            stats.update(index=None, index_factory=None, n_pairs=0, index_s=0.0, train_s=0.0, search_s=0.0)
            stats["total_s"] = time.perf_counter() - t_start
            empty = np.empty((0, top_k))
            return MiningResult(
                np.empty((0, 2), dtype=np.int64),
                np.empty(0, dtype=np.float32),
                empty.astype(np.int64),
                empty.astype(np.float32),
                stats,
            )
        plan = _index_plan(n, index, precision, max_exact, nlist, nprobe, hnsw_m)
        with _faiss_threads(num_threads):
            t0 = time.perf_counter()
            faiss_index, train_s = _build_index(store, plan, chunk_size, ef_search, seed, show_progress_bar)
            index_s = time.perf_counter() - t0
            logger.info("built %s over %d embeddings in %.1f s", plan["factory"], n, index_s)
            t0 = time.perf_counter()
            rescore = precision != "float32"
            neighbours, neighbour_scores, pairs, scores = _search(
                faiss_index, store, top_k, chunk_size, rescore, calibrator, threshold, show_progress_bar
            )
            search_s = time.perf_counter() - t0
        del faiss_index
        stats.update(
            index=plan["index"],
            index_factory=plan["factory"],
            nlist=plan["nlist"],
            nprobe=plan["nprobe"],
            hnsw_m=plan["hnsw_m"],
            ef_search=plan.get("ef_search"),
            n_pairs=int(len(scores)),
            train_s=train_s,
            index_s=index_s,
            search_s=search_s,
        )
        stats["total_s"] = time.perf_counter() - t_start
        logger.info(
            "%d pairs with score >= %g among %d texts (encode %.1f s, index %.1f s, search %.1f s)",
            len(scores),
            threshold,
            n,
            encode_s,
            index_s,
            search_s,
        )
        return MiningResult(pairs, scores, neighbours, neighbour_scores, stats)


# ---------------------------------------------------------------------------------------------- public API
def mine_duplicates(
    texts: Iterable[str],
    model: SiameseModel | str | os.PathLike | None = None,
    *,
    threshold: float = 0.8,
    top_k: int = 10,
    index: str = "auto",
    precision: str = "float16",
    batch_size: int = 32,
    chunk_size: int = 10_000,
    calibrated: bool = False,
    work_dir: str | os.PathLike | None = None,
    max_exact: int = MAX_EXACT,
    nlist: int | None = None,
    nprobe: int | None = None,
    hnsw_m: int = 16,
    ef_search: int = 128,
    num_threads: int | None = None,
    show_progress_bar: bool = False,
    seed: int = 0,
) -> MiningResult:
    """Find near-duplicate texts in a corpus: every text's top-k neighbours and the pairs above a threshold.

    See the module docstring (:mod:`textsiam.mining`) for how it works and what memory it needs.

    Args:
        texts: any iterable of strings (a list, a generator, a file's lines), read once, lazily, in chunks.
        model: a :class:`~textsiam.SiameseModel`, a directory or Hub name, or ``None`` for the embedded
            default model. For speed, pass ``SiameseModel.from_pretrained(..., backend="onnx", quantize="int8")``.
        threshold: report pairs whose score is at least this (cosine; calibrated scale with ``calibrated``).
        top_k: neighbours kept per text; pairs are only looked for among them.
        index: ``"flat"`` (exact), ``"hnsw"`` or ``"ivf"`` (approximate), ``"auto"``: flat below
            ``max_exact`` texts, else HNSW.
        precision: storage of the memory-mapped embeddings and of the index vectors: ``"float16"``
            (default), ``"int8"`` (per-vector codes; index ``SQ8``) or ``"float32"``.
        batch_size: texts per forward pass.
        chunk_size: texts read, encoded, added and searched at a time (bounds the working memory).
        calibrated: score with the model's calibrator (:class:`~textsiam.calibration.NotCalibratedError` if it
            has none; it must have been fitted on cosine scores).
        work_dir: folder for the memory-mapped embeddings; kept afterwards (``stats["embeddings_file"]``:
            ``(N, D)`` C-order rows of unit vectors in ``precision``). Default: a temporary folder, removed.
        max_exact: ``index="auto"`` switches from exact search to HNSW at this many texts.
        nlist: IVF lists (default ``4 * sqrt(N)``, at most ``N / 39``).
        nprobe: IVF lists searched per query (default ``max(32, nlist / 16)``); more is slower and more exact.
        hnsw_m: HNSW links per node (more: slower to build, more exact).
        ef_search: HNSW candidates kept per query (at least ``top_k + 1``); more is slower and more exact.
        num_threads: CPU threads for encoding and faiss (default: the current settings).
        show_progress_bar: tqdm bars for encoding, indexing and searching.
        seed: seed of the training sample of an IVF / SQ8 index.

    Returns:
        A :class:`MiningResult`: ``pairs`` and ``scores``, ``neighbours`` and ``neighbour_scores``, ``stats``.

    Raises:
        TypeError: ``texts`` is not an iterable of strings (a non-string item is reported with its index).
        ValueError: a bad argument (named in the message).
    """
    threshold = _check_common(
        threshold, top_k, index, precision, chunk_size, max_exact, nlist, nprobe, hnsw_m, ef_search, num_threads
    )
    _check_int(batch_size, "batch_size")
    _check_iterable(texts)
    if not isinstance(calibrated, bool):
        raise TypeError(f"calibrated must be True or False, got {calibrated!r}")
    from textsiam.api import get_model

    model = get_model(model)
    calibrator = _mining_calibrator(model) if calibrated else None
    if model.similarity_fn_name != "cosine" and not calibrated:
        logger.warning(
            "mining ranks by cosine similarity of normalised embeddings; this model scores with %r",
            model.similarity_fn_name,
        )
    total = len(texts) if isinstance(texts, Sized) else None

    def encoded() -> Iterator[np.ndarray]:
        for chunk in _batched(_iter_texts(texts), chunk_size):
            yield model.encode(chunk, batch_size=batch_size, normalize=True, num_threads=num_threads)

    result = _run(
        encoded(),
        total=total,
        threshold=threshold,
        top_k=top_k,
        index=index,
        precision=precision,
        chunk_size=chunk_size,
        calibrator=calibrator,
        work_dir=work_dir,
        max_exact=max_exact,
        nlist=nlist,
        nprobe=nprobe,
        hnsw_m=hnsw_m,
        ef_search=max(ef_search, top_k + 1),
        num_threads=num_threads,
        show_progress_bar=show_progress_bar,
        seed=seed,
        encode_unit="text",
    )
    result.stats["model"] = getattr(model, "name_or_path", "") or type(model).__name__
    return result


def mine_embeddings(
    embeddings: Any,
    *,
    threshold: float = 0.8,
    top_k: int = 10,
    index: str = "auto",
    precision: str = "float16",
    chunk_size: int = 10_000,
    calibrator: Calibrator | None = None,
    work_dir: str | os.PathLike | None = None,
    max_exact: int = MAX_EXACT,
    nlist: int | None = None,
    nprobe: int | None = None,
    hnsw_m: int = 16,
    ef_search: int = 128,
    num_threads: int | None = None,
    show_progress_bar: bool = False,
    seed: int = 0,
) -> MiningResult:
    """:func:`mine_duplicates` for embeddings you already have.

    Args:
        embeddings: an ``(N, D)`` array (e.g. ``np.load("emb.npy", mmap_mode="r")`` of ``textsiam encode``'s
            output; read ``chunk_size`` rows at a time) or an iterable of ``(n, D)`` chunks. They are
            L2-normalised, so scores are cosine similarities.
        calibrator: a fitted :class:`~textsiam.calibration.Calibrator` (fitted on cosine scores) to score with.
        Other arguments: as for :func:`mine_duplicates`.
    """
    threshold = _check_common(
        threshold, top_k, index, precision, chunk_size, max_exact, nlist, nprobe, hnsw_m, ef_search, num_threads
    )
    if embeddings is None or isinstance(embeddings, (str, bytes)):
        raise TypeError(f"embeddings must be an (N, D) array or an iterable of (n, D) chunks, got {embeddings!r}")
    if calibrator is not None and not calibrator.is_fitted:
        from textsiam.calibration import NotCalibratedError

        raise NotCalibratedError("the calibrator is not fitted")
    if isinstance(embeddings, (list, tuple)):
        try:
            as_array = np.asarray(embeddings, dtype=np.float32) if embeddings else np.empty((0, 0), np.float32)
        except (ValueError, TypeError):  # ragged: a list of chunks
            as_array = None
        if as_array is not None and as_array.ndim == 2:  # a nested list of rows, not a list of chunks
            embeddings = as_array
    if isinstance(embeddings, np.ndarray) or (hasattr(embeddings, "__array__") and hasattr(embeddings, "shape")):
        arr = embeddings
        if len(arr.shape) != 2:
            raise ValueError(f"embeddings must be 2-D (N, D), got shape {tuple(arr.shape)}")
        total: int | None = int(arr.shape[0])
        chunks: Iterable[Any] = (np.asarray(arr[s : s + chunk_size]) for s in range(0, total, chunk_size))
    else:
        _check_iterable(embeddings, "embeddings")
        total, chunks = None, (np.asarray(c) for c in embeddings)
    return _run(
        iter(chunks),
        total=total,
        threshold=threshold,
        top_k=top_k,
        index=index,
        precision=precision,
        chunk_size=chunk_size,
        calibrator=calibrator,
        work_dir=work_dir,
        max_exact=max_exact,
        nlist=nlist,
        nprobe=nprobe,
        hnsw_m=hnsw_m,
        ef_search=max(ef_search, top_k + 1),
        num_threads=num_threads,
        show_progress_bar=show_progress_bar,
        seed=seed,
        encode_unit="vector",
    )


def _mining_calibrator(model: SiameseModel) -> Calibrator:
    cal = model._check_calibrator()  # NotCalibratedError if missing or fitted on another similarity
    if model.similarity_fn_name != "cosine":
        raise ValueError(
            f"calibrated mining needs a calibrator fitted on cosine scores, but this model scores with "
            f"{model.similarity_fn_name!r}; mining ranks by cosine similarity"
        )
    return cal
