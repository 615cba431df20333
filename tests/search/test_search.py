"""textsiam.search gives sentence-transformers' util results on the same embeddings; faiss path = exact path."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from textsiam import search
from textsiam.search import semantic

util = pytest.importorskip("sentence_transformers.util")

ATOL = 1e-5
RTOL = 1e-6  # float32 dot products of long vectors (scores ~30) round at ~1e-5


def planted(seed: int = 0, n_clusters: int = 8, size: int = 12, noise: int = 300, dim: int = 32, spread: float = 0.15):
    """Random normal rows plus ``n_clusters`` near-duplicate groups (sizes ``size``, ``size + 1``, ...), shuffled."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))
    rows = [c + spread * rng.normal(size=(size + i, dim)) for i, c in enumerate(centres)]
    rows.append(rng.normal(size=(noise, dim)))
    x = np.concatenate(rows).astype(np.float32)
    return x[rng.permutation(len(x))]


def hits(results):
    return [[(h["corpus_id"], h["score"]) for h in row] for row in results]


def assert_same_hits(ours, theirs, exact_ties_reordered: bool = True):
    """Same ids in the same order, scores within ATOL. sentence-transformers orders exactly equal scores arbitrarily
    (topk + heap); textsiam by corpus_id, so its results are compared after that (stable) reordering."""
    assert len(ours) == len(theirs)
    for mine, ref in zip(hits(ours), hits(theirs), strict=True):
        if exact_ties_reordered:
            ref = sorted(ref, key=lambda h: (-h[1], h[0]))
        assert [i for i, _ in mine] == [i for i, _ in ref]
        np.testing.assert_allclose([s for _, s in mine], [s for _, s in ref], atol=ATOL, rtol=RTOL)
        assert all(isinstance(i, int) and isinstance(s, float) for i, s in mine)


def assert_same_up_to_near_ties(ours, theirs):
    """Scores within tolerance place by place; ids may differ only among scores that close to each other (rounding
    differs between the paths, so nearly equal scores can swap)."""
    for mine, ref in zip(hits(ours), hits(theirs), strict=True):
        np.testing.assert_allclose([s for _, s in mine], [s for _, s in ref], atol=ATOL, rtol=RTOL)
        ref_score = dict(ref)
        kth = ref[-1][1]
        for rank, (i, s) in enumerate(mine):
            if i != ref[rank][0]:
                tol = ATOL + RTOL * abs(s)
                assert i in ref_score and abs(ref_score[i] - s) <= tol or abs(s - kth) <= tol, (rank, i, s)


def assert_same_pairs(ours, theirs):
    """Same pairs in the same order (exact ties: by i, then j, as textsiam orders them), scores within ATOL."""
    theirs = sorted(theirs, key=lambda p: (-p[0], p[1], p[2]))
    assert [p[1:] for p in ours] == [p[1:] for p in theirs]
    np.testing.assert_allclose([p[0] for p in ours], [p[0] for p in theirs], atol=ATOL, rtol=0)
    assert all(i < j for _, i, j in ours)


# ---------------------------------------------------------------------------------------------- semantic search
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"top_k": 1}, {"top_k": 5, "query_chunk_size": 7, "corpus_chunk_size": 33}, {"top_k": 10_000}],
)
def test_semantic_search_matches_sentence_transformers(kwargs):
    x = planted()
    ours = search.semantic_search(x[:40], x, **kwargs)
    assert_same_hits(ours, util.semantic_search(torch.from_numpy(x[:40]), torch.from_numpy(x), **kwargs))
    if kwargs.get("top_k") == 10_000:  # top_k above the corpus size: every row, once
        assert all(sorted(i for i, _ in row) == list(range(len(x))) for row in hits(ours))


@pytest.mark.parametrize(("name", "theirs"), [("cosine", "cos_sim"), ("dot", "dot_score")])
def test_semantic_search_score_functions(name, theirs):
    x = torch.from_numpy(planted(1))
    fn = getattr(util, theirs)
    ref = util.semantic_search(x[:20], x, top_k=7, score_function=fn)
    assert_same_hits(search.semantic_search(x[:20], x, top_k=7, score_function=name), ref)
    assert_same_hits(search.semantic_search(x[:20], x, top_k=7, score_function=fn), ref)  # their callables too


