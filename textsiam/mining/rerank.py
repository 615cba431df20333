"""Re-ranking mined pairs with a cross-encoder: the twin tower finds the candidates, the cross-encoder orders them.

A twin tower embeds every text once, so mining millions of texts is cheap, but it scores two texts without reading
them together. A cross-encoder (:class:`textsiam.model.cross_encoder.CrossEncoder`) reads both texts of a pair at
once: better scores, at the cost of one forward pass per *pair*. :func:`rerank_pairs` spends that cost on the
candidates a mining run found only (:func:`~textsiam.mining.mine_duplicates` or
:func:`~textsiam.mining.mine_embeddings`): every candidate pair is scored by the cross-encoder, ``chunk_size`` pairs
at a time, and the pairs are sorted by that score (ties keep the twin tower's order) and, with ``threshold``,
filtered by it. The twin tower's scores stay in ``scores``; the cross-encoder's are ``rerank_scores``.

With ``twin_weight`` > 0 the order mixes in the twin tower (:func:`fuse_scores`): each of the two scores is
standardised over the candidates (z-scores), and the pairs are sorted by ``(1 - w) * z(rerank) + w * z(twin)``
(``fused_scores``). The two models err on different pairs: on the Quora test questions, where an unlabelled pair
counts as a non-duplicate, the cross-encoder alone ranked the mined duplicates far below the twin tower (though
above it among the labelled pairs), and a mix (``w`` = 0.6, chosen on the dev questions) no worse than the twin
tower at any recall level, and better at some (``benchmarks/augsbert_mining_rerank.py``, docs/mining.md).

One score per pair is taken as ``textsiam evaluate`` and ``textsiam rerank`` take it
(:func:`textsiam.evaluation.cross_encoding.cross_encoder_scores`): a head of one label gives its output (a sigmoid
probability by default), a head of several labels the probability of ``positive_label`` (its activated output, for
a head with an activation of its own such as a multi-label sigmoid).

Memory: the texts of the pairs (only those: :func:`pair_texts` keeps nothing else of a text iterable), the pairs'
``(P, 2)`` indices and ``(P,)`` scores, and one chunk of pairs as Python strings at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import numbers
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from textsiam.evaluation.cross_encoding import (
    cross_encoder_scores,
    describe_score,
    is_cross_encoder,
    num_labels_of,
    positive_label_index,
)
from textsiam.mining.args import check_int, check_iterable, iter_texts
from textsiam.mining.pipeline import MiningResult
from textsiam.model.cross_encoder import PROGRESS_MIN_PAIRS

logger = logging.getLogger(__name__)

#: The module whose one INFO line per call of ``cross_encoder_scores`` would repeat for every chunk; a re-ranking
#: logs one line for all of them instead.
SCORING_LOGGER = "textsiam.evaluation.cross_encoding"


def check_reranker(cross_encoder: Any, positive_label: int | str | None = None) -> str:
    """Check that ``cross_encoder`` can re-rank: a cross-encoder, and one score per pair from its head.

    Call it before a long mining run, so that a wrong model or label fails at once rather than after the search.

    Returns:
        How a pair's score is made (e.g. ``"predict() output"``, ``"probability of label 1 (LABEL_1) of 2
        (softmax)"``; for the stats).

    Raises:
        TypeError: not a cross-encoder (no ``predict``, or an ``encode``: a twin tower scores pairs by embeddings).
        ValueError: a head of several labels without a usable ``positive_label`` (the message lists the labels).
    """
    if not is_cross_encoder(cross_encoder):
        raise TypeError(
            f"re-ranking needs a cross-encoder (a model with predict() and no encode(), e.g. "
            f"textsiam.model.cross_encoder.CrossEncoder), got {type(cross_encoder).__name__}"
        )
    n_labels = num_labels_of(cross_encoder)
    if n_labels is None:
        return "predict() output"
    return describe_score(cross_encoder, n_labels, positive_label_index(cross_encoder, n_labels, positive_label))


def check_rerank_threshold(threshold: Any) -> float | None:
    """``None`` (keep every pair) or the threshold as a finite float; ``ValueError`` otherwise."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise ValueError(f"the re-ranking threshold must be a finite number or None, got {threshold!r}")
    return float(threshold)


def check_twin_weight(twin_weight: Any) -> float:
    """The twin tower's weight in a re-ranking order as a float in [0, 1]; ``ValueError`` otherwise."""
    ok = isinstance(twin_weight, numbers.Real) and not isinstance(twin_weight, bool)
    if not ok or not math.isfinite(twin_weight) or not 0.0 <= twin_weight <= 1.0:
        raise ValueError(f"the twin tower's weight in the re-ranking must be a number in [0, 1], got {twin_weight!r}")
    return float(twin_weight)


