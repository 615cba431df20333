"""Duplicate-question retrieval (Quora): :class:`RetrievalEvaluator`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textsiam.evaluation.metrics import TASK_RETRIEVAL, as_binary_labels
from textsiam.evaluation.ranking_evaluator import NoQueriesError, RankingEvaluator
from textsiam.evaluation.retrieval import duplicate_queries

__all__ = ["NoQueriesError", "RetrievalEvaluator"]


class RetrievalEvaluator(RankingEvaluator):
    """Find each question's labelled duplicates among all questions of the pairs.

    Built from labelled pairs (:func:`~textsiam.evaluation.retrieval.duplicate_queries`): the
    candidates are all distinct texts of ``text_a`` ∪ ``text_b``; every text in a label-1 pair is a
    query (removed from its own candidates), and its relevant candidates are its label-1 partners
    (the whole connected component with ``transitive_relevance``). Candidates are ranked by
    similarity, ties pessimistically (a non-relevant candidate with the same score ranks first); the
    ranking and the metrics are those of :class:`~textsiam.evaluation.ranking_evaluator.RankingEvaluator`.

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
        self.relevance = "transitive" if transitive_relevance else "direct"
        self.corpus, self.query_ids, self.relevant = duplicate_queries(
            self.pairs.text_a, self.pairs.text_b, self.labels, transitive=transitive_relevance
        )
        if len(self.query_ids) == 0:
            raise NoQueriesError(f"{self.name}/{self.split} has no label-1 pair of two different texts: no queries")