def test_semantic_search_takes_numpy_torch_lists_and_one_query():
    x = planted(2, noise=50)
    ref = search.semantic_search(x[:3], x, top_k=4)
    assert search.semantic_search(torch.from_numpy(x[:3]), torch.from_numpy(x), top_k=4) == ref
    assert search.semantic_search(x[:3].tolist(), list(x), top_k=4) == ref
    one = search.semantic_search(x[1], x, top_k=4)  # a (D,) query: scores to rounding (matrix-vector product)
    assert_same_hits(one, ref[1:2], exact_ties_reordered=False)
    assert one[0][0]["corpus_id"] == 1
    assert_same_hits(one, util.semantic_search(torch.from_numpy(x[1]), torch.from_numpy(x), top_k=4))
    assert search.semantic_search(x[:2], np.empty((0, x.shape[1]), np.float32)) == [[], []]
    big = np.array([[3e38, 3e38], [1.0, 0.0]], dtype=np.float32)  # finite, though its sum overflows
    assert [h["corpus_id"] for h in search.semantic_search(big[1], big, score_function="euclidean")[0]] == [1, 0]
    # float64 in, float64 out: the same neighbours
    assert_same_hits(search.semantic_search(x[:3].astype(np.float64), x.astype(np.float64), top_k=4), ref, False)


def test_semantic_search_other_similarities_rank_by_the_matrix():
    from textsiam.model.scoring import similarity_matrix

    x = planted(3, noise=40)
    for name in ("euclidean", "manhattan"):
        scores = similarity_matrix(x[:5], x, name)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :6]
        got = hits(search.semantic_search(x[:5], x, top_k=6, score_function=name))
        assert [[i for i, _ in row] for row in got] == order.tolist()


def test_semantic_search_ties_lowest_corpus_id_first_whatever_the_chunks():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(10, 16)).astype(np.float32)
    corpus = np.concatenate([base, base, base])  # rows i, i + 10, i + 20 identical
    for kwargs in ({}, {"corpus_chunk_size": 4, "query_chunk_size": 3}, {"exact": False}):
        got = search.semantic_search(base[:5], corpus, top_k=2, **kwargs)
        assert [[h["corpus_id"] for h in row] for row in got] == [[q, q + 10] for q in range(5)]
        got = search.semantic_search(base[:5], corpus, top_k=4, **kwargs)
        assert [[h["corpus_id"] for h in row][:3] for row in got] == [[q, q + 10, q + 20] for q in range(5)]
    # sentence-transformers keeps the same scores, its ids among the tied ones in some order
    ref = hits(util.semantic_search(torch.from_numpy(base[:5]), torch.from_numpy(corpus), top_k=6))
    ours = hits(search.semantic_search(base[:5], corpus, top_k=6))
    for mine, theirs in zip(ours, ref, strict=True):
        np.testing.assert_allclose([s for _, s in mine], [s for _, s in theirs], atol=ATOL)
        assert {i % 10 for i, _ in mine[:3]} == {i % 10 for i, _ in theirs[:3]}


# ---------------------------------------------------------------------------------------------- faiss path
@pytest.mark.parametrize("name", ["cosine", "dot"])
def test_faiss_path_matches_the_exact_path(name, caplog):
    x = planted(5, noise=2000, dim=48)
    q = planted(6, noise=30, dim=48)
    kwargs = {"top_k": 15, "score_function": name, "query_chunk_size": 40, "corpus_chunk_size": 700}
    exact = search.semantic_search(q, x, exact=True, **kwargs)
    with caplog.at_level(logging.INFO, logger="textsiam.search"):
        approx = search.semantic_search(q, x, exact=False, **kwargs)
    assert "IndexFlatIP" in caplog.text
    assert_same_hits(approx, exact, exact_ties_reordered=False)
    deep = {"top_k": 3000, "score_function": name}  # most of the corpus: nearly equal scores may swap
    assert_same_up_to_near_ties(search.semantic_search(q, x, exact=False, **deep), search.semantic_search(q, x, **deep))


def test_large_corpora_take_the_faiss_path(monkeypatch, caplog):
    x = planted(7, noise=100)
    monkeypatch.setattr(semantic, "MAX_EXACT_ROWS", 50)
    with caplog.at_level(logging.INFO, logger="textsiam.search"):
        assert_same_hits(search.semantic_search(x[:5], x), util.semantic_search(torch.from_numpy(x[:5]), x))
        assert "IndexFlatIP" in caplog.text
        caplog.clear()
        search.semantic_search(x[:5], x, score_function="euclidean")  # faiss path is for cosine / dot only
        search.semantic_search(x[:5], x, exact=True)
        assert "IndexFlatIP" not in caplog.text


# ---------------------------------------------------------------------------------------------- paraphrase mining
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"top_k": 3, "max_pairs": 50},
        {"top_k": 5, "query_chunk_size": 17, "corpus_chunk_size": 40},
        {"top_k": 2, "max_pairs": 7, "query_chunk_size": 9, "corpus_chunk_size": 20},
    ],
)
def test_paraphrase_mining_embeddings_matches_sentence_transformers(kwargs):
    x = planted(8)
    ours = search.paraphrase_mining_embeddings(x, **kwargs)
    assert_same_pairs(ours, util.paraphrase_mining_embeddings(torch.from_numpy(x), **kwargs))
    assert len({(i, j) for _, i, j in ours}) == len(ours)  # each pair once
    if "max_pairs" in kwargs:
        assert len(ours) == kwargs["max_pairs"]


