"""Helpers of the training tests: synthetic STS / classification rows and CSV files, a fast training config."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from textsiam.training import TrainConfig

VOCAB = [f"w{i}" for i in range(80)]


def make_sts_rows(n: int, seed: int) -> list[tuple[str, str, float]]:
    """Pairs sharing k of 6 words; the 0-5 score grows with k (plus noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        words = list(rng.choice(VOCAB, size=12, replace=False))
        k = int(rng.integers(0, 7))
        score = float(np.clip(k / 6 * 5 + rng.normal(scale=0.4), 0, 5))
        rows.append((" ".join(words[:6]), " ".join(words[:k] + words[6 : 12 - k]), round(score, 2)))
    return rows


def make_clf_rows(n: int, seed: int) -> list[tuple[str, str, int]]:
    """Duplicate-like pairs: label 1 pairs share most words; some texts repeat across pairs."""
    rng = np.random.default_rng(seed)
    base = [" ".join(rng.choice(VOCAB, size=6, replace=False)) for _ in range(n // 2)]
    rows = []
    for i in range(n):
        a = base[i % len(base)]
        if i % 2 == 0:
            words = a.split()
            words[int(rng.integers(6))] = str(rng.choice(VOCAB))
            rows.append((a, " ".join(words), 1))
        else:
            rows.append((a, " ".join(rng.choice(VOCAB, size=6, replace=False)), 0))
    return rows


def write_csv(
    path: Path, rows: list[tuple], header: tuple[str, ...] | list[str] = ("text_a", "text_b", "label")
) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(header))
        writer.writerows(rows)
    return path


def fast_config(model_dir: Path, sts_files: tuple[Path, Path], **overrides: object) -> TrainConfig:
    """A fast config on the tiny model and the synthetic STS files (2 epochs, batch 8), with ``overrides``
    (``output_dir`` among them)."""
    from textsiam.training import TrainConfig

    train, dev = sts_files
    base: dict[str, object] = dict(
        model=str(model_dir),
        train_dataset=str(train),
        dev_dataset=str(dev),
        test_datasets=[],
        epochs=2,
        batch_size=8,
        learning_rate=1e-3,
        warmup_ratio=0.1,
        logging_steps=1,
        n_resamples=20,
        eval_batch_size=32,
        save_total_limit=None,
    )
    base.update(overrides)
    return TrainConfig(**base)
