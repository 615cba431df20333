"""Building training examples from labelled pairs: pos/neg pairs, duplicate clusters, triplets, hard negatives.

All helpers work on plain lists (``texts_a``, ``texts_b``, ``labels``) and are deterministic given ``seed``.

* :func:`duplicate_clusters`: connected components of the label-1 ("duplicate") pairs.
* :func:`make_pos_neg_pairs`: resample 0/1 pairs to a positives:negatives ratio (random negatives are drawn
  from other clusters when the data holds too few).
* :func:`positive_pairs`: the label-1 pairs, e.g. for MultipleNegativesRankingLoss.
* :func:`triplets_from_clusters`: ``(anchor, positive, negative)`` from each duplicate pair, the negative drawn
  from another cluster.
* :func:`mine_hard_negatives`: for each anchor, the most similar texts under a model that are not its duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from textsiam.graph import text_components

logger = logging.getLogger(__name__)

__all__ = [
    "duplicate_clusters",
    "make_pos_neg_pairs",
    "mine_hard_negatives",
    "positive_pairs",
    "triplets_from_clusters",
]


def _check_lengths(texts_a: Sequence[str], texts_b: Sequence[str], labels: Sequence[Any]) -> None:
    if not len(texts_a) == len(texts_b) == len(labels):
        raise ValueError(
            f"texts_a, texts_b and labels must have the same length, got {len(texts_a)}, {len(texts_b)}, {len(labels)}"
        )


def _is_positive(label: Any) -> bool:
    value = float(label)
    if value not in (0.0, 1.0):
        raise ValueError(f"expected 0/1 labels, got {label!r}; binarize graded scores first")
    return value == 1.0


def duplicate_clusters(texts_a: Sequence[str], texts_b: Sequence[str], labels: Sequence[Any]) -> dict[str, int]:
    """Cluster id of every text: texts joined by a label-1 pair (directly or through others) share an id.

    Texts that appear only in label-0 pairs get a cluster of their own. Ids are ``0, 1, ...`` in the order
    in which a cluster's first text appears (``text_a`` before ``text_b``, row by row).

    Example:
        >>> duplicate_clusters(["a", "b", "c"], ["b", "c", "d"], [1, 1, 0])
        {'a': 0, 'b': 0, 'c': 0, 'd': 1}
    """
    _check_lengths(texts_a, texts_b, labels)
    nodes, component = text_components(texts_a, texts_b, [_is_positive(y) for y in labels])
    return dict(zip(nodes, component.tolist(), strict=True))


def positive_pairs(
    texts_a: Sequence[str], texts_b: Sequence[str], labels: Sequence[Any]
) -> tuple[list[str], list[str]]:
    """The label-1 pairs as ``(anchors, positives)``, in input order."""
    _check_lengths(texts_a, texts_b, labels)
    keep = [i for i, y in enumerate(labels) if _is_positive(y)]
    return [texts_a[i] for i in keep], [texts_b[i] for i in keep]


def _random_other_cluster(
    rng: np.random.Generator, text: str, texts: list[str], cluster: Mapping[str, int], tries: int = 100
) -> str | None:
    """A random text of ``texts`` whose cluster differs from ``text``'s (``None`` if none found)."""
    own = cluster[text]
    for _ in range(tries):
        cand = texts[int(rng.integers(len(texts)))]
        if cluster[cand] != own:
            return cand
    others = [t for t in texts if cluster[t] != own]  # rare: almost everything is in one cluster
    return others[int(rng.integers(len(others)))] if others else None


def make_pos_neg_pairs(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    labels: Sequence[Any],
    pos_neg_ratio: float = 1.0,
    seed: int = 0,
) -> tuple[list[str], list[str], list[int]]:
    """Resample 0/1-labelled pairs to ``positives : negatives = pos_neg_ratio``.

    All positive pairs are kept. With more negatives than needed, a seeded random subset is kept; with fewer,
    extra negatives are made by pairing a positive pair's ``text_a`` with a random text of another duplicate
    cluster. The result is shuffled (seeded).

    Returns:
        ``(texts_a, texts_b, labels)`` with int 0/1 labels.
    """
    _check_lengths(texts_a, texts_b, labels)
    if pos_neg_ratio <= 0:
        raise ValueError(f"pos_neg_ratio must be > 0, got {pos_neg_ratio}")
    rng = np.random.default_rng(seed)
    pos = [i for i, y in enumerate(labels) if _is_positive(y)]
    neg = [i for i, y in enumerate(labels) if not _is_positive(y)]
    if not pos:
        raise ValueError("no positive (label 1) pairs to build pairs from")
    want_neg = max(1, int(round(len(pos) / pos_neg_ratio)))
    a = [texts_a[i] for i in pos]
    b = [texts_b[i] for i in pos]
    y = [1] * len(pos)
    if len(neg) >= want_neg:
        chosen = sorted(rng.choice(len(neg), size=want_neg, replace=False).tolist())
        a += [texts_a[neg[i]] for i in chosen]
        b += [texts_b[neg[i]] for i in chosen]
        y += [0] * want_neg
    else:
        a += [texts_a[i] for i in neg]
        b += [texts_b[i] for i in neg]
        y += [0] * len(neg)
        cluster = duplicate_clusters(texts_a, texts_b, labels)
        all_texts = list(cluster)
        existing = set(zip(a, b, strict=True))
        missing = want_neg - len(neg)
        attempts = 0
        while missing > 0 and attempts < 20 * want_neg:
            attempts += 1
            anchor = texts_a[pos[int(rng.integers(len(pos)))]]
            other = _random_other_cluster(rng, anchor, all_texts, cluster)
            if other is None or (anchor, other) in existing:
                continue
            existing.add((anchor, other))
            a.append(anchor)
            b.append(other)
            y.append(0)
            missing -= 1
        if missing:
            logger.warning("could only build %d of %d negative pairs", want_neg - missing, want_neg)
    perm = rng.permutation(len(a))
    logger.info("pairs resampled to %d positives : %d negatives", y.count(1), y.count(0))
    return [a[i] for i in perm], [b[i] for i in perm], [y[i] for i in perm]


