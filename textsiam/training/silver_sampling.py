"""Sampling silver pairs from the training texts (or another pool, :mod:`.silver_texts`): which new pairs the
teacher of the teacher pipeline labels.

Thakur et al. (*Augmented SBERT*, NAACL 2021) found that random pairs of the training sentences are mostly
unrelated, so a teacher's labels on them teach little; pairs of *neighbours* do better. Each strategy pairs every
distinct training text (both columns) with its top partners:

* ``bm25``: the texts with the highest BM25 score for it as a query (lexical overlap; the ``bm25s`` package,
  Lucene's BM25 with k1 = 1.5, b = 0.75, lower-cased words of two letters or more, English stop words left out);
  a partner must share a word with it (score > 0);
* ``nn``: its nearest neighbours by the cosine of the start model's embeddings (semantic overlap; exact, in
  chunks of rows);
* ``random``: seeded random partners.

Each strategy gives a text at most ``per_text`` partners: the best ones that are not the text itself and do not
form a gold pair with it. A pair is kept once, whichever way round and by whichever strategy found it first (the
strategies in the order given); ``max_pairs`` keeps a seeded random subsample. Everything is deterministic for a
given seed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["BM25_SETTINGS", "SilverCandidates", "bm25_neighbours", "distinct_texts", "nn_neighbours", "sample_pairs"]

#: The BM25 variant and tokenisation (recorded in ``silver.json``).
BM25_SETTINGS: dict[str, object] = {"method": "lucene", "k1": 1.5, "b": 0.75, "stopwords": "en", "lower": True}
#: Rows of the similarity matrix computed at once by :func:`nn_neighbours`.
NN_CHUNK_ROWS = 1024


@dataclass
class SilverCandidates:
    """Sampled pairs (not yet labelled), each with the strategy that found it first.

    Attributes:
        text_a, text_b, strategy: the pairs, in order (strategy by strategy, text by text, best partner first).
        found: pairs per strategy before ``max_pairs``.
        kept: pairs per strategy after it.
        texts: the number of distinct texts they were sampled from.
    """

    text_a: list[str] = field(default_factory=list)
    text_b: list[str] = field(default_factory=list)
    strategy: list[str] = field(default_factory=list)
    found: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    texts: int = 0

    def __len__(self) -> int:
        return len(self.text_a)


def distinct_texts(texts_a: Sequence[str], texts_b: Sequence[str]) -> list[str]:
    """The distinct texts of both columns, in order of first appearance (row by row, ``text_a`` first)."""
    return list(dict.fromkeys(t for pair in zip(texts_a, texts_b, strict=True) for t in pair))


def bm25_neighbours(texts: Sequence[str], depth: int) -> list[list[int]]:
    """For each text, up to ``depth`` other texts by descending BM25 score with it as the query (score > 0 only).

    Raises:
        ImportError: ``bm25s`` is not installed (it is a dependency of textsiam: ``pip install bm25s``).
    """
    try:
        import bm25s
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise ImportError(
            "silver_strategies: bm25 needs the bm25s package (a dependency of textsiam): pip install bm25s"
        ) from err
    n = len(texts)
    if n < 2 or depth < 1:
        return [[] for _ in range(n)]
    tokens = bm25s.tokenize(
        list(texts), lower=True, stopwords=BM25_SETTINGS["stopwords"], show_progress=False, allow_empty=True
    )
    index = bm25s.BM25(k1=BM25_SETTINGS["k1"], b=BM25_SETTINGS["b"], method=BM25_SETTINGS["method"])
    index.index(tokens, show_progress=False)
    k = min(n, depth + 1)  # the text itself is its own best match
    docs, scores = index.retrieve(tokens, k=k, show_progress=False, n_threads=1)
    out = []
    for i in range(n):
        order = np.lexsort((docs[i], -scores[i]))  # best first; ties by index (deterministic)
        out.append([int(docs[i][j]) for j in order if docs[i][j] != i and scores[i][j] > 0][:depth])
    return out


def nn_neighbours(embeddings: np.ndarray, depth: int) -> list[list[int]]:
    """For each row of ``embeddings`` ``(N, D)``, up to ``depth`` other rows by descending cosine similarity."""
    emb = np.asarray(embeddings, dtype=np.float32)
    n = emb.shape[0]
    if n < 2 or depth < 1:
        return [[] for _ in range(n)]
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    emb = emb / np.maximum(norms, 1e-12)
    k = min(n - 1, depth)
    out: list[list[int]] = []
    for start in range(0, n, NN_CHUNK_ROWS):
        sims = emb[start : start + NN_CHUNK_ROWS] @ emb.T  # (B, N)
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = -np.inf  # never a text with itself
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # the k best of each row, unordered
        for r in rows:
            cand = top[r]
            order = np.lexsort((cand, -sims[r, cand]))  # best first; ties by index
            out.append([int(j) for j in cand[order]])
    return out


def _random_partners(n: int, depth: int, rng: np.random.Generator) -> list[list[int]]:
    out = []
    for i in range(n):
        draws = rng.integers(0, n, size=2 * depth + 2).tolist()
        out.append([j for j in dict.fromkeys(draws) if j != i][:depth])
    return out


def sample_pairs(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    strategies: Sequence[str],
    per_text: int,
    max_pairs: int | None = None,
    seed: int = 0,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    pool: Sequence[str] | None = None,
) -> SilverCandidates:
    """New pairs of the distinct texts of the gold pairs ``(texts_a[i], texts_b[i])`` (or of ``pool``), by each
    strategy.

    Args:
        texts_a, texts_b: the gold training pairs (their pairs are never sampled again).
        strategies: ``bm25``, ``nn``, ``random``, in order of precedence.
        per_text: partners per text from each strategy.
        max_pairs: keep a seeded random subsample of this many pairs (``None``: all).
        seed: seeds ``random`` and the subsample.
        embed: ``texts -> (N, D)`` embeddings, for ``nn`` (the start model's ``encode``).
        pool: the distinct texts to pair (:mod:`~textsiam.training.silver_texts`); ``None``: the distinct texts of
            the gold pairs. Gold pairs whose two texts are in the pool are still never sampled.

    Returns:
        :class:`SilverCandidates`.
    """
    texts = distinct_texts(texts_a, texts_b) if pool is None else list(dict.fromkeys(pool))
    n = len(texts)
    index = {t: i for i, t in enumerate(texts)}
    gold_partners: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(texts_a, texts_b, strict=True):
        if a in index and b in index:
            gold_partners[index[a]].add(index[b])
            gold_partners[index[b]].add(index[a])
    depth = per_text + max((len(p) for p in gold_partners), default=0)  # enough to skip the gold partners
    seen = {(min(i, j), max(i, j)) for i in range(n) for j in gold_partners[i]}
    pairs: list[tuple[int, int, str]] = []
    found: dict[str, int] = {}
    for strategy in strategies:
        if strategy == "bm25":
            ranked = bm25_neighbours(texts, depth)
        elif strategy == "nn":
            if embed is None:
                raise ValueError("silver_strategies: nn needs the start model's embeddings (embed=...)")
            ranked = nn_neighbours(np.asarray(embed(texts)), depth) if n > 1 else [[] for _ in range(n)]
        elif strategy == "random":
            ranked = _random_partners(n, depth, np.random.default_rng([seed, 1]))
        else:
            raise ValueError(f"unknown silver strategy {strategy!r}")
        before = len(pairs)
        for i, partners in enumerate(ranked):
            chosen = [j for j in partners if j != i and j not in gold_partners[i]][:per_text]
            for j in chosen:
                key = (min(i, j), max(i, j))
                if key not in seen:
                    seen.add(key)
                    pairs.append((i, j, strategy))
        found[strategy] = len(pairs) - before
    if max_pairs is not None and len(pairs) > max_pairs:
        keep = np.sort(np.random.default_rng([seed, 2]).choice(len(pairs), size=max_pairs, replace=False))
        pairs = [pairs[int(k)] for k in keep]
    kept = {s: 0 for s in strategies}
    for _, _, s in pairs:
        kept[s] += 1
    logger.info(
        "silver pairs sampled from %d distinct texts: %s (%d per text per strategy)%s",
        n,
        ", ".join(f"{s} {kept[s]}" for s in strategies),
        per_text,
        f"; a seeded subsample of {max_pairs} of {sum(found.values())}" if sum(found.values()) > len(pairs) else "",
    )
    return SilverCandidates(
        text_a=[texts[i] for i, _, _ in pairs],
        text_b=[texts[j] for _, j, _ in pairs],
        strategy=[s for _, _, s in pairs],
        found=found,
        kept=kept,
        texts=n,
    )
