"""The data of a run: the training and dev pairs, from a benchmark name or a data file, subsampled if asked."""

from __future__ import annotations

import logging
from typing import Any

import datasets

from textsiam.training.config import TrainConfig, dataset_task, is_file_dataset

logger = logging.getLogger(__name__)


def load_source(name: str, split: str, config: TrainConfig, label_column: str) -> tuple[Any, str, Any]:
    """``(dataset with a 'label' column, task, score_range)`` for a benchmark name or a data file."""
    from textsiam.data import LABEL_COLUMNS, dataset_info, load_pairs, load_pairs_from_file
    from textsiam.training.labels import raw_label_kind

    if is_file_dataset(name):
        columns = {"text_a": config.text_a_column, "text_b": config.text_b_column}
        ds = load_pairs_from_file(name, label="auto" if label_column == "label" else label_column, **columns)
        if "label" not in ds.column_names:
            raise ValueError(
                f"{name} has no label column (none of {list(LABEL_COLUMNS)}); name it with label_column=<column>"
            )
        kind = raw_label_kind(ds["label"])
        return ds, ("sts" if kind == "float" else "classification"), None
    info = dataset_info(name)
    ds = load_pairs(name, split, config.data_dir)
    if label_column != "label":
        if label_column not in ds.column_names:
            raise ValueError(f"{name}/{split} has no column {label_column!r}; columns: {ds.column_names}")
        ds = ds.remove_columns("label").rename_column(label_column, "label")
        return ds, info.task, None
    return ds, info.task, (tuple(info.score_range) if info.task == "sts" else None)


def subsample_logged(ds: datasets.Dataset, n: int | None, seed: int, what: str) -> datasets.Dataset:
    from textsiam.training.examples import subsample

    out = subsample(ds, n, seed)
    if len(out) < len(ds):
        logger.info("%s: using a seeded random subsample of %d of %d pairs", what, len(out), len(ds))
    return out


def load_dev(config: TrainConfig) -> tuple[Any, str | None]:
    """The (subsampled) dev pairs of ``config`` and their task; ``(None, None)`` without dev data."""
    if config.dev_dataset is None:
        return None, None
    pairs, task, _ = load_source(config.dev_dataset, config.dev_split, config, "label")
    return subsample_logged(pairs, config.max_dev_pairs, config.seed, "dev"), task or dataset_task(config.dev_dataset)
