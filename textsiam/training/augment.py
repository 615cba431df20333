"""Word-level text augmentation (EDA-style random deletion and random swap), off by default.

The randomness of each call comes from ``(seed, epoch, text, slot)`` only, so augmentation is reproducible
across runs and after resuming from a checkpoint, differs between epochs, and does not touch any global RNG.

Example:
    >>> aug = TextAugmenter("delete", prob=0.5, seed=1)
    >>> aug("the quick brown fox jumps", epoch=0) == aug("the quick brown fox jumps", epoch=0)
    True
"""

from __future__ import annotations

import hashlib

import numpy as np

AUGMENTATIONS: tuple[str, ...] = ("none", "delete", "swap")

__all__ = ["AUGMENTATIONS", "TextAugmenter", "random_deletion", "random_swap"]


def random_deletion(words: list[str], prob: float, rng: np.random.Generator) -> list[str]:
    """Drop each word with probability ``prob``; at least one word is always kept."""
    if len(words) <= 1 or prob <= 0:
        return list(words)
    keep = rng.random(len(words)) >= prob
    if not keep.any():
        keep[int(rng.integers(len(words)))] = True
    return [w for w, k in zip(words, keep, strict=True) if k]


def random_swap(words: list[str], prob: float, rng: np.random.Generator) -> list[str]:
    """Swap two random positions ``max(1, round(prob * n))`` times (``prob > 0``)."""
    out = list(words)
    if len(out) < 2 or prob <= 0:
        return out
    for _ in range(max(1, int(round(prob * len(out))))):
        i, j = rng.choice(len(out), size=2, replace=False)
        out[i], out[j] = out[j], out[i]
    return out


class TextAugmenter:
    """Callable ``text -> augmented text`` for one mode.

    Args:
        mode: ``"none"``, ``"delete"`` (random deletion, each word with probability ``prob``) or ``"swap"``
            (``max(1, round(prob * n_words))`` random swaps).
        prob: see ``mode``.
        seed: base seed.
    """

    def __init__(self, mode: str = "none", prob: float = 0.1, seed: int = 0) -> None:
        if mode not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {mode!r}; choose one of {list(AUGMENTATIONS)}")
        if not 0 <= prob <= 1:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.mode = mode
        self.prob = float(prob)
        self.seed = int(seed)

    @property
    def enabled(self) -> bool:
        return self.mode != "none" and self.prob > 0

    def _rng(self, text: str, epoch: int, slot: int) -> np.random.Generator:
        digest = hashlib.blake2b(f"{self.seed}|{epoch}|{slot}|{text}".encode(), digest_size=8).digest()
        return np.random.default_rng(int.from_bytes(digest, "little"))

    def __call__(self, text: str, epoch: int = 0, slot: int = 0) -> str:
        """Augment ``text``; ``epoch`` and ``slot`` (e.g. the column) vary the draw deterministically."""
        if not self.enabled:
            return text
        words = text.split()
        rng = self._rng(text, epoch, slot)
        words = random_deletion(words, self.prob, rng) if self.mode == "delete" else random_swap(words, self.prob, rng)
        return " ".join(words)

    def __repr__(self) -> str:
        return f"TextAugmenter(mode={self.mode!r}, prob={self.prob}, seed={self.seed})"
