"""Duplicate-question retrieval (Quora): MRR@10, Recall@1/5/10 and nDCG@10.

Protocol (:func:`duplicate_queries`):

* The candidate pool is every unique question of the split (``text_a`` ∪ ``text_b``).
* Every question that appears in a label-1 pair is a query; the query itself is removed from
  its own candidate list.
* Relevant = the query's **direct** duplicate partners (label-1 pairs it appears in). With
  ``transitive=True`` relevance is the whole connected component of the label-1 graph instead.
  Direct partners are the default: unlabelled duplicates (pairs never annotated) count as
  non-relevant either way, and transitive closure would chain annotation noise.

Ranking (:func:`rank_relevant`) uses chunked :func:`textsiam.model.scoring.similarity_matrix`
products (``chunk_size`` queries at a time), so memory is ``O(chunk_size × corpus)``.
Ties are broken **pessimistically**: a non-relevant candidate with the same score as a relevant
one is ranked above it, so ties never inflate the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from textsiam.evaluation.metrics import MRR_K, NDCG_K, RECALL_KS, as_binary_labels
from textsiam.model.scoring import similarity_matrix

logger = logging.getLogger(__name__)


def duplicate_queries(
    text_a: Sequence[str],
    text_b: Sequence[str],
    labels: Any,
    transitive: bool = False,
) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """Build the retrieval task from labelled pairs.

    Args:
        text_a, text_b: the pair texts.
        labels: 0/1 duplicate labels.
        transitive: relevance = connected component of the label-1 graph instead of direct partners.

    Returns:
        ``(corpus, query_ids, relevant)``: unique texts in first-seen order, the corpus indices of
        the queries (ascending), and for each query the sorted corpus indices of its relevant
        candidates (never the query itself, never empty).
    """
    y = as_binary_labels(labels)
    if not (len(text_a) == len(text_b) == len(y)):
        raise ValueError(f"length mismatch: {len(text_a)}, {len(text_b)}, {len(y)}")
    row_of: dict[str, int] = {}
    ia = np.array([row_of.setdefault(str(t), len(row_of)) for t in text_a], dtype=np.int64)
    ib = np.array([row_of.setdefault(str(t), len(row_of)) for t in text_b], dtype=np.int64)
    corpus = list(row_of)
    keep = (y == 1) & (ia != ib)
    ea, eb = ia[keep], ib[keep]
    n = len(corpus)
    if transitive:
        graph = coo_matrix((np.ones(len(ea)), (ea, eb)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        members: dict[int, list[int]] = {}
        in_edge = np.zeros(n, dtype=bool)
        in_edge[ea] = True
        in_edge[eb] = True
        for node in np.flatnonzero(in_edge):
            members.setdefault(int(comp[node]), []).append(int(node))
        partners = {q: [m for m in members[int(comp[q])] if m != q] for q in np.flatnonzero(in_edge).tolist()}
    else:
        partners = {}
        for a, b in zip(ea.tolist(), eb.tolist(), strict=True):
            partners.setdefault(a, []).append(b)
            partners.setdefault(b, []).append(a)
    query_ids = np.array(sorted(q for q, p in partners.items() if p), dtype=np.int64)
    relevant = [np.unique(np.asarray(partners[int(q)], dtype=np.int64)) for q in query_ids]
    return corpus, query_ids, relevant


def rank_relevant(
    corpus_embeddings: np.ndarray,
    query_ids: np.ndarray,
    relevant: Sequence[np.ndarray],
    similarity: str = "cosine",
    chunk_size: int = 256,
    show_progress_bar: bool = False,
    *,
    query_embeddings: np.ndarray | None = None,
) -> list[np.ndarray]:
    """1-based ranks of each query's relevant candidates (ascending), query excluded from the pool.

    Queries are rows of ``corpus_embeddings`` (``query_ids``), or, with ``query_embeddings``, its rows (aligned
    with ``query_ids``, which then give the corpus row of the query's own text, excluded from its candidates,
    or ``-1`` when the query is not in the corpus). With the relevant scores sorted descending
    ``s_(1) >= s_(2) >= ...``, the pessimistic rank of the ``k``-th is
    ``k + #{non-relevant candidates with score >= s_(k)}``. Each relevant list holds distinct corpus rows.
    """
    query_ids = np.asarray(query_ids, dtype=np.int64)
    if len(query_ids) != len(relevant):
        raise ValueError(f"{len(query_ids)} queries but {len(relevant)} relevant lists")
    if query_embeddings is None and np.any(query_ids < 0):
        raise ValueError("query_ids must be corpus rows (>= 0) unless query_embeddings are given")
    if query_embeddings is not None and len(query_embeddings) != len(query_ids):
        raise ValueError(f"{len(query_embeddings)} query embeddings but {len(query_ids)} query ids")
    ranks: list[np.ndarray] = []
    starts = range(0, len(query_ids), chunk_size)
    for start in tqdm(starts, desc="Retrieval", unit="chunk", disable=not show_progress_bar):
        ids = query_ids[start : start + chunk_size]
        queries = corpus_embeddings[ids] if query_embeddings is None else query_embeddings[start : start + chunk_size]
        sims = np.asarray(similarity_matrix(queries, corpus_embeddings, similarity), dtype=np.float64)
        own = np.flatnonzero(ids >= 0)
        sims[own, ids[own]] = -np.inf  # the query is not its own candidate
        for row, rel in zip(sims, relevant[start : start + chunk_size], strict=True):
            rel = np.asarray(rel, dtype=np.int64)
            if rel.size == 0:  # no relevant candidate: no ranks (per_query_metrics says so)
                ranks.append(np.zeros(0, dtype=np.int64))
                continue
            rel_scores = np.sort(row[rel])[::-1]  # (R,) descending
            others = np.ones(len(row), dtype=bool)
            others[rel] = False
            rivals = row[others]
            rivals = np.sort(rivals[rivals >= rel_scores[-1]])  # the only non-relevant ones that can rank above
            n_above = len(rivals) - np.searchsorted(rivals, rel_scores, side="left")  # non-relevant >= s_(k)
            ranks.append(np.arange(1, len(rel) + 1) + n_above)
    return ranks


def per_query_metrics(ranks: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-query MRR@10, Recall@{1,5,10} and nDCG@10 (fractions in [0, 1], not ×100).

    Args:
        ranks: for each query, the 1-based ranks of all its relevant candidates.

    Returns:
        ``{"mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10"}``, each of shape ``(Q,)``.
    """
    q = len(ranks)
    out = {
        f"mrr@{MRR_K}": np.zeros(q),
        **{f"recall@{k}": np.zeros(q) for k in RECALL_KS},
        f"ndcg@{NDCG_K}": np.zeros(q),
    }
    for i, r in enumerate(ranks):
        r = np.asarray(r)
        if r.size == 0:
            raise ValueError(f"query {i} has no relevant candidates")
        best = r.min()
        out[f"mrr@{MRR_K}"][i] = 1.0 / best if best <= MRR_K else 0.0
        for k in RECALL_KS:
            out[f"recall@{k}"][i] = np.count_nonzero(r <= k) / r.size
        hits = r[r <= NDCG_K]
        dcg = float(np.sum(1.0 / np.log2(hits + 1.0)))
        idcg = float(np.sum(1.0 / np.log2(np.arange(1, min(r.size, NDCG_K) + 1) + 1.0)))
        out[f"ndcg@{NDCG_K}"][i] = dcg / idcg
    return out