def triplets_from_clusters(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    labels: Sequence[Any],
    seed: int = 0,
    negatives: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """``(anchor, positive, negative)`` triplets: one per label-1 pair, the negative from another cluster.

    Clusters are the connected components of the label-1 pairs (:func:`duplicate_clusters`); the negative of
    ``(a, p)`` is a seeded random text outside ``a``'s cluster (which may be a text seen only in label-0
    pairs), or ``negatives[a][0]`` when a mined negative for ``a`` is given.

    Raises:
        ValueError: no label-1 pairs, or every text is in one cluster (no negative exists).
    """
    _check_lengths(texts_a, texts_b, labels)
    cluster = duplicate_clusters(texts_a, texts_b, labels)
    if len(set(cluster.values())) < 2:
        raise ValueError("all texts are in one duplicate cluster: no negatives to build triplets from")
    all_texts = list(cluster)
    rng = np.random.default_rng(seed)
    anchors, positives, negs = [], [], []
    for a, b, y in zip(texts_a, texts_b, labels, strict=True):
        if not _is_positive(y):
            continue
        mined = negatives.get(a) if negatives is not None else None
        neg = mined[0] if mined else _random_other_cluster(rng, a, all_texts, cluster)
        if neg is None:  # pragma: no cover - excluded by the cluster check above
            continue
        anchors.append(a)
        positives.append(b)
        negs.append(neg)
    if not anchors:
        raise ValueError("no positive (label 1) pairs to build triplets from")
    return anchors, positives, negs


def mine_hard_negatives(
    model: Any,
    anchors: Sequence[str],
    candidates: Sequence[str],
    exclude: Mapping[str, set[str]] | None = None,
    clusters: Mapping[str, int] | None = None,
    k: int = 1,
    batch_size: int = 64,
    chunk_size: int = 1024,
    show_progress_bar: bool = False,
) -> dict[str, list[str]]:
    """For each distinct anchor, the ``k`` candidates the model scores most similar that are not its duplicates.

    A candidate is skipped for an anchor if it is the anchor itself, is in ``exclude[anchor]`` (e.g. its
    positives), or shares the anchor's cluster in ``clusters`` (e.g. :func:`duplicate_clusters`).

    Args:
        model: anything with ``encode(texts, batch_size=..., show_progress_bar=...)`` and optionally
            ``similarity_fn_name`` (default cosine), e.g. a :class:`~textsiam.SiameseModel`.
        anchors: texts to find negatives for.
        candidates: the pool of possible negatives.
        k: negatives per anchor (fewer if the pool runs out).

    Returns:
        ``{anchor: [negative, ...]}`` with the most similar first.
    """
    from textsiam.similarity import similarity_matrix

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    uniq_anchors = list(dict.fromkeys(anchors))
    pool = list(dict.fromkeys(candidates))
    if not uniq_anchors or not pool:
        return {a: [] for a in uniq_anchors}
    sim_name = getattr(model, "similarity_fn_name", "cosine") or "cosine"
    emb_a = np.asarray(model.encode(uniq_anchors, batch_size=batch_size, show_progress_bar=show_progress_bar))
    emb_c = np.asarray(model.encode(pool, batch_size=batch_size, show_progress_bar=show_progress_bar))
    pool_index = {t: i for i, t in enumerate(pool)}
    cluster_of_pool = None
    if clusters is not None:
        cluster_of_pool = np.array([clusters.get(t, -1 - i) for i, t in enumerate(pool)])  # unknown: own cluster
    out: dict[str, list[str]] = {}
    depth = min(len(pool), k + 16)
    for start in range(0, len(uniq_anchors), chunk_size):
        block = uniq_anchors[start : start + chunk_size]
        scores = np.asarray(similarity_matrix(emb_a[start : start + len(block)], emb_c, sim_name), dtype=np.float64)
        for row, anchor in enumerate(block):
            s = scores[row]
            banned = {pool_index[anchor]} if anchor in pool_index else set()
            if exclude is not None:
                banned |= {pool_index[t] for t in exclude.get(anchor, ()) if t in pool_index}
            if cluster_of_pool is not None and anchor in clusters:  # type: ignore[operator]
                banned |= set(np.flatnonzero(cluster_of_pool == clusters[anchor]).tolist())  # type: ignore[index]
            chosen: list[str] = []
            d = depth
            while True:
                top = np.argsort(-s, kind="stable")[:d]
                chosen = [pool[i] for i in top if int(i) not in banned][:k]
                if len(chosen) == k or d >= len(pool):
                    break
                d = min(len(pool), 4 * d)
            out[anchor] = chosen
    logger.info("mined hard negatives for %d anchors from %d candidates", len(out), len(pool))
    return out
