"""``EmbeddingFile.read``: scattered rows in few calls (nearby rows share one read), and the rescoring that uses it.

Rescoring every neighbour of a 1M-line corpus read each row with its own call (10M calls, about a quarter of the
search stage); nearby rows are now read together, so a search chunk's neighbours take a few large reads.
"""

from __future__ import annotations

import numpy as np
import pytest

from textsiam.mining import store as store_module
from textsiam.mining.index import rescore_hits
from textsiam.mining.store import EmbeddingFile


def make_store(tmp_path, precision: str, n: int = 5_000, dim: int = 16) -> EmbeddingFile:
    emb = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    store = EmbeddingFile(tmp_path / "e.bin", precision)
    with open(store.path, "wb") as fh:
        store.append(fh, emb)
    return store


class CountingOpen:
    """Stands in for ``open`` inside the store module and counts the ``readinto`` calls of the files it opens."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, *args, **kwargs):
        counter = self
        fh = open(*args, **kwargs)  # noqa: SIM115 - closed by the wrapper's context manager

        class Counted:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                fh.close()

            def seek(self, *a):
                return fh.seek(*a)

            def readinto(self, buf):
                counter.reads += 1
                return fh.readinto(buf)

        return Counted()


@pytest.mark.parametrize("precision", ["float32", "float16", "int8"])
@pytest.mark.parametrize("window", [64, 1 << 20])
def test_read_returns_the_stored_rows_in_the_given_order(tmp_path, monkeypatch, precision, window):
    monkeypatch.setattr(store_module, "WINDOW_BYTES", window)  # 64 bytes: a window of one to four rows
    store = make_store(tmp_path, precision)
    raw = np.fromfile(store.path, dtype=store.dtype).reshape(store.n, store.dim)
    rng = np.random.default_rng(1)
    for idx in (
        rng.integers(0, store.n, 3_000),  # dense, with repeats
        rng.choice(store.n, 40, replace=False),  # sparse
        np.arange(store.n)[::-1],  # every row, backwards
        np.array([store.n - 1, 0, store.n - 1]),
    ):
        np.testing.assert_array_equal(store.read(idx), raw[idx])
        np.testing.assert_array_equal(store.take(idx), EmbeddingFile.unit(raw[idx]))


def test_nearby_rows_share_a_read_and_far_rows_do_not(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "GAP_BYTES", 4096)
    store = make_store(tmp_path, "int8")  # 16 bytes a row: rows up to 256 apart share a read
    counter = CountingOpen()
    monkeypatch.setattr(store_module, "open", counter, raising=False)
    store.read(np.arange(0, store.n, 7))  # ~700 rows, gaps of 7 rows: one span
    assert counter.reads == 1
    counter.reads = 0
    far = np.arange(0, store.n, 300)  # gaps of 300 rows: one read each
    store.read(far)
    assert counter.reads == len(far)
    counter.reads = 0
    monkeypatch.setattr(store_module, "WINDOW_BYTES", 16 * 1_000)  # 1,000 rows a call at most
    np.testing.assert_array_equal(
        store.read(np.arange(store.n)), np.fromfile(store.path, dtype=np.int8).reshape(-1, 16)
    )
    assert counter.reads == 5


@pytest.mark.parametrize("precision", ["float16", "int8"])
def test_rescore_hits_is_the_cosine_of_the_stored_vectors(tmp_path, precision):
    store = make_store(tmp_path, precision)
    rng = np.random.default_rng(2)
    start, stop = 1_000, 3_500
    queries = store.rows(start, stop)
    ids = rng.integers(0, store.n, size=(stop - start, 11))
    invalid = rng.random(ids.shape) < 0.1
    invalid[5] = True  # a query without any valid hit
    ids[invalid] = -1
    dist = np.full(ids.shape, 7.0, dtype=np.float32)
    got = rescore_hits(store, queries, ids, invalid, dist.copy(), block=256)
    every = store.rows(0, store.n)
    want = np.einsum("qd,qkd->qk", queries, every[np.where(invalid, 0, ids)])
    np.testing.assert_allclose(got[~invalid], want[~invalid], rtol=0, atol=1e-6)
    assert (got[invalid] == 7.0).all()  # invalid hits are left alone
