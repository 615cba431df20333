"""One mining run: encode to the store, index, search, and collect the pairs above the threshold."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from textsiam.mining.args import WORK_DIR_PREFIX, check_neighbour_memory, search_sizes
from textsiam.mining.index import build_index, faiss_threads, index_plan, search_index
from textsiam.mining.store import EmbeddingFile, remove_stale_work_dirs

if TYPE_CHECKING:
    import pandas as pd

    from textsiam.model.calibrator import Calibrator

logger = logging.getLogger(__name__)


@dataclass
class MiningResult:
    """What :func:`mine_duplicates` found.

    Attributes:
        pairs: ``(P, 2)`` int64 row indices ``(i, j)`` with ``i < j``, each unordered pair once, sorted by
            descending score (ties by ``i``, then ``j``).
        scores: ``(P,)`` float32 score of each pair (cosine of the stored embeddings, or calibrated).
        neighbours: ``(N, k)`` int64 with ``k = min(top_k, N - 1)`` (a text has ``N - 1`` others): the nearest
            other texts of each text, most similar first; ``-1`` where an ANN index returned fewer.
        neighbour_scores: ``(N, k)`` float32 scores of ``neighbours`` (``NaN`` where the index is ``-1``).
        stats: sizes, index settings and wall times (``encode_s``, ``index_s``, ``search_s``, ``total_s``).
        rerank_scores: ``(P,)`` float32 cross-encoder score of each pair once re-ranked
            (:func:`~textsiam.mining.rerank_pairs`; the pairs are then sorted by it), else ``None``.
        fused_scores: ``(P,)`` float32 order key of a re-ranking that mixes in the twin tower
            (``rerank_pairs(twin_weight=w)`` with ``w`` > 0: :func:`~textsiam.mining.rerank.fuse_scores`; the
            pairs are then sorted by it), else ``None``.
    """

    pairs: np.ndarray
    scores: np.ndarray
    neighbours: np.ndarray
    neighbour_scores: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    rerank_scores: np.ndarray | None = None
    fused_scores: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __iter__(self) -> Iterator[tuple[int, int, float]]:
        """Iterate over ``(i, j, score)`` for the pairs, best first."""
        for (i, j), s in zip(self.pairs.tolist(), self.scores.tolist(), strict=True):
            yield i, j, s

    def to_dataframe(self, texts: Any = None) -> pd.DataFrame:
        """The pairs as a DataFrame ``i, j, score`` (and ``rerank_score`` once re-ranked, ``fused_score`` when the
        re-ranking mixed in the twin tower; plus ``text_a, text_b`` if ``texts`` can be indexed)."""
        import pandas as pd

        df = pd.DataFrame({"i": self.pairs[:, 0], "j": self.pairs[:, 1], "score": self.scores})
        if self.rerank_scores is not None:
            df["rerank_score"] = self.rerank_scores
        if self.fused_scores is not None:
            df["fused_score"] = self.fused_scores
        if texts is not None:
            df["text_a"] = [texts[i] for i in df["i"].tolist()]
            df["text_b"] = [texts[j] for j in df["j"].tolist()]
        return df

    def __repr__(self) -> str:
        n = self.stats.get("n_texts", self.neighbours.shape[0])
        reranked = "" if self.rerank_scores is None else f", re-ranked by {self.stats.get('rerank_model')!r}"
        return (
            f"MiningResult({len(self)} pairs >= {self.stats.get('threshold')} among {n} texts, "
            f"top_k={self.neighbours.shape[1]}, index={self.stats.get('index_factory')!r}{reranked})"
        )


def run_mining(
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
            remove_stale_work_dirs()
            prefix = f"{WORK_DIR_PREFIX}{os.getpid()}-"
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        else:
            folder = Path(work_dir)
            folder.mkdir(parents=True, exist_ok=True)
        store = EmbeddingFile(folder / f"embeddings.{precision}.bin", precision)
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
        top_k, ef_search = search_sizes(n, top_k, ef_search)  # at most the corpus: no (N, 10**9) arrays
        check_neighbour_memory(n, top_k)
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
        plan = index_plan(n, index, precision, max_exact, nlist, nprobe, hnsw_m)
        with faiss_threads(num_threads):
            t0 = time.perf_counter()
            faiss_index, train_s = build_index(store, plan, chunk_size, ef_search, seed, show_progress_bar)
            index_s = time.perf_counter() - t0
            logger.info("built %s over %d embeddings in %.1f s", plan["factory"], n, index_s)
            t0 = time.perf_counter()
            rescore = precision != "float32"
            neighbours, neighbour_scores, pairs, scores = search_index(
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
