"""The faiss index of a mining run: which index, built chunk by chunk, searched, and its hits rescored."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from textsiam.mining.args import CODECS
from textsiam.mining.store import EmbeddingFile
from textsiam.model.scheduler import thread_count_context

if TYPE_CHECKING:
    from textsiam.model.calibrator import Calibrator

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- index
def index_plan(
    n: int, kind: str, precision: str, max_exact: int, nlist: int | None, nprobe: int | None, hnsw_m: int
) -> dict[str, Any]:
    codec = CODECS[precision]
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


def reserve_index(index: Any, n: int) -> None:
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


def build_index(
    store: EmbeddingFile, plan: dict[str, Any], chunk_size: int, ef_search: int, seed: int, show: bool
) -> tuple[Any, float]:
    import faiss

    index = faiss.index_factory(store.dim, plan["factory"], faiss.METRIC_INNER_PRODUCT)
    reserve_index(index, store.n)
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


def search_index(
    index: Any,
    store: EmbeddingFile,
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
            dist, ids = search_own_rows(index, queries, start, k_search)  # (c, k+1)
            own = np.arange(start, stop)[:, None]
            invalid = (ids < 0) | (ids == own)
            ids = np.where(invalid, -1, ids)
            if rescore:
                dist = rescore_hits(store, queries, ids, invalid, np.array(dist, dtype=np.float32))
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


def search_own_rows(index: Any, queries: np.ndarray, start: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Search ``index`` for ``queries``, which are its own rows ``start, start + 1, ...`` (every mining query is).

    An HNSW graph is searched from each query's own node, on the bottom level only (faiss ``search_level_0``):
    the descent through the upper levels from the global entry point only looks for a node near the query, and
    that node is known. On 1M texts it is 1.3-1.8x faster than ``index.search`` and finds more of the exact top
    10 at every ``efSearch`` (``python -m benchmarks.hnsw_search``). Other indexes: ``index.search``.
    """
    import faiss

    if not isinstance(index, faiss.IndexHNSW):
        return index.search(queries, k)
    n = len(queries)
    x = np.ascontiguousarray(queries, dtype=np.float32)
    own = np.arange(start, start + n, dtype=np.int32).reshape(n, 1)  # faiss' storage_idx_t
    # each entry's score against its own query, on the scale faiss returns: a unit vector's inner product with
    # itself is 1 (an L2 distance 0); it takes one of the k places, as in ``index.search``, and is dropped later
    own_d = np.full((n, 1), 1.0 if faiss.is_similarity_metric(index.metric_type) else 0.0, dtype=np.float32)
    dist = np.empty((n, k), dtype=np.float32)
    ids = np.empty((n, k), dtype=np.int64)
    ptr = faiss.swig_ptr
    index.search_level_0(n, ptr(x), k, ptr(own), ptr(own_d), ptr(dist), ptr(ids), 1, 1)
    return dist, ids


def rescore_hits(
    store: EmbeddingFile,
    queries: np.ndarray,
    ids: np.ndarray,
    invalid: np.ndarray,
    dist: np.ndarray,
    block: int = 1024,
) -> np.ndarray:
    """Exact cosine of the stored vectors for every valid ``(query, id)``, whatever the index codec approximated.

    The neighbours of the whole chunk are read at once, as stored (sorted ids: a few large reads, see
    :meth:`EmbeddingFile.read`), and turned into float32 ``block`` queries at a time.
    """
    ok = ~invalid
    if not ok.any():
        return dist
    uniq, inverse = np.unique(ids[ok], return_inverse=True)
    raw = store.read(uniq)  # (u, D) in the store's dtype: a quarter of float32 for int8
    where = np.full(ids.shape, -1, dtype=np.int64)
    where[ok] = inverse.reshape(-1)
    for b0 in range(0, len(ids), block):
        okb = ok[b0 : b0 + block]
        if not okb.any():
            continue
        rows = np.nonzero(okb)[0]
        vectors = store.unit(raw[where[b0 : b0 + block][okb]])
        dist[b0 : b0 + block][okb] = np.einsum("ij,ij->i", queries[b0 : b0 + block][rows], vectors)
    return dist


def faiss_threads(n: int | None) -> contextlib.AbstractContextManager[None]:
    """Run the block with ``n`` faiss (OpenMP) threads (``None``: leave the setting alone), restored afterwards."""
    if n is None:
        return contextlib.nullcontext()
    import faiss

    return thread_count_context(faiss.omp_get_max_threads, faiss.omp_set_num_threads, n)
