"""Duplicate-question retrieval (Quora): :class:`RetrievalEvaluator`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from textsiam.evaluation.base import PairEvaluator, PrimaryInputs, TaskResult
from textsiam.evaluation.encoding import EncodedPairs
from textsiam.evaluation.metrics import MRR_K, TASK_RETRIEVAL, as_binary_labels
from textsiam.evaluation.retrieval import duplicate_queries, per_query_metrics, rank_relevant


class NoQueriesError(ValueError):
    """The pairs have no label-1 pair of two different texts, so there is no retrieval query."""


class RetrievalEvaluator(PairEvaluator):
    """Find each question's labelled duplicates among all questions of the pairs.

    Built from labelled pairs (:func:`~textsiam.evaluation.retrieval.duplicate_queries`): the
    candidates are all distinct texts of ``text_a`` ∪ ``text_b``; every text in a label-1 pair is a
    query (removed from its own candidates), and its relevant candidates are its label-1 partners
    (the whole connected component with ``transitive_relevance``). Candidates are ranked by
    similarity, ties pessimistically (a non-relevant candidate with the same score ranks first).

    With ``rank_k`` the best rank of a relevant candidate, ``ranks`` the ranks of all ``R`` relevant
    ones, per query: MRR@10 = ``1 / rank_1`` if ``rank_1 <= 10`` else 0; Recall@k = ``|{r <= k}| / R``
    (k = 1, 5, 10); nDCG@10 = ``Σ_{r <= 10} 1 / log2(r + 1)`` over the ideal DCG. Metrics are
    means over queries ×100, keys ``{sim}_mrr@10``, ``{sim}_recall@{1,5,10}``, ``{sim}_ndcg@10``.
    Primary metric: ``{primary}_mrr@10``. Confidence intervals (percentile bootstrap over queries):
    every metric of the primary similarity.

    Args:
        pairs: pair table with 0/1 duplicate ``label`` values.
        transitive_relevance: relevance = connected component of the label-1 graph instead of
            direct partners.
        retrieval_chunk_size: queries per similarity-matrix chunk (memory is chunk × candidates).
        similarities: more similarity functions to rank with (default: the primary one only; each
            is a full ranking pass).
        **kwargs: see :class:`~textsiam.evaluation.base.PairEvaluator`.

    Raises:
        NoQueriesError: no label-1 pair of two different texts (a :class:`ValueError`).

    Example:
        >>> evaluator = RetrievalEvaluator(quora_test)  # doctest: +SKIP
        >>> evaluator(model)["cosine_ndcg@10"]  # doctest: +SKIP
        91.3
    """

    task = TASK_RETRIEVAL
    primary_key = f"mrr@{MRR_K}"
    item_name = "queries"

    def __init__(
        self,
        pairs: Any,
        *,
        transitive_relevance: bool = False,
        retrieval_chunk_size: int = 256,
        similarities: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pairs, similarities=similarities or (), **kwargs)
        self.labels = as_binary_labels(self.pairs.labels, f"{self.name}/{self.split} labels")
        self.transitive_relevance = transitive_relevance
        self.retrieval_chunk_size = retrieval_chunk_size
        self.corpus, self.query_ids, self.relevant = duplicate_queries(
            self.pairs.text_a, self.pairs.text_b, self.labels, transitive=transitive_relevance
        )
        if len(self.query_ids) == 0:
            raise NoQueriesError(f"{self.name}/{self.split} has no label-1 pair of two different texts: no queries")

    @staticmethod
    def primary_fn(gold: np.ndarray, values: np.ndarray) -> float:
        """Mean ×100 of per-query values (``gold`` is unused: relevance is in the ranks)."""
        return 100.0 * float(np.mean(values))

    def per_query(self, encoded: EncodedPairs, similarity: str) -> dict[str, np.ndarray]:
        """Per-query metrics (fractions) when ranking with ``similarity``."""
        ranks = rank_relevant(
            encoded.embeddings_of(self.corpus),
            self.query_ids,
            self.relevant,
            similarity,
            self.retrieval_chunk_size,
            self.progress,
        )
        return per_query_metrics(ranks)

    def compute(self, encoded: EncodedPairs, similarities: list[str], primary: str) -> TaskResult:
        """Retrieval metrics for every similarity; CIs over queries for the primary one."""
        result = TaskResult(metrics={})
        for sim in similarities:
            per_query = self.per_query(encoded, sim)
            keys = [f"{sim}_{k}" for k in per_query]
            result.metrics.update(
                {key: 100.0 * float(v.mean()) for key, v in zip(keys, per_query.values(), strict=True)}
            )
            result.main_metrics = keys + result.main_metrics if sim == primary else result.main_metrics + keys
            if sim == primary:
                fns = {key: (lambda *cols, i=i: 100.0 * float(np.mean(cols[i]))) for i, key in enumerate(keys)}
                result.ci = self.bootstrap(fns, *per_query.values())
        result.info["retrieval"] = {
            "similarity": primary,
            "n_queries": len(self.query_ids),
            "n_candidates": len(self.corpus) - 1,
            "relevance": "transitive" if self.transitive_relevance else "direct",
            "mean_relevant_per_query": float(np.mean([len(r) for r in self.relevant])),
            "ties": "pessimistic",
        }
        return result

    def primary_inputs(self, model: Any) -> PrimaryInputs:
        """Per-query values of the primary metric (``gold`` is a placeholder of zeros)."""
        _, primary = self.resolve(model)
        values = self.per_query(self.encode(model, [primary]), primary)[self.primary_key]
        return PrimaryInputs(primary, np.zeros(len(values)), values)