def test_paraphrase_mining_dot_and_tiny_inputs():
    x = planted(9, noise=60)
    assert_same_pairs(
        search.paraphrase_mining_embeddings(x, top_k=4, score_function="dot"),
        util.paraphrase_mining_embeddings(torch.from_numpy(x), top_k=4, score_function=util.dot_score),
    )
    assert search.paraphrase_mining_embeddings(x[:1]) == []
    two = search.paraphrase_mining_embeddings(x[:2], top_k=10)
    assert [p[1:] for p in two] == [[0, 1]]
    # exact ties, by i then j: unit basis vectors, whose cosines are exactly 1 and 0 on every CPU (random rows
    # normalised in different blocks of a matmul differ in the last bit on some CPUs, AVX-512 ones among them)
    basis = np.eye(3, x.shape[1], dtype=np.float32)
    dup = np.concatenate([basis, basis])
    assert [p[1:] for p in search.paraphrase_mining_embeddings(dup, top_k=1)] == [[0, 3], [1, 4], [2, 5]]


# ---------------------------------------------------------------------------------------------- communities
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"threshold": 0.9, "min_community_size": 10},
        {"threshold": 0.8, "min_community_size": 3, "batch_size": 64},
        {"threshold": 0.95, "min_community_size": 2, "batch_size": 7},
        {"threshold": 0.2, "min_community_size": 5, "batch_size": 100},  # big, overlapping candidates
    ],
)
def test_community_detection_matches_sentence_transformers(kwargs):
    x = planted(10)
    assert search.community_detection(x, **kwargs) == util.community_detection(x, **kwargs)


def test_community_detection_with_exact_duplicates_and_wide_communities():
    """Exact ties (duplicate rows) and communities over 50 rows (the topk width grows): the same lists, in order."""
    rng = np.random.default_rng(11)
    big = rng.normal(size=(1, 24)) + 0.05 * rng.normal(size=(130, 24))
    dups = np.repeat(rng.normal(size=(4, 24)), [12, 12, 3, 30], axis=0)
    x = np.concatenate([big, dups, rng.normal(size=(80, 24))]).astype(np.float32)
    x = x[rng.permutation(len(x))]
    for kwargs in ({"threshold": 0.9, "min_community_size": 3}, {"threshold": 0.99, "min_community_size": 12}):
        ours = search.community_detection(x, batch_size=50, **kwargs)
        assert ours == util.community_detection(x, batch_size=50, **kwargs)
        assert [len(c) for c in ours] == sorted((len(c) for c in ours), reverse=True)
        flat = [i for c in ours for i in c]
        assert len(flat) == len(set(flat))
    assert search.community_detection(torch.from_numpy(x), 0.9, 3) == search.community_detection(x.tolist(), 0.9, 3)
    assert search.community_detection(x[:2], min_community_size=3) == []
    assert search.community_detection(x, threshold=1.0, min_community_size=1)  # 1 is a cosine: every row alone


@pytest.mark.parametrize(("threshold", "effect"), [(1.5, "no pair can reach it"), (-1.01, "every pair would pass it")])
def test_community_threshold_outside_the_cosine_range_is_refused(threshold, effect):
    """#24: threshold=1.5 returned [] (as in sentence-transformers) where mine_duplicates refuses it: refused too."""
    x = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    message = rf"threshold {threshold:g} is outside \[-1, 1\], the range of cosine similarity: {effect}"
    with pytest.raises(ValueError, match=message):
        search.community_detection(x, threshold=threshold, min_community_size=1)
    from textsiam.mining import mine_embeddings

    with pytest.raises(ValueError, match=message):  # the same words as mining's
        mine_embeddings(x, threshold=threshold)


# ---------------------------------------------------------------------------------------------- real sentences
def quora_questions(n: int = 50) -> list[str]:
    path = Path(os.environ.get("TEXTSIAM_DATA", "")) / "quora" / "dev.tsv"
    if not path.is_file():
        pytest.skip("TEXTSIAM_DATA/quora/dev.tsv is not available")
    texts: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            for q in line.rstrip("\n").split("\t")[1:3]:
                if q not in texts:
                    texts.append(q)
            if len(texts) >= n:
                break
    return texts[:n]


@pytest.fixture(scope="module")
def real(default_model):
    texts = quora_questions()
    return texts, default_model.encode(texts, convert_to_tensor=True)


