"""Sampling silver pairs for the teacher pipeline (#26): BM25 and nearest-neighbour partners of the training texts,
the cap per text, the exclusions (a text with itself, gold pairs, repeats either way round), the overall seeded cap
and determinism."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from textsiam.training.silver_sampling import (
    bm25_neighbours,
    distinct_texts,
    nn_neighbours,
    sample_pairs,
)

# Words of two letters or more and no English stop words, each at most once per text: BM25 by hand stays simple.
CORPUS = [
    "cat sat mat",
    "cat mat rug floor",
    "dog runs park",
    "dog park grass sunny morning",
    "stocks fell monday",
    "stocks markets fell sharply friday",
    "guitar music concert",
    "cat dog friends",
]


def lucene_bm25(texts: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """``(N, N)`` Lucene BM25 scores, query ``i`` (row) against document ``j`` (column), computed by hand."""
    docs = [t.split() for t in texts]
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    df = Counter(w for d in docs for w in set(d))
    out = np.zeros((n, n))
    for i, query in enumerate(docs):
        for j, doc in enumerate(docs):
            for word in set(query) & set(doc):
                idf = math.log(1 + (n - df[word] + 0.5) / (df[word] + 0.5))
                out[i, j] += idf * (k1 + 1) / (1 + k1 * (1 - b + b * len(doc) / avgdl))
    return out


def test_bm25_neighbours_match_bm25_by_hand():
    scores = lucene_bm25(CORPUS)
    got = bm25_neighbours(CORPUS, depth=3)
    for i, partners in enumerate(got):
        others = sorted((scores[i, j] for j in range(len(CORPUS)) if j != i and scores[i, j] > 0), reverse=True)
        assert i not in partners
        np.testing.assert_allclose([scores[i, j] for j in partners], others[:3], rtol=1e-5)
    assert got[0][0] == 1  # "cat sat mat" -> "cat mat rug floor": two shared words
    assert got[4][0] == 5  # "stocks fell monday" -> "stocks markets fell sharply friday"
    assert got[6] == []  # "guitar music concert" shares no word with any other text


def test_nn_neighbours_are_the_nearest_by_cosine():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 8)).astype(np.float32)
    got = nn_neighbours(emb, depth=4)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    for i, partners in enumerate(got):
        assert partners == np.argsort(-sims[i], kind="stable")[:4].tolist()


def _gold() -> tuple[list[str], list[str]]:
    return ["cat sat mat", "dog runs park", "stocks fell monday", "guitar music concert"], [
        "cat mat rug floor",
        "dog park grass sunny morning",
        "stocks markets fell sharply friday",
        "cat dog friends",
    ]


def _fake_embed(texts: list[str]) -> np.ndarray:
    """Bag-of-words embeddings of the toy corpus (so that nn neighbours share words, like BM25's)."""
    vocab = sorted({w for t in CORPUS for w in t.split()})
    return np.array([[float(w in t.split()) for w in vocab] for t in texts]) + 0.01


def test_sampled_pairs_exclude_self_gold_and_repeats_and_respect_the_cap():
    a, b = _gold()
    cands = sample_pairs(a, b, ["bm25", "nn", "random"], per_text=2, seed=0, embed=_fake_embed)
    gold = {frozenset(p) for p in zip(a, b, strict=True)}
    pairs = list(zip(cands.text_a, cands.text_b, strict=True))
    assert pairs, "no pair sampled"
    assert all(x != y for x, y in pairs)
    assert not {frozenset(p) for p in pairs} & gold
    assert len({frozenset(p) for p in pairs}) == len(pairs)  # no repeats, either way round
    for strategy in ("bm25", "nn", "random"):  # the first text of a pair is the text whose partner it is
        queries = Counter(x for x, s in zip(cands.text_a, cands.strategy, strict=True) if s == strategy)
        assert max(queries.values(), default=0) <= 2
    assert cands.texts == len(distinct_texts(a, b)) == 8
    assert cands.found == cands.kept and sum(cands.kept.values()) == len(cands)
    assert set(cands.strategy) <= {"bm25", "nn", "random"}


def test_gold_partners_are_skipped_not_counted_against_the_cap():
    a, b = _gold()
    cands = sample_pairs(a, b, ["bm25"], per_text=1, seed=0)
    found = dict(zip(cands.text_a, cands.text_b, strict=True))
    # "cat sat mat"'s best BM25 partner is its gold partner "cat mat rug floor": the next best one is taken instead
    assert found["cat sat mat"] == "cat dog friends"


def test_the_first_strategy_that_finds_a_pair_keeps_it():
    a, b = _gold()
    bm25_first = sample_pairs(a, b, ["bm25", "nn"], per_text=2, seed=0, embed=_fake_embed)
    nn_first = sample_pairs(a, b, ["nn", "bm25"], per_text=2, seed=0, embed=_fake_embed)
    assert {frozenset(p) for p in zip(bm25_first.text_a, bm25_first.text_b, strict=True)} == {
        frozenset(p) for p in zip(nn_first.text_a, nn_first.text_b, strict=True)
    }
    assert bm25_first.kept["bm25"] > nn_first.kept["bm25"]


def test_sampling_is_deterministic_given_the_seed_and_the_overall_cap_subsamples():
    a, b = _gold()
    one = sample_pairs(a, b, ["bm25", "random"], per_text=3, seed=5)
    two = sample_pairs(a, b, ["bm25", "random"], per_text=3, seed=5)
    other = sample_pairs(a, b, ["bm25", "random"], per_text=3, seed=6)
    assert (one.text_a, one.text_b, one.strategy) == (two.text_a, two.text_b, two.strategy)
    assert (one.text_a, one.text_b) != (other.text_a, other.text_b)
    capped = sample_pairs(a, b, ["bm25", "random"], per_text=3, max_pairs=5, seed=5)
    assert len(capped) == 5 and sum(capped.kept.values()) == 5 and capped.found == one.found
    full = list(zip(one.text_a, one.text_b, strict=True))
    kept = list(zip(capped.text_a, capped.text_b, strict=True))
    assert [p for p in full if p in kept] == kept  # a subset, in the same order
    again = sample_pairs(a, b, ["bm25", "random"], per_text=3, max_pairs=5, seed=5)
    assert list(zip(again.text_a, again.text_b, strict=True)) == kept


def test_nn_needs_embeddings():
    a, b = _gold()
    with pytest.raises(ValueError, match="nn needs the start model's embeddings"):
        sample_pairs(a, b, ["nn"], per_text=1)


def test_a_pool_of_other_texts_is_paired_and_gold_pairs_in_it_are_still_skipped():
    a, b = _gold()
    pool = ["cat sat mat", "cat mat rug floor", "cat sat rug", "cat naps mat", "dog park bench"]  # two gold texts
    cands = sample_pairs(a, b, ["bm25"], per_text=1, seed=0, pool=pool)
    pairs = {frozenset(p) for p in zip(cands.text_a, cands.text_b, strict=True)}
    assert cands.texts == 5 and all(t in pool for p in pairs for t in p)  # only texts of the pool
    assert frozenset(("cat sat mat", "cat mat rug floor")) not in pairs  # a gold pair, although both are in the pool
    assert dict(zip(cands.text_a, cands.text_b, strict=True))["cat sat mat"] in {"cat sat rug", "cat naps mat"}
