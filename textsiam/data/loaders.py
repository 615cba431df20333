"""Sentence-pair benchmark loaders returning :class:`datasets.Dataset` objects.

Every dataset has the columns ``text_a`` (str), ``text_b`` (str) and ``label`` (float for STS
tasks, int 0/1 for classification), in file order, plus a few extra columns (``pair_id``,
``genre`` for STS-B, ``label3`` for SICK-E).

Where the data comes from:

1. ``data_dir`` if given, else the ``TEXTSIAM_DATA`` environment variable: a folder holding
   ``stsb/``, ``sick/``, ``mrpc/`` and ``quora/`` with the original files (see each folder's
   ``PROVENANCE.md``).
2. Otherwise the Hugging Face Hub via :func:`datasets.load_dataset` (``sentence-transformers/stsb``,
   ``mteb/sickr-sts``, ``nyu-mll/glue`` ``mrpc`` / ``qqp``). The Hub splits of MRPC and QQP are
   GLUE's, which differ from the local ones described below, and not every split is available.
   If the Hub cannot be reached, :class:`DataNotFoundError` tells you to set ``TEXTSIAM_DATA`` or
   pass ``data_dir``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import datasets

from textsiam.data.readers import (
    QUORA_DEV_PAIRS,
    SICK_E_CLASSES,
    Columns,
    DataFormatError,
    DataNotFoundError,
    quora_dev_mask,
    read_mrpc,
    read_quora,
    read_sick,
    read_stsb,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DATASETS",
    "DATA_ENV_VAR",
    "MRPC_DEV_PAIRS",
    "QUORA_DEV_PAIRS",
    "SICK_E_CLASSES",
    "DataFormatError",
    "DataNotFoundError",
    "DatasetInfo",
    "all_sentences",
    "dataset_info",
    "load_pairs",
    "task_type",
]

#: Environment variable naming the local data directory.
DATA_ENV_VAR = "TEXTSIAM_DATA"

#: Number of pairs at the end of ``msr_paraphrase_train.txt`` used as the MRPC dev split.
MRPC_DEV_PAIRS = 400

TaskType = Literal["sts", "classification"]


@dataclass(frozen=True)
class DatasetInfo:
    """Description of one supported benchmark.

    Attributes:
        name: registry name passed to :func:`load_pairs`.
        task: ``"sts"`` (float ``label``) or ``"classification"`` (int 0/1 ``label``).
        splits: available split names.
        score_range: inclusive ``(low, high)`` range of ``label``.
        folder: sub-folder of the data directory holding the files.
        num_rows: number of pairs per split in the local files.
        description: one-line summary, including how non-official splits are built.
    """

    name: str
    task: TaskType
    splits: tuple[str, ...]
    score_range: tuple[float, float]
    folder: str
    num_rows: Mapping[str, int]
    description: str


DATASETS: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "stsb": DatasetInfo(
            name="stsb",
            task="sts",
            splits=("train", "dev", "test"),
            score_range=(0.0, 5.0),
            folder="stsb",
            num_rows=MappingProxyType({"train": 5749, "dev": 1500, "test": 1379}),
            description="STS Benchmark (Cer et al., 2017), similarity score 0-5.",
        ),
        "sick": DatasetInfo(
            name="sick",
            task="sts",
            splits=("train", "dev", "test", "all"),
            score_range=(1.0, 5.0),
            folder="sick",
            num_rows=MappingProxyType({"train": 4500, "dev": 500, "test": 4927, "all": 9927}),
            description="SICK relatedness (SICK-R), score 1-5; dev = SICK_trial.txt, all = train+dev+test.",
        ),
        "sick-e": DatasetInfo(
            name="sick-e",
            task="classification",
            splits=("train", "dev", "test", "all"),
            score_range=(0.0, 1.0),
            folder="sick",
            num_rows=MappingProxyType({"train": 4500, "dev": 500, "test": 4927, "all": 9927}),
            description="SICK entailment; label 1 = ENTAILMENT else 0, label3 = 3-way class.",
        ),
        "mrpc": DatasetInfo(
            name="mrpc",
            task="classification",
            splits=("train", "dev", "test"),
            score_range=(0.0, 1.0),
            folder="mrpc",
            num_rows=MappingProxyType({"train": 3676, "dev": 400, "test": 1725}),
            description="MSR Paraphrase Corpus; dev = last 400 pairs of the official train file.",
        ),
        "quora": DatasetInfo(
            name="quora",
            task="classification",
            splits=("train", "dev", "test"),
            score_range=(0.0, 1.0),
            folder="quora",
            num_rows=MappingProxyType({"train": 8000, "dev": 2000, "test": 10000}),
            description="Quora Question Pairs (BiMPM partition); train/dev = leakage-free split of BiMPM dev.tsv.",
        ),
    }
)

_ALIASES = {"sts-b": "stsb", "sick-r": "sick", "qqp": "quora", "msrp": "mrpc"}
_SPLIT_ALIASES = {"validation": "dev", "trial": "dev"}

_STSB_FILES = {"train": "sts-train.csv", "dev": "sts-dev.csv", "test": "sts-test.csv"}
_SICK_FILES = {"train": "SICK_train.txt", "dev": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}
_MRPC_FILES = {"train": "msr_paraphrase_train.txt", "test": "msr_paraphrase_test.txt"}
_QUORA_FILES = {"dev": "dev.tsv", "test": "test.tsv"}


# --------------------------------------------------------------------------------------------
# Registry helpers
# --------------------------------------------------------------------------------------------


def _canonical_name(name: str) -> str:
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; supported datasets: {', '.join(DATASETS)}")
    return key


def _canonical_split(info: DatasetInfo, split: str) -> str:
    key = str(split).strip().lower()
    key = _SPLIT_ALIASES.get(key, key)
    if key not in info.splits:
        available = ", ".join(info.splits)
        raise ValueError(f"unknown split {split!r} for dataset {info.name!r}; available splits: {available}")
    return key


def dataset_info(name: str) -> DatasetInfo:
    """Return the :class:`DatasetInfo` of a supported dataset (aliases like ``qqp`` are accepted).

    Raises:
        ValueError: unknown name; the message lists the supported datasets.
    """
    return DATASETS[_canonical_name(name)]


def task_type(name: str) -> TaskType:
    """Return ``"sts"`` or ``"classification"`` for a supported dataset."""
    return dataset_info(name).task


# --------------------------------------------------------------------------------------------
# Local files
# --------------------------------------------------------------------------------------------


def _resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV_VAR, "").strip()
    return Path(env).expanduser() if env else None


def _file(root: Path, info: DatasetInfo, filename: str) -> Path:
    path = root / info.folder / filename
    if not path.is_file():
        raise DataNotFoundError(
            f"data file for {info.name!r} not found: {path}. Put the original files under "
            f"{root / info.folder}, or point the {DATA_ENV_VAR} environment variable (or data_dir=) "
            f"at the folder that holds the stsb/, sick/, mrpc/ and quora/ sub-folders."
        )
    return path


def _take(cols: Columns, keep: Sequence[bool]) -> Columns:
    return {key: [value for value, flag in zip(values, keep, strict=True) if flag] for key, values in cols.items()}


def _concat(parts: Sequence[Columns]) -> Columns:
    return {key: [value for part in parts for value in part[key]] for key in parts[0]}


def _read_sick_split(root: Path, info: DatasetInfo, split: str) -> Columns:
    if split == "all":
        return _concat([_read_sick_split(root, info, part) for part in ("train", "dev", "test")])
    cols = read_sick(_file(root, info, _SICK_FILES[split]))
    if info.name == "sick":
        return {
            "text_a": cols["text_a"],
            "text_b": cols["text_b"],
            "label": cols["score"],
            "pair_id": cols["pair_id"],
        }
    return {
        "text_a": cols["text_a"],
        "text_b": cols["text_b"],
        "label": [int(label3 == 0) for label3 in cols["label3"]],
        "label3": cols["label3"],
        "score": cols["score"],
        "pair_id": cols["pair_id"],
    }


def _read_local(root: Path, info: DatasetInfo, split: str) -> Columns:
    if info.name == "stsb":
        return read_stsb(_file(root, info, _STSB_FILES[split]))
    if info.name in ("sick", "sick-e"):
        return _read_sick_split(root, info, split)
    if info.name == "mrpc":
        if split == "test":
            return read_mrpc(_file(root, info, _MRPC_FILES["test"]))
        cols = read_mrpc(_file(root, info, _MRPC_FILES["train"]))
        n = len(cols["label"])
        if n <= MRPC_DEV_PAIRS:
            raise DataFormatError(_file(root, info, _MRPC_FILES["train"]), None, f"only {n} pairs; cannot carve dev")
        keep = [(i >= n - MRPC_DEV_PAIRS) == (split == "dev") for i in range(n)]
        return _take(cols, keep)
    if info.name == "quora":
        if split == "test":
            return read_quora(_file(root, info, _QUORA_FILES["test"]))
        cols = read_quora(_file(root, info, _QUORA_FILES["dev"]))
        is_dev = quora_dev_mask(cols["text_a"], cols["text_b"], QUORA_DEV_PAIRS)
        return _take(cols, [flag == (split == "dev") for flag in is_dev])
    raise AssertionError(f"no local reader for {info.name!r}")  # pragma: no cover


def _features(info: DatasetInfo, cols: Columns) -> datasets.Features:
    label = datasets.Value("float64") if info.task == "sts" else datasets.Value("int64")
    spec: dict[str, Any] = {}
    for key in cols:
        if key == "label":
            spec[key] = label
        elif key == "label3":
            spec[key] = datasets.ClassLabel(names=list(SICK_E_CLASSES))
        elif key == "score":
            spec[key] = datasets.Value("float64")
        else:
            spec[key] = datasets.Value("string")
    return datasets.Features(spec)


# --------------------------------------------------------------------------------------------
# Hugging Face Hub fallback
# --------------------------------------------------------------------------------------------


def _hub_columns(info: DatasetInfo, split: str) -> Columns:
    """Load a split from the Hub and map it to the local schema. Raises on any failure."""
    hf_split = {"train": "train", "dev": "validation", "test": "test"}.get(split, split)
    if info.name == "stsb":
        ds = datasets.load_dataset("sentence-transformers/stsb", split=hf_split)
        # The Hub copy stores score / 5; rescale to the original 0-5 range.
        labels = [round(float(s) * 5.0, 6) for s in ds["score"]]
        return {"text_a": list(ds["sentence1"]), "text_b": list(ds["sentence2"]), "label": labels}
    if info.name == "sick":
        if split != "all":
            raise DataNotFoundError("only split 'all' of 'sick' is available from the Hub (mteb/sickr-sts)")
        ds = datasets.load_dataset("mteb/sickr-sts", split="test")
        return {
            "text_a": list(ds["sentence1"]),
            "text_b": list(ds["sentence2"]),
            "label": [float(s) for s in ds["score"]],
        }
    if info.name in ("mrpc", "quora"):
        config = "mrpc" if info.name == "mrpc" else "qqp"
        col_a, col_b = ("sentence1", "sentence2") if config == "mrpc" else ("question1", "question2")
        if split == "test":
            raise DataNotFoundError(f"GLUE {config} test labels are hidden on the Hub; use local files for 'test'")
        logger.warning("loading %s %s from the Hub: GLUE's split differs from the local one", info.name, split)
        ds = datasets.load_dataset("nyu-mll/glue", config, split=hf_split)
        return {"text_a": list(ds[col_a]), "text_b": list(ds[col_b]), "label": [int(x) for x in ds["label"]]}
    raise DataNotFoundError(f"{info.name!r} is not available from the Hub")


def _read_hub(info: DatasetInfo, split: str) -> Columns:
    hint = f"set the {DATA_ENV_VAR} environment variable or pass data_dir= to use local files"
    try:
        return _hub_columns(info, split)
    except Exception as exc:  # offline, missing dataset, schema drift: all point to the same fix
        raise DataNotFoundError(
            f"could not load {info.name!r} split {split!r} from the Hugging Face Hub "
            f"({type(exc).__name__}: {exc}); no local data directory was given: {hint}"
        ) from exc


# --------------------------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------------------------


def load_pairs(name: str, split: str, data_dir: str | os.PathLike[str] | None = None) -> datasets.Dataset:
    """Load one split of a sentence-pair benchmark.

    Args:
        name: ``stsb``, ``sick`` (relatedness), ``sick-e`` (entailment), ``mrpc`` or ``quora``
            (aliases: ``sts-b``, ``sick-r``, ``msrp``, ``qqp``).
        split: ``train``, ``dev`` (alias ``validation``) or ``test``; ``sick``/``sick-e`` also have
            ``all`` (train + dev + test = 9,927 pairs, as scored by MTEB for SICK-R).
        data_dir: folder holding ``stsb/``, ``sick/``, ``mrpc/``, ``quora/``. Defaults to
            ``$TEXTSIAM_DATA``; if neither is set, the Hugging Face Hub is tried.

    Returns:
        A :class:`datasets.Dataset` in file order with ``text_a``, ``text_b`` and ``label``
        (float64 for STS tasks, int64 0/1 for classification) plus ``pair_id``. STS-B also has
        ``genre``; SICK-E also has ``label3`` (:class:`datasets.ClassLabel` over
        :data:`SICK_E_CLASSES`) and ``score`` (relatedness).

    Splits that are not official:

    * ``sick`` dev is ``SICK_trial.txt`` (4,500 / 500 / 4,927 pairs).
    * ``mrpc`` has no official dev: the **last 400** pairs of ``msr_paraphrase_train.txt`` are dev,
      the first 3,676 are train; test is the official 1,725 pairs.
    * ``quora`` uses the BiMPM partition, whose 384k-pair train file is not shipped. ``test`` is
      BiMPM ``test.tsv`` (10,000). ``train`` (8,000) and ``dev`` (2,000) are a deterministic split of
      BiMPM ``dev.tsv`` with no question shared between them: questions (lower-cased, whitespace
      collapsed) are graph nodes, pairs are edges, and whole connected components go to dev in
      SHA-1 order of their smallest question until dev holds 2,000 pairs (first fit); the rest is
      train. See :func:`textsiam.data.readers.quora_dev_mask`.
    * STS-B lines with an empty score field would be skipped (none exist in the released files);
      nothing else is ever skipped.

    Raises:
        ValueError: unknown dataset or split (the message lists the valid ones).
        DataNotFoundError: a file is missing (the message names it and mentions ``TEXTSIAM_DATA``),
            or no data directory is configured and the Hub cannot be used.
        DataFormatError: a malformed line (the message starts with ``file:line``), or a file / split without
            a single pair (never an empty dataset).
    """
    info = dataset_info(name)
    split = _canonical_split(info, split)
    root = _resolve_data_dir(data_dir)
    if root is None:
        logger.info("no data_dir and %s unset: loading %s/%s from the Hugging Face Hub", DATA_ENV_VAR, info.name, split)
        cols = _read_hub(info, split)
    else:
        if not root.is_dir():
            raise DataNotFoundError(
                f"data directory not found: {root} (from {'data_dir' if data_dir is not None else DATA_ENV_VAR}); "
                f"it should hold the stsb/, sick/, mrpc/ and quora/ sub-folders"
            )
        cols = _read_local(root, info, split)
        if not cols["text_a"]:  # e.g. a Quora dev.tsv so small that every pair goes to dev
            raise DataFormatError(root / info.folder, None, f"the files hold no {info.name} {split!r} pairs")
    logger.debug("loaded %s/%s: %d pairs", info.name, split, len(cols["text_a"]))
    return datasets.Dataset.from_dict(cols, features=_features(info, cols))


#: Training splits whose sentences make up :func:`all_sentences`, in order.
_TRAINING_SOURCES: tuple[tuple[str, str], ...] = (
    ("stsb", "train"),
    ("sick", "train"),
    ("mrpc", "train"),
    ("quora", "train"),
)


def all_sentences(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Return every unique sentence of the training splits, in first-seen order.

    Sources, in order: ``stsb`` train, ``sick`` train, ``mrpc`` train (3,676 pairs), ``quora``
    train (8,000 pairs); within a split, row by row, ``text_a`` before ``text_b``. Surrounding
    whitespace is stripped before de-duplication (exact, case-sensitive match); empty strings are
    dropped. Dev and test sentences are never included.

    Args:
        data_dir: as for :func:`load_pairs`.
    """
    seen: dict[str, None] = {}
    for name, split in _TRAINING_SOURCES:
        ds = load_pairs(name, split, data_dir)
        for a, b in zip(ds["text_a"], ds["text_b"], strict=True):
            for text in (a.strip(), b.strip()):
                if text and text not in seen:
                    seen[text] = None
    logger.info("all_sentences: %d unique training sentences", len(seen))
    return list(seen)
