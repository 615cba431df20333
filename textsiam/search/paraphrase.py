"""``paraphrase_mining``: the most similar pairs within one list of texts or embeddings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from textsiam.search.inputs import ScoreFunction, as_embeddings, check_int, prepare, score_fn
from textsiam.search.topk import chunk_topk, merge_topk

if TYPE_CHECKING:
    from textsiam.model.siamese import SiameseModel


def paraphrase_mining(
    model: SiameseModel,
    texts: Sequence[str],
    top_k: int = 100,
    max_pairs: int = 500_000,
    batch_size: int = 32,
    show_progress_bar: bool = False,
    score_function: ScoreFunction = "cosine",
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100_000,
    prompt: str | None = None,
    prompt_name: str | None = None,
    truncate_dim: int | None = None,
) -> list[list[float | int]]:
    """The most similar pairs of texts, like sentence-transformers' ``util.paraphrase_mining``.

    Encodes the texts with ``model.encode(texts, convert_to_tensor=True, ...)`` and calls
    :func:`paraphrase_mining_embeddings`.

    Args:
        model: a :class:`textsiam.SiameseModel` (anything with a sentence-transformers style ``encode``).
        texts: the texts (a list of strings).
        top_k, max_pairs, score_function, query_chunk_size, corpus_chunk_size: see
            :func:`paraphrase_mining_embeddings`.
        batch_size, show_progress_bar, prompt, prompt_name, truncate_dim: passed to ``model.encode``.

    Returns:
        ``[score, i, j]`` lists with ``i < j``, by descending score.

    Example:
        >>> from textsiam import SiameseModel
        >>> model = SiameseModel.from_pretrained()  # doctest: +SKIP
        >>> paraphrase_mining(model, ["How do I learn Python?", "Nice weather.", "How can I learn Python?"])[0][1:]
        ... # doctest: +SKIP
        [0, 2]
    """
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"texts must be a list of strings, got an element of type {type(bad).__name__}")
    if not callable(getattr(model, "encode", None)):
        raise TypeError(f"model must have an encode method (a textsiam.SiameseModel), got {type(model).__name__}")
    for value, name in ((top_k, "top_k"), (max_pairs, "max_pairs"), (batch_size, "batch_size")):
        check_int(value, name)
    embeddings = model.encode(
        list(texts),
        batch_size=batch_size,
        show_progress_bar=show_progress_bar,
        convert_to_tensor=True,
        prompt=prompt,
        prompt_name=prompt_name,
        truncate_dim=truncate_dim,
    )
    return paraphrase_mining_embeddings(
        embeddings,
        top_k=top_k,
        max_pairs=max_pairs,
        score_function=score_function,
        query_chunk_size=query_chunk_size,
        corpus_chunk_size=corpus_chunk_size,
    )


@torch.no_grad()
def paraphrase_mining_embeddings(
    embeddings: Any,
    top_k: int = 100,
    max_pairs: int = 500_000,
    score_function: ScoreFunction = "cosine",
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100_000,
) -> list[list[float | int]]:
    """The most similar pairs of rows, like sentence-transformers' ``util.paraphrase_mining_embeddings``.

    Every row ``i`` is scored against every other row; its ``top_k`` best ``j != i`` (ties: the lower ``j``) give
    the candidate pairs ``(min(i, j), max(i, j))``. Each pair is kept once, with the score from the search of its
    smaller index when that search found it (the same score for a symmetric ``score_function``), and the
    ``max_pairs`` best pairs are returned. Memory: about ``query_chunk_size x corpus_chunk_size`` scores plus
    ``max_pairs + query_chunk_size x top_k`` pairs.

    Args:
        embeddings: ``(N, D)`` embeddings (tensor, numpy or list).
        top_k: neighbours taken from each row's search.
        max_pairs: most pairs returned (the best ones; ties by ``i``, then ``j``).
        score_function: a similarity name (default ``"cosine"``) or a callable ``f(a, b) -> (q, c)``; assumed
            symmetric.
        query_chunk_size: rows searched at a time.
        corpus_chunk_size: rows each search scores at a time.

    Returns:
        ``[score, i, j]`` lists with ``i < j``, by descending score (ties by ``i``, then ``j``).

    Example:
        >>> import numpy as np
        >>> emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]], dtype=np.float32)
        >>> [pair[1:] for pair in paraphrase_mining_embeddings(emb, top_k=1)]
        [[0, 2], [1, 2]]
    """
    top_k = check_int(top_k, "top_k")
    max_pairs = check_int(max_pairs, "max_pairs")
    query_chunk_size = check_int(query_chunk_size, "query_chunk_size")
    corpus_chunk_size = check_int(corpus_chunk_size, "corpus_chunk_size")
    name, fn = score_fn(score_function)
    emb = as_embeddings(embeddings, "embeddings")
    n = len(emb)
    if n < 2:
        return []
    emb = prepare(emb, name)
    k = min(top_k, n - 1)
    lo = np.empty(0, dtype=np.int64)
    hi = np.empty(0, dtype=np.int64)
    sc = np.empty(0, dtype=np.float64)
    cutoff = -math.inf  # score of the max_pairs-th best pair so far: candidates below it cannot make the list
    for q0 in range(0, n, query_chunk_size):
        queries = emb[q0 : q0 + query_chunk_size]
        rows = torch.arange(q0, q0 + len(queries), device=emb.device)
        best = None
        for c0 in range(0, n, corpus_chunk_size):
            scores = fn(queries, emb[c0 : c0 + corpus_chunk_size])
            own = (rows >= c0) & (rows < c0 + scores.shape[1])  # a row never pairs with itself
            scores[own.nonzero().squeeze(1), rows[own] - c0] = -math.inf
            best = merge_topk(best, chunk_topk(scores, k, c0), k)
        assert best is not None
        values, ids = best[0].cpu().numpy(), best[1].cpu().numpy()
        i = np.broadcast_to(rows.cpu().numpy()[:, None], ids.shape)
        keep = (values >= cutoff) & (ids != i)
        lo = np.concatenate([lo, np.minimum(i, ids)[keep]])  # earlier searches first: np.unique keeps the first
        hi = np.concatenate([hi, np.maximum(i, ids)[keep]])
        sc = np.concatenate([sc, values[keep]])
        first = np.sort(np.unique(lo * n + hi, return_index=True)[1])
        lo, hi, sc = lo[first], hi[first], sc[first]
        if len(sc) > max_pairs:
            top = np.sort(np.lexsort((hi, lo, -sc))[:max_pairs])
            lo, hi, sc = lo[top], hi[top], sc[top]
            cutoff = float(sc.min())
    order = np.lexsort((hi, lo, -sc))
    return [[s, a, b] for s, a, b in zip(sc[order].tolist(), lo[order].tolist(), hi[order].tolist(), strict=True)]
