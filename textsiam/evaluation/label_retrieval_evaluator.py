"""Single texts with a class label: :class:`LabelRetrievalEvaluator` (each text retrieves its class)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, overload

import numpy as np

from textsiam.evaluation import inputs
from textsiam.evaluation.inputs import PairData
from textsiam.evaluation.metrics import TASK_LABEL_RETRIEVAL
from textsiam.evaluation.ranking_evaluator import NoQueriesError, RankingEvaluator
from textsiam.evaluation.retrieval import average_precision, per_query_metrics


class ClassRelevance(Sequence[np.ndarray]):
    """For each query text, the sorted corpus rows of the other texts of its classes, built when read.

    The lists of a table with a few large classes would take ``O(N²)`` memory; this sequence holds the class
    members once (``O(N)``) and gives one query's list at a time, as :func:`rank_relevant` reads them.

    Args:
        query_ids: the corpus row of each query.
        classes: for each corpus row, its classes.
        members: for each class, the sorted corpus rows of its texts.
    """

    def __init__(
        self, query_ids: np.ndarray, classes: Sequence[Sequence[Hashable]], members: dict[Hashable, np.ndarray]
    ) -> None:
        self.query_ids = query_ids
        self.classes = classes
        self.members = members

    def __len__(self) -> int:
        return len(self.query_ids)

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row = int(self.query_ids[index])
        rows = [self.members[c] for c in self.classes[row]]
        together = rows[0] if len(rows) == 1 else np.unique(np.concatenate(rows))
        return together[together != row]


def label_queries(texts: Sequence[str], labels: Sequence[Hashable]) -> tuple[list[str], np.ndarray, ClassRelevance]:
    """The retrieval task of texts with class labels.

    A text listed more than once counts once; a text listed with several labels belongs to each of its classes.

    Returns:
        ``(corpus, query_ids, relevant)``: the distinct texts (first-seen order), the rows of the texts whose
        classes have another text (ascending), and for each of them the sorted rows of the other texts of its
        classes (:class:`ClassRelevance`).
    """
    if len(texts) != len(labels):
        raise ValueError(f"length mismatch: {len(texts)} texts, {len(labels)} labels")
    row_of: dict[str, int] = {}
    classes: list[list[Hashable]] = []
    rows_of: dict[Hashable, list[int]] = {}
    for text, label in zip(texts, labels, strict=True):
        row = row_of.setdefault(text, len(row_of))
        if row == len(classes):
            classes.append([])
        if label not in classes[row]:
            classes[row].append(label)
            rows_of.setdefault(label, []).append(row)
    members = {label: np.array(sorted(rows), dtype=np.int64) for label, rows in rows_of.items()}
    query_ids = np.array(
        [row for row, own in enumerate(classes) if any(len(members[c]) >= 2 for c in own)], dtype=np.int64
    )
    return list(row_of), query_ids, ClassRelevance(query_ids, classes, members)


class LabelRetrievalEvaluator(RankingEvaluator):
    """Find the other texts of each text's class among all texts (single texts with class labels).

    The candidates are all distinct texts but the query; every text whose class holds another text is a query,
    and its relevant candidates are the other texts of its class (:func:`label_queries`). Candidates are ranked
    by similarity, ties pessimistically (a text of another class with the same score ranks first).

    With ``r_1 < ... < r_R`` the ranks of the ``R`` relevant texts, per query: AP = ``(1/R) Σ_k k / r_k``
    (its mean over queries is MAP, over the full ranking); MRR@10 = ``1 / r_1`` if ``r_1 <= 10`` else 0;
    Recall@k = ``|{r <= k}| / R`` (k = 1, 5, 10); nDCG@10 = ``Σ_{r <= 10} 1 / log2(r + 1)`` over the ideal DCG.
    Metrics are means over queries ×100, keys ``{sim}_map``, ``{sim}_mrr@10``, ``{sim}_recall@{1,5,10}``,
    ``{sim}_ndcg@10``. Confidence intervals (percentile bootstrap over queries): every metric of the primary
    similarity.

    Primary metric: ``{primary}_map``, not MRR@10. Here a query has many relevant texts (its whole class), and
    MRR@10 only sees the first of them: it is close to 1-nearest-neighbour accuracy and saturates for any model
    that puts one classmate on top, while MAP scores how the whole class ranks above the other classes. MAP
    (or MAP@R) is the usual figure of retrieval by class label (e.g. Musgrave et al., "A Metric Learning Reality
    Check", 2020); the other metrics are in the record.

    Args:
        pairs: a ``text, label`` table (or ``text_a, label``), rows ``(text, label)`` with numeric labels, or the
            path of such a file (:mod:`textsiam.data.tables`); labels are class names or numbers.
        retrieval_chunk_size: queries per similarity-matrix chunk (memory is chunk × candidates).
        similarities: more similarity functions to rank with (default: the primary one only; each is a full
            ranking pass).
        **kwargs: see :class:`~textsiam.evaluation.base.PairEvaluator`.

    Raises:
        ValueError: not a ``text, label`` table (the message names the format found and its task).
        NoQueriesError: no class holds two distinct texts (a :class:`ValueError`).

    Example:
        >>> texts = {"text": ["I love it", "Great!", "Awful.", "I hate it"], "label": ["pos", "pos", "neg", "neg"]}
        >>> LabelRetrievalEvaluator(texts)(model)["cosine_map"]  # doctest: +SKIP
        100.0
    """

    task = TASK_LABEL_RETRIEVAL
    primary_key = "map"
    row_name = "texts"
    relevance = "same class label"

    def __init__(
        self,
        pairs: Any,
        *,
        retrieval_chunk_size: int = 256,
        similarities: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        what = f"{kwargs.get('name', 'custom')}/{kwargs.get('split', 'test')}"
        table = inputs.format_table(pairs, "single", self.task, what)
        texts, labels = table["text_a"], np.asarray(table["label"])
        super().__init__(PairData(texts, texts, labels), similarities=similarities or (), **kwargs)
        self.labels = labels
        self.retrieval_chunk_size = retrieval_chunk_size
        self.corpus, self.query_ids, self.relevant = label_queries(texts, labels.tolist())
        if len(self.query_ids) == 0:
            raise NoQueriesError(f"{self.name}/{self.split}: no class holds two distinct texts: no queries")

    def query_metrics(self, ranks: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Per-query AP, then the metrics of :func:`~textsiam.evaluation.retrieval.per_query_metrics`."""
        return {"map": average_precision(ranks), **per_query_metrics(ranks)}