def average_precision(ranks: Sequence[np.ndarray]) -> np.ndarray:
    """Per-query average precision over the full ranking (a fraction in [0, 1], not ×100).

    With ``r_1 < r_2 < ... < r_R`` the ranks of the ``R`` relevant candidates, ``AP = (1/R) Σ_k k / r_k``
    (the precision at each relevant candidate); its mean over queries is MAP.
    """
    out = np.zeros(len(ranks))
    for i, r in enumerate(ranks):
        r = np.sort(np.asarray(r, dtype=np.float64))
        if r.size == 0:
            raise ValueError(f"query {i} has no relevant candidates")
        out[i] = float(np.mean(np.arange(1, r.size + 1) / r))
    return out


def retrieval_metrics(
    corpus_embeddings: np.ndarray,
    query_ids: np.ndarray,
    relevant: Sequence[np.ndarray],
    similarity: str = "cosine",
    chunk_size: int = 256,
    show_progress_bar: bool = False,
) -> dict[str, float]:
    """Mean retrieval metrics ×100 over queries (see :func:`per_query_metrics` for the keys)."""
    if len(query_ids) == 0:
        raise ValueError("no queries: the split has no label-1 pairs")
    ranks = rank_relevant(corpus_embeddings, query_ids, relevant, similarity, chunk_size, show_progress_bar)
    return {k: 100.0 * float(v.mean()) for k, v in per_query_metrics(ranks).items()}
