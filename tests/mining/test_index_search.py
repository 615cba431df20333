"""``search_own_rows``: an HNSW graph searched from each query's own node (faiss ``search_level_0``)."""

from __future__ import annotations

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")

from textsiam.mining.index import faiss_threads, search_own_rows  # noqa: E402


@pytest.fixture(scope="module")
def unit_rows() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((60, 24)).astype(np.float32)
    x = centres[rng.integers(0, 60, 4_000)] + 0.4 * rng.standard_normal((4_000, 24)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recall_at(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found.tolist(), exact.tolist(), strict=True)]))


def test_hnsw_is_searched_from_each_query_s_own_node(unit_rows):
    x = unit_rows
    index = faiss.index_factory(x.shape[1], "HNSW8,Flat", faiss.METRIC_INNER_PRODUCT)
    with faiss_threads(1):
        index.add(x)
        index.hnsw.efSearch = 16
        start, stop, k = 1_000, 1_500, 11
        dist, ids = search_own_rows(index, x[start:stop], start, k)
        _, plain = index.search(x[start:stop], k)
    # the query's own node comes first, at its own score (the entry point is kept, as index.search keeps it)
    np.testing.assert_array_equal(ids[:, 0], np.arange(start, stop))
    np.testing.assert_allclose(dist[:, 0], 1.0, atol=1e-6)
    assert (np.diff(dist, axis=1) <= 1e-6).all()  # best first
    exact = np.argsort(-(x[start:stop] @ x.T), axis=1, kind="stable")[:, 1:k]
    own_recall, plain_recall = recall_at(ids[:, 1:], exact), recall_at(plain[:, 1:], exact)
    assert own_recall >= plain_recall - 0.01 and own_recall > 0.8, (own_recall, plain_recall)
    # scores are the index's inner products
    np.testing.assert_allclose(dist[:, 1:], np.einsum("qd,qkd->qk", x[start:stop], x[ids[:, 1:]]), atol=1e-5)


def test_other_indexes_use_their_own_search(unit_rows):
    index = faiss.index_factory(unit_rows.shape[1], "Flat", faiss.METRIC_INNER_PRODUCT)
    index.add(unit_rows)
    got = search_own_rows(index, unit_rows[:50], 0, 5)
    want = index.search(unit_rows[:50], 5)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
