"""``semantic_search``: the corpus rows most similar to each query (exact matrix products, or a faiss flat index)."""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
import torch

from textsiam.search.inputs import ScoreFunction, as_embeddings, check_int, check_same_dim, prepare, score_fn
from textsiam.search.topk import chunk_topk, merge_topk, order_rows

logger = logging.getLogger(__name__)

#: :func:`semantic_search` with ``exact=None`` uses faiss for corpora of more rows than this (never, by default:
#: faiss' flat index measured 4-5x slower than the chunked matrix products on a 2-core AVX2 CPU).
MAX_EXACT_ROWS: float = float("inf")
#: Score functions the faiss ``IndexFlatIP`` path supports.
FAISS_SCORES: tuple[str, ...] = ("cosine", "dot")


@torch.no_grad()
def semantic_search(
    query_embeddings: Any,
    corpus_embeddings: Any,
    top_k: int = 10,
    score_function: ScoreFunction = "cosine",
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 500_000,
    exact: bool | None = None,
) -> list[list[dict[str, int | float]]]:
    """The ``top_k`` corpus rows most similar to each query, like sentence-transformers' ``util.semantic_search``.

    Scores are ``score_function(query, corpus_row)``, cosine similarity ``q.c / (|q| |c|)`` by default. Exact search
    (``exact=True``) takes chunked matrix products (:func:`textsiam.model.scoring.similarity_matrix`,
    ``query_chunk_size x corpus_chunk_size`` scores at a time) and keeps a running top-k per query. The faiss path
    (``exact=False``, ``"cosine"`` or ``"dot"``; with ``exact=None`` for corpora over :data:`MAX_EXACT_ROWS`
    rows, by default never) adds the (normalised, float32) corpus to an exact ``faiss.IndexFlatIP`` in chunks and
    searches it: the same neighbours, scores equal to float32 rounding. Either way equal scores are ordered by
    ``corpus_id``, and at the k-th place the lower ids are kept.

    Args:
        query_embeddings: ``(Q, D)`` embeddings, or one ``(D,)`` query (tensor, numpy or list).
        corpus_embeddings: ``(C, D)`` embeddings.
        top_k: results per query; all ``C`` rows when ``top_k > C``.
        score_function: a name of :data:`textsiam.model.scoring.SIMILARITY_FUNCTIONS` (``"cosine"``, ``"dot"``,
            ``"euclidean"``, ...; higher is more similar) or a callable ``f(a (q, D), b (c, D)) -> (q, c)`` tensor
            such as sentence-transformers' ``util.cos_sim`` (exact path only).
        query_chunk_size: queries scored at a time.
        corpus_chunk_size: corpus rows scored (or added to the faiss index) at a time.
        exact: ``True``: exact matrix products; ``False``: faiss (cosine / dot only; tensors are moved to the CPU);
            ``None``: faiss for large CPU corpora, as above.

    Returns:
        One list per query of ``{"corpus_id": int, "score": float}`` dicts, by descending score.

    Raises:
        TypeError / ValueError: embeddings that are not numeric, finite, 2-D (a 1-D query aside) or of the same
            dimension; ``top_k`` or a chunk size that is not a positive int; an unknown score function; ``exact=False``
            with a score function faiss cannot use.

    Example:
        >>> import numpy as np
        >>> corpus = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
        >>> semantic_search(np.array([[0.0, 2.0]], dtype=np.float32), corpus, top_k=2)
        [[{'corpus_id': 1, 'score': 1.0}, {'corpus_id': 2, 'score': 0.7071067690849304}]]
    """
    top_k = check_int(top_k, "top_k")
    query_chunk_size = check_int(query_chunk_size, "query_chunk_size")
    corpus_chunk_size = check_int(corpus_chunk_size, "corpus_chunk_size")
    if exact is not None and not isinstance(exact, bool):
        raise TypeError(f"exact must be True, False or None, got {exact!r}")
    name, fn = score_fn(score_function)
    queries = as_embeddings(query_embeddings, "query_embeddings", allow_1d=True)
    corpus = as_embeddings(corpus_embeddings, "corpus_embeddings")
    check_same_dim(queries, corpus, "query_embeddings and corpus_embeddings")
    if exact is False and name not in FAISS_SCORES:
        raise ValueError(f"exact=False (faiss) supports score_function {list(FAISS_SCORES)}, got {score_function!r}")
    if len(queries) == 0 or len(corpus) == 0:
        return [[] for _ in range(len(queries))]
    dtype = torch.promote_types(queries.dtype, corpus.dtype)
    queries, corpus = queries.to(corpus.device, dtype), corpus.to(dtype=dtype)
    k = min(top_k, len(corpus))
    if exact is None:
        exact = not (name in FAISS_SCORES and len(corpus) > MAX_EXACT_ROWS and corpus.device.type == "cpu")
    if exact:
        values, ids = _exact_search(queries, corpus, k, name, fn, query_chunk_size, corpus_chunk_size)
    else:
        values, ids = _faiss_search(queries, corpus, k, name, query_chunk_size, corpus_chunk_size)
    return [
        [{"corpus_id": i, "score": s} for i, s in zip(row_ids, row_values, strict=True)]
        for row_ids, row_values in zip(ids.tolist(), values.tolist(), strict=True)
    ]


def _exact_search(
    queries: torch.Tensor,
    corpus: torch.Tensor,
    k: int,
    name: str | None,
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    query_chunk_size: int,
    corpus_chunk_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    starts = range(0, len(queries), query_chunk_size)
    best: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(starts)
    for c0 in range(0, len(corpus), corpus_chunk_size):  # each corpus chunk is prepared once
        chunk = prepare(corpus[c0 : c0 + corpus_chunk_size], name)
        for n, q0 in enumerate(starts):
            scores = fn(prepare(queries[q0 : q0 + query_chunk_size], name), chunk)
            best[n] = merge_topk(best[n], chunk_topk(scores, k, c0), k)
    values = torch.cat([b[0] for b in best if b is not None]).cpu()
    return values, torch.cat([b[1] for b in best if b is not None]).cpu()


def _faiss_search(
    queries: torch.Tensor, corpus: torch.Tensor, k: int, name: str | None, query_chunk_size: int, corpus_chunk_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact inner-product search with ``faiss.IndexFlatIP`` (normalised rows for cosine), float32."""
    import faiss

    def rows(x: torch.Tensor) -> np.ndarray:
        return np.ascontiguousarray(prepare(x.cpu().float(), name).numpy())

    logger.info("semantic_search: faiss IndexFlatIP over %d x %d embeddings (%s)", *corpus.shape, name)
    index = faiss.IndexFlatIP(corpus.shape[1])
    for c0 in range(0, len(corpus), corpus_chunk_size):
        index.add(rows(corpus[c0 : c0 + corpus_chunk_size]))
    values, ids = [], []
    for q0 in range(0, len(queries), query_chunk_size):
        dist, found = index.search(rows(queries[q0 : q0 + query_chunk_size]), k)
        v, i = order_rows(torch.from_numpy(dist), torch.from_numpy(found))
        values.append(v)
        ids.append(i)
    return torch.cat(values), torch.cat(ids)
