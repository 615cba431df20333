"""``python -m benchmarks.hnsw_search``: plain HNSW search against search from each row's own node, on a stored file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("faiss")


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("hnsw_search")


def write_store(tmp_path: Path, n: int = 3_000, dim: int = 16) -> Path:
    from textsiam.mining.store import EmbeddingFile

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, dim)).astype(np.float32)
    emb = centres[rng.integers(0, 40, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)
    store = EmbeddingFile(tmp_path / "embeddings.int8.bin", "int8")
    with open(store.path, "wb") as fh:
        store.append(fh, emb)
    return store.path


def test_tie_aware_recall_credits_any_tied_copy(bench: Any, tmp_path: Path) -> None:
    from textsiam.mining.store import EmbeddingFile

    vectors = np.eye(16, dtype=np.float32)
    vectors[:12] = vectors[0]  # rows 0..11 are copies: each has 11 others at 1.0
    path = tmp_path / "e.float32.bin"
    vectors.tofile(path)
    store = EmbeddingFile(path, "float32")
    store.n, store.dim = 16, 16
    sample = np.array([0, 5])
    kth = bench.exact_top(store, sample, bench.TOP_K)[:, bench.TOP_K]
    assert kth.tolist() == [1.0, 1.0]
    found = np.array([[0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11], [5, 11, 10, 9, 8, 7, 6, 4, 12, 13, 14]])
    # row 0: ten copies (any ten of eleven); row 5: seven copies and three orthogonal rows
    assert bench.tie_aware_recall(store, sample, kth, found) == pytest.approx((1.0 + 0.7) / 2)


def test_run_writes_both_searches(bench: Any, tmp_path: Path) -> None:
    path = write_store(tmp_path)
    results = tmp_path / "results"
    argv = ["--embeddings", str(path), "--dim", "16", "--ef-search", "16", "--queries", "400"]
    bench.main([*argv, "--recall-sample", "60", "--repeats", "1", "--results-dir", str(results), "-q"])
    payload = json.loads((results / "hnsw_search.json").read_text(encoding="utf-8"))
    (run,) = payload["runs"]
    assert payload["n"] == 3_000 and payload["factory"] == "HNSW16,SQ8" and run["ef_search"] == 16
    assert 0.5 < run["own_recall"] <= 1 and 0.5 < run["plain_recall"] <= 1 and run["own_s"] > 0
    assert "search_own_rows" in (results / "hnsw_search.md").read_text(encoding="utf-8")
