"""Silver pairs kept so that their label distribution matches the gold pairs' (``silver_label_match``).

Pairs sampled by BM25 or nearest neighbours among the training texts rarely look like the gold pairs: on MRPC, whose
gold pairs are two-thirds paraphrases, a teacher labels about 97% of the sampled pairs as non-paraphrases, and a
student trained on gold + silver learns a different task mix. Augmented SBERT (Thakur et al., NAACL 2021) samples
so that the silver label distribution follows the gold one (its KDE sampling); this module does it after labelling,
by subsampling the labelled pairs:

    labels in bins  : 0/1 labels by class; graded labels in ``bins`` equal-width bins of the gold label range
    gold shares     : p_b = (gold labels in bin b) / (gold pairs)
    kept in all     : N = min over bins with p_b > 0 of (silver pairs in bin b) / p_b   (the most that fit)
    kept in bin b   : round(N · p_b) silver pairs, a seeded random choice; none from a bin gold leaves empty

    keep = match_label_distribution(gold_labels, silver_labels, seed=42)   # indices of the kept silver pairs

A gold bin that the silver pairs leave empty would keep nothing at all; such bins are left out of the match (their
gold share is spread over the others) and the record says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["GRADED_BINS", "match_label_distribution"]

#: bins of the gold label range for graded labels (STS-B's 0-5 scores: bins of 0.5)
GRADED_BINS = 10


def _bins(labels: np.ndarray, lo: float, hi: float, binary: bool, bins: int) -> np.ndarray:
    if binary:
        return (labels >= 0.5).astype(np.int64)
    if hi <= lo:
        return np.zeros(len(labels), dtype=np.int64)
    return np.clip(((labels - lo) / (hi - lo) * bins).astype(np.int64), 0, bins - 1)


def match_label_distribution(
    gold_labels: Sequence[float],
    silver_labels: Sequence[float],
    seed: int,
    binary: bool = False,
    bins: int = GRADED_BINS,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The silver pairs to keep so that their labels follow the gold labels' distribution.

    Args:
        gold_labels: ``(G,)`` the gold labels.
        silver_labels: ``(N,)`` the silver labels (on the gold scale, as :func:`.silver_labels.map_to_gold` gives).
        seed: seeds the choice within each bin.
        binary: 0/1 labels: one bin per class.
        bins: equal-width bins of the gold label range for graded labels.

    Returns:
        ``(keep, record)``: the sorted indices of the kept silver pairs, and what was done (per-bin gold shares and
        silver counts before and after, the bins left out).

    Raises:
        ValueError: no gold labels, or ``bins`` < 1.
    """
    gold = np.asarray(gold_labels, dtype=np.float64)
    silver = np.asarray(silver_labels, dtype=np.float64)
    if not len(gold):
        raise ValueError("silver_label_match: no gold labels to match")
    if bins < 1:
        raise ValueError(f"silver_label_match: bins must be at least 1, got {bins}")
    lo, hi = float(gold.min()), float(gold.max())
    n_bins = 2 if binary else bins
    gold_counts = np.bincount(_bins(gold, lo, hi, binary, bins), minlength=n_bins)
    silver_bin = _bins(silver, lo, hi, binary, bins)
    silver_counts = np.bincount(silver_bin, minlength=n_bins)
    left_out = [int(b) for b in np.flatnonzero((gold_counts > 0) & (silver_counts == 0))]
    used = (gold_counts > 0) & (silver_counts > 0)
    shares = np.where(used, gold_counts, 0) / max(int(gold_counts[used].sum()), 1)
    total = float(np.min(silver_counts[used] / shares[used])) if used.any() else 0.0
    rng = np.random.default_rng([seed, 5])
    keep: list[np.ndarray] = []
    kept_counts = np.zeros(n_bins, dtype=np.int64)
    for b in np.flatnonzero(used):
        rows = np.flatnonzero(silver_bin == b)
        k = min(len(rows), int(round(total * shares[b])))
        kept_counts[b] = k
        keep.append(rng.choice(rows, size=k, replace=False))
    kept = np.sort(np.concatenate(keep)) if keep else np.empty(0, dtype=np.int64)
    edges = [0.0, 1.0] if binary else np.linspace(lo, hi, bins + 1).round(6).tolist()
    record = {
        "bins": "classes 0 / 1" if binary else f"{bins} equal-width bins of [{lo:g}, {hi:g}]",
        "edges": edges,
        "gold_share": [round(float(x), 4) for x in gold_counts / len(gold)],
        "silver_before": silver_counts.tolist(),
        "silver_kept": kept_counts.tolist(),
        "bins_left_out": left_out,
        "kept": len(kept),
        "of": len(silver),
    }
    return kept, record
