"""Where the texts of the silver pairs come from (``silver_texts``): the training texts, other benchmarks' texts,
or your own unlabelled texts.

Augmented SBERT samples its silver pairs from the training texts by default. A domain with many more unlabelled
texts than labelled pairs (a question site with millions of questions and a few thousand labelled duplicates)
gains more pairs, and pairs closer to what the model will score, when they are sampled from those texts too
(Thakur et al., 2021, section 5: in-domain unlabelled sentences). Each entry of ``silver_texts`` is one source:

* ``train``: the distinct texts of the run's gold training pairs (the default, ``[train]``);
* ``NAME:SPLIT``: the distinct texts of both columns of a benchmark split, e.g. ``sick:train`` (labels unused);
* a ``.txt`` file: one text per line (UTF-8; blank lines skipped);
* a CSV/TSV/JSONL/JSON file of pairs or texts: the distinct texts of its text columns (labels unused);
* in :func:`textsiam.fit`, the texts themselves: a list of strings (or any sequence of them, e.g. a pandas Series)
  or a :class:`datasets.Dataset` (its text columns), e.g. ``silver_texts=["train", my_questions]``; the recipe saved
  with the run names them ``<in-memory texts N: K texts>``.

The pool is the distinct texts of all the sources together, in the order given; the strategies pair texts of the
whole pool, so a silver pair may join a training text and an unlabelled one. A pair that is a gold training pair
is never sampled.

Example::

    config = TrainConfig(train_dataset="stsb", silver_teacher="runs/ce/model",
                         silver_texts=["train", "sick:train", "my_questions.txt"])
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from textsiam.training.config import ConfigError
from textsiam.training.dataset_names import is_file_dataset
from textsiam.training.silver_checks import IN_MEMORY_TEXTS, TRAIN_SOURCE

logger = logging.getLogger(__name__)

__all__ = ["TEXT_COLUMNS", "SilverTextPool", "given_texts", "silver_text_pool"]

#: Text columns of a canonical table read for the pool (labels and other columns are not).
TEXT_COLUMNS: tuple[str, ...] = ("text_a", "text_b", "text_c", "text")


@dataclass
class SilverTextPool:
    """The texts silver pairs are sampled from.

    Attributes:
        texts: the distinct texts of every source, in order (first appearance wins).
        sources: per source, what it is and how many texts it added to the pool (``{"source", "texts", "new"}``).
    """

    texts: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)


def given_texts(value: Any, given: Any) -> Any:
    """:func:`textsiam.fit`'s ``silver_texts``: every entry that holds texts (not a source name or path) goes to
    ``given.texts`` under the name that stands for it in the config; the rest stays. Returns the config value.

    Raises:
        TypeError: an entry that is neither a source nor texts (e.g. a list holding a number).
    """
    if isinstance(value, (str, os.PathLike)) or not isinstance(value, Iterable):
        return value  # the config's checks name the problem
    out: list[Any] = []
    for i, item in enumerate(value):
        if isinstance(item, (str, os.PathLike)):
            out.append(os.fspath(item))
            continue
        texts = _texts_of(item, f"silver_texts[{i}]")
        name = f"{IN_MEMORY_TEXTS} {i}: {len(texts)} texts>"
        given.texts[name] = texts
        out.append(name)
    return out


def _texts_of(item: Any, where: str) -> list[str]:
    """The texts of an in-memory entry: a :class:`datasets.Dataset` (its text columns) or a sequence of strings."""
    if isinstance(item, datasets.Dataset):
        columns = [c for c in TEXT_COLUMNS if c in item.column_names]
        if not columns:
            raise TypeError(f"{where}: a Dataset of texts needs a column named one of {list(TEXT_COLUMNS)}")
        texts = [text for row in zip(*(item[c] for c in columns), strict=True) for text in row]
    elif isinstance(item, Mapping) or not isinstance(item, Iterable):
        raise TypeError(
            f"{where}: give a source (train, NAME:SPLIT, a file) or the texts (a list of strings or a Dataset), "
            f"got {type(item).__name__}"
        )
    else:
        texts = list(item)
    wrong = [t for t in texts if not isinstance(t, str)][:1]  # a list: None is a wrong text too
    if wrong:
        raise TypeError(f"{where}: texts must be strings, got {type(wrong[0]).__name__} {wrong[0]!r}")
    return texts


def silver_text_pool(
    entries: Sequence[str], gold_texts: Sequence[str], config: Any, given: Any = None
) -> SilverTextPool:
    """The distinct texts of the sources ``entries`` (``train`` = ``gold_texts``, the distinct training texts).

    Args:
        entries: the ``silver_texts`` setting.
        gold_texts: the distinct texts of the gold training pairs.
        config: the run's :class:`~textsiam.training.TrainConfig` (``data_dir`` and the column map of data files).
        given: :class:`~textsiam.training.sources.GivenData` (the texts given to :func:`textsiam.fit`), or ``None``.

    Raises:
        ConfigError: a source that cannot be read, one that stands for texts given to :func:`textsiam.fit` in a
            run that has none, or sources that hold fewer than two texts.
    """
    pool: dict[str, None] = {}
    sources = []
    held = getattr(given, "texts", None) or {}
    for entry in entries:
        if entry.startswith(IN_MEMORY_TEXTS) and entry not in held:
            raise ConfigError(
                [f"silver_texts: {entry!r} stands for texts given to textsiam.fit; name a file or NAME:SPLIT instead"]
            )
        if entry == TRAIN_SOURCE:
            texts = list(gold_texts)
        else:
            texts = held[entry] if entry in held else _read_source(entry, config)
        before = len(pool)
        distinct = [text for text in dict.fromkeys(texts) if text.strip()]  # blank texts are never paired
        pool.update(dict.fromkeys(distinct))
        sources.append({"source": entry, "texts": len(distinct), "new": len(pool) - before})
        if entry not in held and entry != TRAIN_SOURCE and entry.rsplit(":", 1)[-1].lower() == "test":
            logger.warning(
                "silver_texts: %s is a test split: figures on it are no longer held out from the silver pairs", entry
            )
    if len(pool) < 2:
        raise ConfigError([f"silver_texts: {list(entries)} hold {len(pool)} distinct text(s); pairs need two or more"])
    logger.info(
        "silver: sampling from %d distinct texts (%s)",
        len(pool),
        ", ".join(f"{s['source']} +{s['new']}" for s in sources),
    )
    return SilverTextPool(list(pool), sources)


def _read_source(entry: str, config: Any) -> list[str]:
    """The texts of one source other than ``train`` (in file or table order, repeats kept)."""
    from textsiam.data import load_pairs
    from textsiam.data.readers import read_text_lines

    try:
        if is_file_dataset(entry) and entry.lower().endswith(".txt"):
            return [text for _, text in read_text_lines(Path(entry).expanduser())]
        if is_file_dataset(entry):
            from textsiam.training.sources import load_table

            table = load_table(entry, "train", config).table
        else:
            name, split = entry.rsplit(":", 1)
            table = load_pairs(name, split, config.data_dir)
    except (OSError, ValueError) as err:  # DataFormatError and DataNotFoundError among them
        raise ConfigError([f"silver_texts: {entry}: {err}"]) from None
    columns = [c for c in TEXT_COLUMNS if c in table.column_names]
    return [text for row in zip(*(table[c] for c in columns), strict=True) for text in row if isinstance(text, str)]
