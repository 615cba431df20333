"""Encode each unique text once and score sentence pairs with every similarity function.

The model is duck-typed: anything with
``encode(texts: list[str], batch_size: int = 32, show_progress_bar: bool = False) -> (N, D)``
works (numpy array or torch tensor). :func:`encode_pairs` encodes the distinct texts of several
sets of pairs (e.g. test and dev) in one call and scores every set.

:func:`encode_pairs` is where every evaluator's pairs get their scores, so it is also where a cross-encoder
(``predict`` and no ``encode``, :mod:`textsiam.evaluation.cross_encoding`) takes another path: each distinct pair
is scored once by ``model.predict``, under the one score name ``cross_encoder``, and there are no embeddings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textsiam.evaluation.cross_encoding import CROSS_ENCODER, cross_encoder_scores, is_cross_encoder
from textsiam.model.scoring import pairwise_similarity

logger = logging.getLogger(__name__)


def model_name(model: Any) -> str | None:
    """Best-effort name of a model for records: ``name_or_path``, else the class name."""
    name = getattr(model, "name_or_path", None)
    if name:
        return str(name)
    return type(model).__name__ if model is not None else None


def encode_unique(
    model: Any,
    texts: Sequence[str],
    batch_size: int = 32,
    show_progress_bar: bool = False,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Encode every distinct text of ``texts`` exactly once.

    Args:
        model: object with an ``encode`` method (see module docstring).
        texts: texts, possibly with repeats.
        batch_size: forwarded to ``model.encode``.
        show_progress_bar: forwarded to ``model.encode``.

    Returns:
        ``(unique_texts, embeddings, inverse)``: the distinct texts in first-seen order, their
        ``(U, D)`` float32 embeddings, and an int64 array with ``embeddings[inverse[i]]`` being
        the embedding of ``texts[i]``.

    Raises:
        ValueError: the model is a cross-encoder (it has no embeddings), or it returned the wrong shape or
            non-finite values.
    """
    if is_cross_encoder(model):
        raise ValueError(f"{model_name(model)!r} is a cross-encoder: it scores pairs and has no embeddings to encode")
    texts = [str(t) for t in texts]
    row_of: dict[str, int] = {}
    inverse = np.fromiter((row_of.setdefault(t, len(row_of)) for t in texts), dtype=np.int64, count=len(texts))
    unique = list(row_of)
    logger.info("encoding %d unique texts (%d total)", len(unique), len(texts))
    emb = model.encode(unique, batch_size=batch_size, show_progress_bar=show_progress_bar)
    if hasattr(emb, "detach"):
        emb = emb.detach().cpu().numpy()
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != len(unique):
        raise ValueError(f"model.encode returned shape {emb.shape} for {len(unique)} texts; expected (N, D)")
    if not np.all(np.isfinite(emb)):
        bad = int((~np.isfinite(emb).all(axis=1)).sum())
        raise ValueError(f"model.encode returned NaN/inf embeddings for {bad} of {len(unique)} texts")
    return unique, emb, inverse


def pair_scores(
    embeddings: np.ndarray,
    idx_a: np.ndarray,
    idx_b: np.ndarray,
    similarities: Iterable[str],
    chunk_size: int = 8192,
) -> dict[str, np.ndarray]:
    """Score pairs ``(embeddings[idx_a[i]], embeddings[idx_b[i]])`` with each similarity function.

    Works in chunks of ``chunk_size`` pairs to bound memory. Higher always means more similar.

    Returns:
        ``{similarity_name: (N,) float64 scores}``.
    """
    idx_a = np.asarray(idx_a, dtype=np.int64)
    idx_b = np.asarray(idx_b, dtype=np.int64)
    if idx_a.shape != idx_b.shape or idx_a.ndim != 1:
        raise ValueError(f"idx_a and idx_b must be 1-D of equal length, got {idx_a.shape} and {idx_b.shape}")
    out: dict[str, np.ndarray] = {}
    for name in similarities:
        scores = np.empty(len(idx_a), dtype=np.float64)
        for start in range(0, len(idx_a), chunk_size):
            sl = slice(start, start + chunk_size)
            scores[sl] = pairwise_similarity(embeddings[idx_a[sl]], embeddings[idx_b[sl]], name)
        out[name] = scores
    return out


