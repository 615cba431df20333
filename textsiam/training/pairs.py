"""Building training examples from labelled pairs: pos/neg pairs, duplicate clusters, triplets, hard negatives.

All helpers work on plain lists (``texts_a``, ``texts_b``, ``labels``) and are deterministic given ``seed``.

* :func:`duplicate_clusters`: connected components of the label-1 ("duplicate") pairs.
* :func:`make_pos_neg_pairs`: resample 0/1 pairs to a positives:negatives ratio (random negatives are drawn
  from other clusters when the data holds too few).
* :func:`positive_pairs`: the label-1 pairs, e.g. for MultipleNegativesRankingLoss.
* :func:`triplets_from_clusters`: ``(anchor, positive, negative)`` from each duplicate pair, the negative drawn
  from another cluster.
* :func:`mine_hard_negatives`: for each anchor, the most similar texts under a model that are not its duplicates.
* :func:`silver_pairs`: new pairs of the training sentences, scored by a teacher model (Augmented SBERT).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from textsiam.data.graph import text_components

logger = logging.getLogger(__name__)

__all__ = [
    "duplicate_clusters",
    "make_pos_neg_pairs",
    "mine_hard_negatives",
    "positive_pairs",
    "silver_pairs",
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
    from textsiam.model.scoring import similarity_matrix

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


def silver_pairs(
    teacher: Any,
    sentences: Sequence[str],
    k_nearest: int = 3,
    n_random: int = 1,
    gold: tuple[Sequence[str], Sequence[str], Sequence[Any]] | None = None,
    calibration: str | None = "isotonic",
    seed: int = 0,
    batch_size: int = 64,
    chunk_size: int = 1024,
    show_progress_bar: bool = False,
) -> tuple[list[str], list[str], list[float]]:
    """New sentence pairs scored by a teacher model ("silver" labels, as in Augmented SBERT).

    Thakur et al., *Augmented SBERT: Data Augmentation Method for Improving Bi-Encoders for Pairwise Sentence
    Scoring Tasks*, NAACL 2021: pair up the training sentences, let a stronger model score the new pairs, and
    train the weaker model on gold + silver pairs. Here each distinct sentence is paired with its ``k_nearest``
    most similar other sentences under the teacher (the informative, mostly related pairs) and with
    ``n_random`` random ones (mostly unrelated pairs, so the silver scores cover the whole scale). A pair is
    kept once whichever way round it was drawn, and pairs already in ``gold`` are left out.

    With ``gold`` given, the teacher's similarity is mapped onto the gold label scale by a monotone
    (``calibration="isotonic"``, scikit-learn's :class:`~sklearn.isotonic.IsotonicRegression`) or linear
    (``"linear"``) fit on the gold pairs; ``None`` keeps the raw similarity.

    Args:
        teacher: anything with ``encode(texts, batch_size=..., show_progress_bar=...)`` and optionally
            ``similarity_fn_name`` (default cosine), e.g. a fine-tuned :class:`~textsiam.SiameseModel`.
        sentences: the pool to pair up, e.g. every sentence of the training split (never dev or test).
        k_nearest: nearest neighbours per sentence (0 = none).
        n_random: random partners per sentence (0 = none).
        gold: ``(texts_a, texts_b, labels)`` of the labelled training pairs, for calibration and to skip
            pairs that already have a gold label.
        calibration: ``"isotonic"``, ``"linear"`` or ``None``; needs ``gold`` unless ``None``.
        seed: seeds the random partners.

    Returns:
        ``(texts_a, texts_b, scores)``: the silver pairs (sorted by first appearance of ``text_a``) and their
        scores (on the gold scale when calibrated).

    Example:
        >>> a, b, y = silver_pairs(teacher, train_sentences, gold=(gold_a, gold_b, gold_y))  # doctest: +SKIP
    """
    from textsiam.model.scoring import similarity_matrix

    if k_nearest < 0 or n_random < 0 or k_nearest + n_random == 0:
        raise ValueError(f"k_nearest and n_random must be >= 0 and not both 0, got {k_nearest} and {n_random}")
    if calibration not in ("isotonic", "linear", None):
        raise ValueError(f"calibration must be 'isotonic', 'linear' or None, got {calibration!r}")
    if calibration is not None and gold is None:
        raise ValueError(f"calibration={calibration!r} needs the gold pairs (gold=(texts_a, texts_b, labels))")
    if gold is not None:
        _check_lengths(*gold)
        if not len(gold[0]):
            raise ValueError("gold holds no pairs")
    pool = list(dict.fromkeys(sentences))
    if len(pool) < 2:
        raise ValueError(f"need at least 2 distinct sentences to pair up, got {len(pool)}")
    sim_name = getattr(teacher, "similarity_fn_name", "cosine") or "cosine"
    emb = np.asarray(teacher.encode(pool, batch_size=batch_size, show_progress_bar=show_progress_bar))  # (N, D)
    n = len(pool)
    index = {t: i for i, t in enumerate(pool)}
    seen: set[tuple[int, int]] = set()
    if gold is not None:
        for ta, tb in zip(gold[0], gold[1], strict=True):
            if ta in index and tb in index:
                seen.add((min(index[ta], index[tb]), max(index[ta], index[tb])))
    n_gold_seen = len(seen)
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    scores: list[float] = []
    k = min(k_nearest, n - 1)
    for start in range(0, n, chunk_size):
        block = np.asarray(similarity_matrix(emb[start : start + chunk_size], emb, sim_name), dtype=np.float64)
        for row in range(block.shape[0]):  # (B, N) similarities of this block's sentences to the whole pool
            i = start + row
            s = block[row]
            s_self, s[i] = s[i], -np.inf
            partners = np.argpartition(-s, k)[:k].tolist() if k else []
            partners += rng.integers(0, n, size=n_random).tolist()
            s[i] = s_self
            for j in partners:
                key = (min(i, j), max(i, j))
                if j == i or key in seen:
                    continue
                seen.add(key)
                pairs.append((i, j))
                scores.append(float(s[j]))
    y = np.asarray(scores, dtype=np.float64)
    if calibration is not None and gold is not None:
        gold_scores = _gold_scores(teacher, gold[0], gold[1], index, emb, sim_name, batch_size)
        gold_y = np.asarray([float(v) for v in gold[2]], dtype=np.float64)
        if calibration == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            fit = IsotonicRegression(out_of_bounds="clip").fit(gold_scores, gold_y)
            y = fit.predict(y)
        else:
            from sklearn.linear_model import LinearRegression

            fit = LinearRegression().fit(gold_scores[:, None], gold_y)
            y = np.clip(fit.predict(y[:, None]), gold_y.min(), gold_y.max())
    logger.info(
        "silver pairs: %d from %d sentences (%d nearest + %d random each; %d gold pairs skipped)",
        len(pairs),
        n,
        k,
        n_random,
        n_gold_seen,
    )
    return [pool[i] for i, _ in pairs], [pool[j] for _, j in pairs], y.tolist()


def _gold_scores(
    teacher: Any,
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    index: dict[str, int],
    pool_emb: np.ndarray,
    sim_name: str,
    batch_size: int,
) -> np.ndarray:
    """The teacher's similarity of each gold pair, reusing the pool's embeddings (only other texts are encoded)."""
    from textsiam.model.scoring import pairwise_similarity

    missing = [t for t in dict.fromkeys([*texts_a, *texts_b]) if t not in index]
    row, emb = index, pool_emb  # text -> row of emb; texts outside the pool are appended below
    if missing:
        extra = np.asarray(teacher.encode(missing, batch_size=batch_size, show_progress_bar=False))
        row = {**index, **{t: len(pool_emb) + i for i, t in enumerate(missing)}}
        emb = np.concatenate([pool_emb, extra.astype(pool_emb.dtype, copy=False)])
    ia = np.fromiter((row[t] for t in texts_a), dtype=np.int64, count=len(texts_a))
    ib = np.fromiter((row[t] for t in texts_b), dtype=np.int64, count=len(texts_b))
    return np.asarray(pairwise_similarity(emb[ia], emb[ib], sim_name), dtype=np.float64)
