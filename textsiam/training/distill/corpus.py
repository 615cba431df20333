"""What a student learns from: the texts (:func:`default_corpus`) and the teacher's embeddings of them
(:func:`teacher_targets`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Texts per ``teacher.encode`` call in :func:`teacher_targets` (one progress update each).
TEACHER_CHUNK_SIZE = 4096


def default_corpus(
    data_dir: str | os.PathLike[str] | None = None,
    copies: int = 1,
    prob: float = 0.15,
    seed: int = 42,
    limit: int | None = None,
) -> list[str]:
    """The training-split sentences of the datasets in the data folder, plus augmented copies of each.

    The sentences are :func:`textsiam.data.all_sentences` (STS-B, SICK, MRPC and Quora train; never dev or test).
    Copy ``c`` (``0 .. copies - 1``) of each sentence drops words (even ``c``) or swaps words (odd ``c``) with
    :class:`~textsiam.training.augment.TextAugmenter` (``prob``, ``seed``, ``epoch=c``). Duplicates are dropped,
    first occurrence kept: the originals come first, then each round of copies.

    Args:
        data_dir: the data folder (as for :func:`textsiam.data.load_pairs`; ``None``: ``$TEXTSIAM_DATA``).
        copies: augmented copies per sentence (0 = the sentences only).
        prob: deletion probability per word / swaps per word.
        seed: seed of the augmentation.
        limit: use only the first ``limit`` sentences (before augmenting); ``None`` = all.

    Returns:
        The unique texts, a deterministic function of the arguments and the data.
    """
    from textsiam.data import all_sentences
    from textsiam.training.augment import TextAugmenter

    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
        raise ValueError(f"copies must be an int >= 0, got {copies!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    augmenters = [TextAugmenter("delete", prob, seed), TextAugmenter("swap", prob, seed)]  # checks prob
    base = all_sentences(data_dir)
    if limit:
        base = base[:limit]
    seen = dict.fromkeys(base)
    for copy in range(copies):
        augment = augmenters[copy % 2]
        for text in base:
            seen.setdefault(augment(text, epoch=copy), None)
    texts = list(seen)
    logger.info("%d training sentences + augmented copies = %d unique texts", len(base), len(texts))
    return texts


def check_texts(texts: Sequence[str], allow_empty: bool = False) -> list[str]:
    """``texts`` as a list of strings (non-empty unless ``allow_empty``); a ``ValueError`` / ``TypeError`` otherwise."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of strings, not a single string")
    items = list(texts)
    if not items and not allow_empty:
        raise ValueError("texts is empty: distillation needs at least one text (or vocabulary=True)")
    bad = next((i for i, t in enumerate(items) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"texts must all be strings; item {bad} is a {type(items[bad]).__name__}")
    return items


def check_targets(targets: Any, n_texts: int) -> np.ndarray:
    """``targets`` as a finite float32 ``(N, D)`` array with one row per text."""
    arr = targets.detach().cpu().numpy() if hasattr(targets, "detach") else np.asarray(targets)
    if arr.ndim != 2 or arr.shape[0] != n_texts or arr.shape[1] < 1:
        raise ValueError(f"targets must be an (N, D) array with N = {n_texts} texts, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError("targets hold NaN or infinite values")
    return arr


def teacher_targets(
    teacher: Any,
    texts: Sequence[str],
    batch_size: int = 64,
    chunk_size: int = TEACHER_CHUNK_SIZE,
    show_progress: bool = True,
) -> np.ndarray:
    """The teacher's embeddings of ``texts``: ``(N, D)`` float32, ``teacher.encode`` over chunks of ``chunk_size``.

    Each chunk is one ``teacher.encode(chunk, batch_size=batch_size, convert_to_numpy=True)`` call (the model's
    own normalisation applies), so the memory of one call stays bounded and the progress bar moves per chunk.
    """
    from tqdm.auto import tqdm

    items = check_texts(texts, allow_empty=True)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    parts = []
    with tqdm(total=len(items), desc="Teacher embeddings", unit="text", disable=not show_progress) as bar:
        for start in range(0, len(items), chunk_size):
            chunk = items[start : start + chunk_size]
            emb = teacher.encode(chunk, batch_size=batch_size, convert_to_numpy=True)  # (n, D)
            parts.append(np.asarray(emb, dtype=np.float32))
            bar.update(len(chunk))
    if not parts:
        return np.zeros((0, teacher.embedding_dim), dtype=np.float32)
    return check_targets(np.concatenate(parts, axis=0), len(items))