def standardised(scores: np.ndarray, name: str = "scores") -> np.ndarray:
    """``(scores - mean) / std`` over ``scores`` as float64; all zeros when they do not vary (or are empty).

    Raises:
        ValueError: a NaN or infinite score (named by ``name`` and its index): it would wipe out the whole column.
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return x
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise ValueError(f"{name}[{int(bad[0])}] is {x[bad[0]]}: scores must be finite to be standardised")
    std = float(x.std())
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def fuse_scores(twin_scores: np.ndarray, rerank_scores: np.ndarray, twin_weight: float) -> np.ndarray:
    """The re-ranking order key that mixes the two models: ``(1 - w) * z(rerank) + w * z(twin)``.

    Each score is standardised over the candidates (:func:`standardised`), so neither scale matters (a cosine, a
    probability, a logit); ``w = 0`` orders by the cross-encoder alone, ``w = 1`` by the twin tower alone. The key
    depends on the whole candidate set: the same pair can get another key among other candidates.

    Args:
        twin_scores: ``(P,)`` the twin tower's score of each pair.
        rerank_scores: ``(P,)`` the cross-encoder's score of the same pairs.
        twin_weight: ``w`` in [0, 1].

    Returns:
        ``(P,)`` float64 keys, higher first.

    Raises:
        ValueError: a weight outside [0, 1], arrays of different lengths, or a NaN or infinite score.
    """
    w = check_twin_weight(twin_weight)
    twin, rerank = np.asarray(twin_scores).ravel(), np.asarray(rerank_scores).ravel()
    if twin.shape != rerank.shape:
        raise ValueError(f"twin_scores and rerank_scores must be as long, got {twin.shape[0]} and {rerank.shape[0]}")
    return (1.0 - w) * standardised(rerank, "rerank_scores") + w * standardised(twin, "twin_scores")


def pair_texts(pairs: np.ndarray, n: int, texts: Iterable[str]) -> np.ndarray:
    """The texts of the rows that occur in ``pairs``, read in one pass over ``texts`` (e.g. a file's lines).

    Returns:
        An ``(n,)`` object array: ``texts[i]`` at every row ``i`` of a pair, ``None`` elsewhere (one pointer per
        text; only the strings of the pairs are kept).

    Raises:
        TypeError: a text that is not a string (named by its index).
        ValueError: ``texts`` holds more or fewer than ``n`` texts (not the corpus that was mined).
    """
    needed = np.zeros(n, dtype=bool)
    needed[np.asarray(pairs, dtype=np.int64).ravel()] = True
    out = np.empty(n, dtype=object)
    count = 0
    for i, text in enumerate(iter_texts(texts)):
        if i < n and needed[i]:
            out[i] = text
        count = i + 1
    if count != n:
        raise ValueError(f"texts holds {count} texts, but {n} were mined: re-rank with the texts of the mining run")
    return out


def indexed_texts(texts: Any, n: int, pairs: np.ndarray) -> np.ndarray | Sequence[str]:
    """``texts`` as something to index by row: a list or array as it is (its length checked), any other iterable
    read once into :func:`pair_texts`."""
    listed = isinstance(texts, Sequence) and not isinstance(texts, (str, bytes, bytearray))
    if listed or (isinstance(texts, np.ndarray) and texts.ndim == 1):
        if len(texts) != n:
            raise ValueError(
                f"texts holds {len(texts)} texts, but {n} were mined: re-rank with the texts of the mining run"
            )
        return texts
    check_iterable(texts)
    return pair_texts(pairs, n, texts)


def take(texts: np.ndarray | Sequence[str], rows: np.ndarray) -> list[str]:
    """``[texts[i] for i in rows]``; ``TypeError`` (naming the row) for one that is not a string."""
    picked = texts[rows].tolist() if isinstance(texts, np.ndarray) else [texts[i] for i in rows.tolist()]
    for i, text in zip(rows.tolist(), picked, strict=True):
        if not isinstance(text, str):
            what = "None (use '' for an empty text)" if text is None else type(text).__name__
            raise TypeError(f"texts[{i}] is {what}; expected a string")
    return picked


@contextlib.contextmanager
def one_log_line(name: str = SCORING_LOGGER) -> Iterator[None]:
    """While the block runs, logger ``name`` logs warnings and errors only (its level is restored afterwards)."""
    scoring = logging.getLogger(name)
    before = scoring.level
    scoring.setLevel(max(logging.WARNING, scoring.getEffectiveLevel()))
    try:
        yield
    finally:
        scoring.setLevel(before)


def rerank_pairs(
    result: MiningResult,
    texts: Iterable[str],
    cross_encoder: Any,
    *,
    threshold: float | None = None,
    batch_size: int = 32,
    chunk_size: int = 10_000,
    positive_label: int | str | None = None,
    twin_weight: float = 0.0,
    show_progress_bar: bool | None = None,
) -> MiningResult:
    """Re-score the pairs of a mining run with a cross-encoder, and order them by that score.

    Args:
        result: what :func:`~textsiam.mining.mine_duplicates` or :func:`~textsiam.mining.mine_embeddings` found.
        texts: the mined corpus, row ``i`` the text of row ``i`` of the run: a list (or 1-D object array), or any
            iterable, read once, of which only the texts of the pairs are kept (e.g. the lines of the file).
        cross_encoder: a cross-encoder (:class:`~textsiam.model.cross_encoder.CrossEncoder`, or any object with
            ``predict`` and no ``encode``).
        threshold: keep the pairs whose cross-encoder score is at least this (default: keep all); on the scale of
            the cross-encoder's score (a probability for a sigmoid or a label's softmax).
        batch_size: pairs per forward pass of the cross-encoder.
        chunk_size: pairs scored at a time (bounds the memory of their strings and tokens).
        positive_label: for a head of several labels, the label (index or name) whose probability is the score
            (default label 1 of two; required for three or more).
        twin_weight: the twin tower's weight ``w`` in the order (:func:`fuse_scores`): 0 (the default) orders by
            the cross-encoder alone; above 0 by ``(1 - w) * z(rerank) + w * z(twin)``, the scores standardised over
            the candidates (``fused_scores``). The threshold still applies to the cross-encoder's score.
        show_progress_bar: a tqdm bar over the pairs; ``None``: from
            :data:`~textsiam.model.cross_encoder.PROGRESS_MIN_PAIRS` pairs on.

    Returns:
        A new :class:`~textsiam.mining.MiningResult`: ``pairs`` and ``scores`` (the twin tower's) in descending
        order of ``rerank_scores`` (float32; ties in the twin tower's order), or of ``fused_scores`` with
        ``twin_weight`` > 0, without the pairs whose ``rerank_scores`` is below ``threshold``; the neighbours as
        they were; ``stats`` with ``n_candidates``, ``n_pairs``, ``rerank_threshold``, ``rerank_score`` (how a
        pair's score is made), ``rerank_model``, ``rerank_twin_weight`` and ``rerank_s``.

    Raises:
        TypeError: not a cross-encoder, or a text that is not a string.
        ValueError: a bad argument, ``texts`` of another length than the mined corpus, a head of several labels
            without a usable ``positive_label``, or NaN/inf scores.
    """
    if not isinstance(result, MiningResult):
        raise TypeError(f"result must be a MiningResult of mine_duplicates or mine_embeddings, got {type(result)}")
    how = check_reranker(cross_encoder, positive_label)
    threshold = check_rerank_threshold(threshold)
    twin_weight = check_twin_weight(twin_weight)
    check_int(batch_size, "batch_size")
    check_int(chunk_size, "chunk_size")
    if show_progress_bar is not None and not isinstance(show_progress_bar, bool):
        raise TypeError(f"show_progress_bar must be True, False or None, got {show_progress_bar!r}")
    n = int(result.stats.get("n_texts", result.neighbours.shape[0]))
    pairs = np.asarray(result.pairs, dtype=np.int64)
    source = indexed_texts(texts, n, pairs)
    total = len(pairs)
    rerank_scores = np.empty(total, dtype=np.float32)
    show = total >= PROGRESS_MIN_PAIRS if show_progress_bar is None else show_progress_bar
    t0 = time.perf_counter()
    with one_log_line(), tqdm(total=total, desc="Re-ranking", unit="pair", disable=not show) as bar:
        for start in range(0, total, chunk_size):
            chunk = pairs[start : start + chunk_size]
            scores, _ = cross_encoder_scores(
                cross_encoder,
                take(source, chunk[:, 0]),
                take(source, chunk[:, 1]),
                batch_size=batch_size,
                positive_label=positive_label,
            )
            rerank_scores[start : start + len(chunk)] = scores
            bar.update(len(chunk))
    rerank_s = time.perf_counter() - t0
    fused = fuse_scores(result.scores, rerank_scores, twin_weight) if twin_weight > 0 else None
    key = rerank_scores if fused is None else fused
    order = np.argsort(-key, kind="stable")  # the candidates come best first by the twin tower
    if threshold is not None:
        order = order[rerank_scores[order] >= threshold]
    name = getattr(cross_encoder, "name_or_path", None) or type(cross_encoder).__name__
    logger.info(
        "re-ranked %d candidate pairs with %s in %.1f s (%.2f s per 1,000 candidates)%s",
        total,
        name,
        rerank_s,
        1000 * rerank_s / max(total, 1),
        "" if threshold is None else f"; kept {len(order)} with a re-ranking score >= {threshold:g}",
    )
    stats = {
        **result.stats,
        "n_candidates": total,
        "n_pairs": int(len(order)),
        "rerank_model": str(name),
        "rerank_score": how,
        "rerank_threshold": threshold,
        "rerank_twin_weight": twin_weight,
        "rerank_s": rerank_s,
    }
    return dataclasses.replace(
        result,
        pairs=pairs[order],
        scores=result.scores[order],
        rerank_scores=rerank_scores[order],
        fused_scores=None if fused is None else fused[order].astype(np.float32),
        stats=stats,
    )
