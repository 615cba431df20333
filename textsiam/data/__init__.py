"""Sentence-pair datasets: benchmark loaders (STS-B, SICK, MRPC, Quora) and user-file loading.

See :func:`load_pairs` for the benchmarks and their splits, :func:`load_pairs_from_file` for your
own CSV/TSV/JSONL files, and :func:`all_sentences` for the unique training sentences.
"""

from __future__ import annotations

from textsiam.data.loaders import (
    DATA_ENV_VAR,
    DATASETS,
    MRPC_DEV_PAIRS,
    QUORA_DEV_PAIRS,
    SICK_E_CLASSES,
    DataFormatError,
    DataNotFoundError,
    DatasetInfo,
    all_sentences,
    dataset_info,
    load_pairs,
    task_type,
)
from textsiam.data.tables import (
    COLUMN_NAMES,
    FORMAT_TEXT,
    TableFormat,
    as_table,
    canonical,
    resolve_format,
    table_format,
)
from textsiam.data.user_files import (
    LABEL_COLUMNS,
    TEXT_A_COLUMNS,
    TEXT_B_COLUMNS,
    load_pairs_from_file,
    load_table_from_file,
)

__all__ = [
    "COLUMN_NAMES",
    "DATASETS",
    "FORMAT_TEXT",
    "TableFormat",
    "as_table",
    "canonical",
    "resolve_format",
    "table_format",
    "load_table_from_file",
    "DATA_ENV_VAR",
    "LABEL_COLUMNS",
    "TEXT_A_COLUMNS",
    "TEXT_B_COLUMNS",
    "MRPC_DEV_PAIRS",
    "QUORA_DEV_PAIRS",
    "SICK_E_CLASSES",
    "DataFormatError",
    "DataNotFoundError",
    "DatasetInfo",
    "all_sentences",
    "dataset_info",
    "load_pairs",
    "load_pairs_from_file",
    "task_type",
]
