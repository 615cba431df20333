"""The base of the retrieval evaluators: :class:`RankingEvaluator` (queries rank a pool of candidate texts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from textsiam.evaluation.base import PairEvaluator, PrimaryInputs, TaskResult
from textsiam.evaluation.encoding import EncodedPairs
from textsiam.evaluation.metrics import MRR_K
from textsiam.evaluation.retrieval import per_query_metrics, rank_relevant


class NoQueriesError(ValueError):
    """The data hold no retrieval query (e.g. no label-1 pair of two different texts)."""


class RankingEvaluator(PairEvaluator):
    """Base of the evaluators whose queries rank candidate texts: metrics from the ranks of the relevant ones.

    A subclass builds its protocol in its constructor, after ``super().__init__``: :attr:`corpus` (the distinct
    candidate texts), :attr:`query_ids` (the corpus row of each query's own text, which is never its candidate,
    or ``-1`` when it is not in the corpus), :attr:`relevant` (for each query, the distinct corpus rows of its
    relevant candidates) and, when some queries are not corpus texts, :attr:`queries` (the query texts; ``None``:
    the queries are the corpus rows ``query_ids``). Ranking is :func:`~textsiam.evaluation.retrieval.rank_relevant`
    (ties pessimistic), the per-query metrics :func:`~textsiam.evaluation.retrieval.per_query_metrics` (plus those
    of :meth:`query_metrics`), their means ×100 the metrics, with percentile bootstrap CIs over queries for the
    primary similarity.
    """

    primary_key: ClassVar[str] = f"mrr@{MRR_K}"
    item_name = "queries"
    needs_embeddings = True  # candidates are ranked by the similarity of embeddings: no cross-encoder
    #: How relevance is defined, for the record's ``retrieval`` protocol.
    relevance: str = ""

    corpus: list[str]
    query_ids: np.ndarray
    relevant: Sequence[np.ndarray]
    queries: list[str] | None = None
    retrieval_chunk_size: int = 256

    @staticmethod
    def primary_fn(gold: np.ndarray, values: np.ndarray) -> float:
        """Mean ×100 of per-query values (``gold`` is unused: relevance is in the ranks)."""
        return 100.0 * float(np.mean(values))

    def query_metrics(self, ranks: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Per-query metrics (fractions) from the ranks of each query's relevant candidates."""
        return per_query_metrics(ranks)

    def per_query(self, encoded: EncodedPairs, similarity: str) -> dict[str, np.ndarray]:
        """Per-query metrics (fractions) when ranking with ``similarity``."""
        ranks = rank_relevant(
            encoded.embeddings_of(self.corpus),
            self.query_ids,
            self.relevant,
            similarity,
            self.retrieval_chunk_size,
            self.progress,
            query_embeddings=None if self.queries is None else encoded.embeddings_of(self.queries),
        )
        return self.query_metrics(ranks)

    def n_candidates(self) -> int:
        """Candidates per query, for the record (the corpus less the query itself)."""
        return len(self.corpus) - 1

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
            "n_candidates": self.n_candidates(),
            "relevance": self.relevance,
            "mean_relevant_per_query": float(np.mean([len(r) for r in self.relevant])),
            "ties": "pessimistic",
        }
        return result

    def primary_inputs(self, model: Any) -> PrimaryInputs:
        """Per-query values of the primary metric (``gold`` is a placeholder of zeros)."""
        _, primary = self.resolve(model)
        values = self.per_query(self.encode(model, [primary]), primary)[self.primary_key]
        return PrimaryInputs(primary, np.zeros(len(values)), values)