@dataclass(frozen=True)
class EncodedPairs:
    """The output of :func:`encode_pairs`.

    Attributes:
        texts: the distinct texts of all sets, in first-seen order.
        embeddings: their ``(U, D)`` float32 embeddings; ``None`` for a cross-encoder.
        scores: for each set of pairs, ``{similarity_name: (N,) float64 scores}`` (``{"cross_encoder": ...}`` for
            a cross-encoder).
        cross_encoder: for a cross-encoder, how its scores were made (``num_labels``, ``score``, for the record);
            ``None`` for a twin tower.
    """

    texts: list[str]
    embeddings: np.ndarray | None
    scores: list[dict[str, np.ndarray]]
    cross_encoder: dict[str, Any] | None = None

    def embeddings_of(self, texts: Sequence[str]) -> np.ndarray:
        """The embeddings of ``texts`` (each must be one of :attr:`texts`), in their order.

        Raises:
            ValueError: the scores came from a cross-encoder, which has no embeddings.
        """
        if self.embeddings is None:
            raise ValueError("these pairs were scored by a cross-encoder: there are no embeddings")
        row_of = {t: i for i, t in enumerate(self.texts)}
        return self.embeddings[np.fromiter((row_of[t] for t in texts), dtype=np.int64, count=len(texts))]


def encode_pairs(
    model: Any,
    pair_sets: Sequence[tuple[Sequence[str], Sequence[str]]],
    similarities: Iterable[str],
    batch_size: int = 32,
    show_progress_bar: bool = False,
    *,
    positive_label: int | str | None = None,
) -> EncodedPairs:
    """Encode the distinct texts of all ``pair_sets`` in one ``model.encode`` call and score each set.

    A cross-encoder (:func:`~textsiam.evaluation.cross_encoding.is_cross_encoder`) is not encoded: every distinct
    pair of all sets is scored once by its ``predict`` (:func:`predict_pairs`), whatever ``similarities`` say.

    Args:
        model: object with an ``encode`` method (see module docstring), or a cross-encoder.
        pair_sets: ``(text_a, text_b)`` column pairs of equal length, e.g. a test and a dev split.
        similarities: similarity functions to score every pair with (not used for a cross-encoder).
        batch_size: forwarded to ``model.encode`` (``model.predict``).
        show_progress_bar: forwarded to ``model.encode`` (``model.predict``).
        positive_label: a cross-encoder of several labels: the label whose probability is the score (see
            :func:`~textsiam.evaluation.cross_encoding.positive_label_index`).

    Returns:
        :class:`EncodedPairs` with one score dict per set, in the order of ``pair_sets``.
    """
    if is_cross_encoder(model):
        return predict_pairs(model, pair_sets, batch_size, show_progress_bar, positive_label=positive_label)
    texts: list[str] = []
    for a, b in pair_sets:
        texts += [*a, *b]
    unique, emb, inverse = encode_unique(model, texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
    sims = list(similarities)
    scores: list[dict[str, np.ndarray]] = []
    offset = 0
    for a, _ in pair_sets:
        n = len(a)
        scores.append(pair_scores(emb, inverse[offset : offset + n], inverse[offset + n : offset + 2 * n], sims))
        offset += 2 * n
    return EncodedPairs(unique, emb, scores)


def predict_pairs(
    model: Any,
    pair_sets: Sequence[tuple[Sequence[str], Sequence[str]]],
    batch_size: int = 32,
    show_progress_bar: bool = False,
    *,
    positive_label: int | str | None = None,
) -> EncodedPairs:
    """Score the distinct pairs of all ``pair_sets`` with one cross-encoder ``predict`` call.

    A pair is ``(text_a, text_b)`` in this order (a cross-encoder need not be symmetric); one that occurs in
    several sets, or several times, is scored once.

    Returns:
        :class:`EncodedPairs` without embeddings: ``scores`` holds ``{"cross_encoder": (N,) float64}`` per set,
        ``texts`` the distinct texts (for the record's ``n_unique_texts``), ``cross_encoder`` how the scores were
        made (:func:`~textsiam.evaluation.cross_encoding.cross_encoder_scores`).
    """
    row_of: dict[tuple[str, str], int] = {}
    rows: list[np.ndarray] = []
    texts: dict[str, None] = {}
    for a, b in pair_sets:
        if len(a) != len(b):
            raise ValueError(f"length mismatch: {len(a)} first texts, {len(b)} second texts")
        pairs = [(str(x), str(y)) for x, y in zip(a, b, strict=True)]
        rows.append(np.fromiter((row_of.setdefault(p, len(row_of)) for p in pairs), dtype=np.int64, count=len(pairs)))
        texts.update(dict.fromkeys(t for p in pairs for t in p))
    unique = list(row_of)
    logger.info("scoring %d unique pairs (%d total)", len(unique), sum(len(r) for r in rows))
    scores, info = cross_encoder_scores(
        model,
        [p[0] for p in unique],
        [p[1] for p in unique],
        batch_size=batch_size,
        show_progress_bar=show_progress_bar,
        positive_label=positive_label,
    )
    return EncodedPairs(list(texts), None, [{CROSS_ENCODER: scores[r]} for r in rows], cross_encoder=info)
