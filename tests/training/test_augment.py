"""Text augmentation: seeded, per-epoch, off by default."""

from __future__ import annotations

import pytest

from textsiam.training import TextAugmenter

TEXT = "the quick brown fox jumps over the lazy dog again and again"


def test_off_by_default_and_identity():
    assert TextAugmenter()(TEXT) == TEXT
    assert not TextAugmenter("delete", prob=0.0).enabled


def test_delete_is_deterministic_and_varies_by_epoch():
    aug = TextAugmenter("delete", prob=0.3, seed=7)
    first = aug(TEXT, epoch=0)
    assert first == TextAugmenter("delete", prob=0.3, seed=7)(TEXT, epoch=0)
    assert len(first.split()) < len(TEXT.split())
    assert set(first.split()) <= set(TEXT.split())
    outs = {aug(TEXT, epoch=e) for e in range(6)}
    assert len(outs) > 1
    assert TextAugmenter("delete", prob=1.0, seed=0)(TEXT) != ""  # at least one word survives


def test_swap_keeps_the_words():
    aug = TextAugmenter("swap", prob=0.2, seed=1)
    out = aug(TEXT, epoch=3, slot=1)
    assert sorted(out.split()) == sorted(TEXT.split())
    assert out != TEXT
    assert out == aug(TEXT, epoch=3, slot=1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown augmentation"):
        TextAugmenter("shuffle")
    with pytest.raises(ValueError, match="prob"):
        TextAugmenter("delete", prob=2.0)
