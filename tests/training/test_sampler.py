"""The seeded, optionally duplicate-free batch sampler."""

from __future__ import annotations

import pytest

from textsiam.training import SiameseBatchSampler


def _examples():
    # 30 pairs over 12 distinct texts: many repeats
    return [(f"t{i % 12}", f"t{(i * 5 + 1) % 12}") for i in range(30)]


def test_no_duplicates_within_a_batch_and_every_example_once():
    ex = _examples()
    s = SiameseBatchSampler(ex, batch_size=4, seed=0, no_duplicates=True)
    for epoch in range(3):
        s.set_epoch(epoch)
        batches = list(s)
        assert len(batches) == len(s)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(len(ex)))
        for b in batches:
            texts = [t for i in b for t in ex[i]]
            assert len(texts) == len(set(texts)), b


def test_deterministic_per_seed_and_epoch():
    ex = _examples()
    a = SiameseBatchSampler(ex, batch_size=4, seed=5, no_duplicates=True)
    b = SiameseBatchSampler(ex, batch_size=4, seed=5, no_duplicates=True)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    a.set_epoch(1)
    assert list(a) == list(b)
    assert list(SiameseBatchSampler(ex, batch_size=4, seed=6, no_duplicates=True)) != list(
        SiameseBatchSampler(ex, batch_size=4, seed=5, no_duplicates=True)
    )


def test_plain_batches_and_drop_last():
    s = SiameseBatchSampler(num_examples=10, batch_size=4, seed=0)
    batches = list(s)
    assert [len(b) for b in batches] == [4, 4, 2] and len(s) == 3
    assert sorted(i for b in batches for i in b) == list(range(10))
    s = SiameseBatchSampler(num_examples=10, batch_size=4, seed=0, drop_last=True)
    assert [len(b) for b in s] == [4, 4]
    assert list(SiameseBatchSampler(num_examples=5, batch_size=2, shuffle=False)) == [[0, 1], [2, 3], [4]]


def test_epoch_listener_and_errors():
    seen = []
    s = SiameseBatchSampler(num_examples=4, batch_size=2)
    s.add_epoch_listener(seen.append)
    s.set_epoch(3)
    assert seen == [3]
    with pytest.raises(ValueError, match="batch_size"):
        SiameseBatchSampler(num_examples=4, batch_size=0)
    with pytest.raises(ValueError, match="texts"):
        SiameseBatchSampler(num_examples=4, no_duplicates=True)
