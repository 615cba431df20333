"""(anchor, positive) pairs without labels: :class:`PairedRetrievalEvaluator`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from textsiam.evaluation import inputs
from textsiam.evaluation.inputs import PairData
from textsiam.evaluation.metrics import TASK_PAIRED_RETRIEVAL
from textsiam.evaluation.ranking_evaluator import NoQueriesError, RankingEvaluator


def paired_queries(
    anchors: Sequence[str], positives: Sequence[str]
) -> tuple[list[str], list[str], np.ndarray, list[np.ndarray]]:
    """The retrieval task of (anchor, positive) pairs.

    Returns:
        ``(queries, corpus, query_ids, relevant)``: the distinct anchors that have a positive other than
        themselves (first-seen order), the distinct positives (first-seen order), the corpus row of each query's
        own text (``-1`` when it is no positive) and, for each query, the sorted corpus rows of its positives
        (never its own text).
    """
    if len(anchors) != len(positives):
        raise ValueError(f"length mismatch: {len(anchors)} anchors, {len(positives)} positives")
    row_of: dict[str, int] = {}
    for text in positives:
        row_of.setdefault(text, len(row_of))
    partners: dict[str, set[int]] = {}
    for anchor, positive in zip(anchors, positives, strict=True):
        rows = partners.setdefault(anchor, set())
        if positive != anchor:  # a text is never its own candidate
            rows.add(row_of[positive])
    queries = [anchor for anchor, rows in partners.items() if rows]
    query_ids = np.array([row_of.get(q, -1) for q in queries], dtype=np.int64)
    relevant = [np.array(sorted(partners[q]), dtype=np.int64) for q in queries]
    return queries, list(row_of), query_ids, relevant


class PairedRetrievalEvaluator(RankingEvaluator):
    """Find each anchor's positive among all positives of the table (label-free pairs, e.g. for MNRL).

    The candidates are the distinct positives (``text_b``); every distinct anchor (``text_a``) is a query, and
    its relevant candidates are the positives it is paired with (one, or several when the anchor repeats). A
    query's own text is never its candidate (an anchor that is also another row's positive is not its own
    answer), and a pair of a text with itself is skipped. Candidates are ranked by similarity, ties
    pessimistically (a non-relevant candidate with the same score ranks first), as in
    :class:`~textsiam.evaluation.retrieval_evaluator.RetrievalEvaluator`.

    With ``rank_1`` the best rank of a relevant candidate and ``ranks`` those of all ``R``, per query: MRR@10 =
    ``1 / rank_1`` if ``rank_1 <= 10`` else 0; Recall@k = ``|{r <= k}| / R`` (k = 1, 5, 10; with one positive
    per anchor this is sentence-transformers' accuracy@k, the share of anchors whose positive is in the top
    k); nDCG@10 = ``Σ_{r <= 10} 1 / log2(r + 1)`` over the ideal DCG. Metrics are means over queries ×100,
    keys ``{sim}_mrr@10``, ``{sim}_recall@{1,5,10}``, ``{sim}_ndcg@10``. Primary metric: ``{primary}_mrr@10``.
    Confidence intervals (percentile bootstrap over queries): every metric of the primary similarity.

    Args:
        pairs: an ``anchor, positive`` table without labels (or ``text_a, text_b``), rows ``(anchor,
            positive)`` or the path of such a file (:mod:`textsiam.data.tables`).
        retrieval_chunk_size: queries per similarity-matrix chunk (memory is chunk × candidates).
        similarities: more similarity functions to rank with (default: the primary one only; each is a full
            ranking pass).
        **kwargs: see :class:`~textsiam.evaluation.base.PairEvaluator`.

    Raises:
        ValueError: not an anchor/positive table (the message names the format found and its task).
        NoQueriesError: every pair is a text with itself (a :class:`ValueError`).

    Example:
        >>> pairs = [("A man plays.", "A man is playing."), ("It rains.", "Rain is falling.")]  # doctest: +SKIP
        >>> PairedRetrievalEvaluator(pairs)(model)["cosine_mrr@10"]  # doctest: +SKIP
        100.0
    """

    task = TASK_PAIRED_RETRIEVAL
    relevance = "paired positives"

    def __init__(
        self,
        pairs: Any,
        *,
        retrieval_chunk_size: int = 256,
        similarities: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        what = f"{kwargs.get('name', 'custom')}/{kwargs.get('split', 'test')}"
        table = inputs.format_table(pairs, "anchor_positive", self.task, what)
        anchors, positives = table["text_a"], table["text_b"]
        ones = np.ones(len(anchors), dtype=np.int64)
        super().__init__(PairData(anchors, positives, ones), similarities=similarities or (), **kwargs)
        self.retrieval_chunk_size = retrieval_chunk_size
        self.queries, self.corpus, self.query_ids, self.relevant = paired_queries(anchors, positives)
        if len(self.query_ids) == 0:
            raise NoQueriesError(f"{self.name}/{self.split}: every pair is a text with itself: no queries")

    def n_candidates(self) -> int:
        """The distinct positives (a query that is one of them is not its own candidate)."""
        return len(self.corpus)