def test_real_sentences_give_the_same_results(real):
    texts, emb = real
    assert_same_hits(search.semantic_search(emb[:10], emb, top_k=5), util.semantic_search(emb[:10], emb, top_k=5))
    assert_same_pairs(search.paraphrase_mining_embeddings(emb), util.paraphrase_mining_embeddings(emb))
    for threshold, size in ((0.6, 2), (0.75, 2), (0.5, 3)):
        ours = search.community_detection(emb, threshold=threshold, min_community_size=size)
        assert ours == util.community_detection(emb, threshold=threshold, min_community_size=size)
    assert search.community_detection(emb, threshold=0.6, min_community_size=2)  # duplicate questions exist


def test_paraphrase_mining_encodes_with_the_model(real, default_model, default_sentence_transformer):
    texts, _ = real
    ours = search.paraphrase_mining(default_model, texts, top_k=5, max_pairs=40, batch_size=16)
    # sentence-transformers' function with the same textsiam model (its encode takes the same arguments)
    assert_same_pairs(ours, util.paraphrase_mining(default_model, texts, top_k=5, max_pairs=40, batch_size=16))
    # and with sentence-transformers' own model of the same weights: embeddings equal to ~1e-6
    theirs = util.paraphrase_mining(default_sentence_transformer, texts, top_k=5, max_pairs=40)
    assert {(i, j) for _, i, j in ours[:20]} <= {(i, j) for _, i, j in theirs}
    np.testing.assert_allclose([p[0] for p in ours], sorted((p[0] for p in theirs), reverse=True), atol=ATOL)


# ---------------------------------------------------------------------------------------------- validation
X = np.ones((4, 3), dtype=np.float32)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: search.semantic_search(X, X, top_k=0), ValueError, "top_k"),
        (lambda: search.semantic_search(X, X, top_k=2.5), TypeError, "top_k"),
        (lambda: search.semantic_search(X, X, top_k=True), TypeError, "top_k"),
        (lambda: search.semantic_search(X, X, query_chunk_size=-1), ValueError, "query_chunk_size"),
        (lambda: search.semantic_search(X, X, corpus_chunk_size=None), TypeError, "corpus_chunk_size"),
        (lambda: search.semantic_search(X, np.ones((4, 5))), ValueError, "different dimensions: 3 vs 5"),
        (lambda: search.semantic_search(X, np.ones(3)), ValueError, "corpus_embeddings must be 2-D"),
        (lambda: search.semantic_search(np.ones((1, 2, 3)), X), ValueError, "query_embeddings must be 2-D"),
        (lambda: search.semantic_search(X, np.array([["a", "b", "c"]])), TypeError, "numbers"),
        (lambda: search.semantic_search(X, X.astype(bool)), TypeError, "must hold numbers"),
        (lambda: search.semantic_search(X, "abc"), TypeError, "corpus_embeddings must be"),
        (lambda: search.semantic_search(X, [[1.0, 2.0], [1.0]]), ValueError, "different lengths"),
        (lambda: search.semantic_search(X, np.full((2, 3), np.nan)), ValueError, "NaN or infinite"),
        (lambda: search.semantic_search(X, torch.eye(3).to_sparse()), TypeError, "dense"),
        (lambda: search.semantic_search(X, torch.ones(2, 3, dtype=torch.bool)), TypeError, "real numbers"),
        (lambda: search.semantic_search(X, X, score_function="jaccard"), ValueError, "unknown similarity"),
        (lambda: search.semantic_search(X, X, score_function=3), TypeError, "score_function"),
        (lambda: search.semantic_search(X, X, score_function="euclidean", exact=False), ValueError, "faiss"),
        (lambda: search.semantic_search(X, X, exact="yes"), TypeError, "exact"),
        (lambda: search.paraphrase_mining_embeddings(X, max_pairs=0), ValueError, "max_pairs"),
        (lambda: search.paraphrase_mining_embeddings(X[0]), ValueError, "embeddings must be 2-D"),
        (lambda: search.paraphrase_mining(object(), ["a", "b"]), TypeError, "encode"),
        (lambda: search.paraphrase_mining(None, "a text"), TypeError, "list of strings"),
        (lambda: search.paraphrase_mining(None, ["a", 3]), TypeError, "element of type int"),
        (lambda: search.community_detection(X, threshold=math.nan), ValueError, "threshold must be finite"),
        (lambda: search.community_detection(X, threshold="0.7"), TypeError, "threshold"),
        (lambda: search.community_detection(X, min_community_size=0), ValueError, "min_community_size"),
        (lambda: search.community_detection(X, min_community_size=2.0), TypeError, "min_community_size"),
        (lambda: search.community_detection(X, batch_size=0), ValueError, "batch_size"),
        (lambda: search.community_detection(np.ones((2, 2, 2))), ValueError, "embeddings must be 2-D"),
    ],
)
def test_bad_inputs_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_library_does_not_import_sentence_transformers():
    files = sorted(Path(search.__file__).parent.glob("*.py"))
    assert len(files) >= 5
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert "import sentence_transformers" not in text and "from sentence_transformers" not in text, file
