"""The teacher's vocabulary as distillation items: each token on its own, and the teacher's embedding of it.

Model2vec's recipe: run every vocabulary token through the teacher as a one-token text (with the tokenizer's
special tokens around it, e.g. ``[CLS] guitar [SEP]``) and keep the output. These vectors are the start of a
static student's rows (``embeddings="distilled"``), and the token items join the corpus as extra training
examples, so every token gets a target even when no corpus text uses it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from textsiam.encoders import PreTokenized

logger = logging.getLogger(__name__)


def special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """``(prefix, suffix)``: the special-token ids the tokenizer puts around one text (``[CLS]`` / ``[SEP]``)."""
    probe = "hello"
    full = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
    bare = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    for start in range(len(full) - len(bare) + 1):
        if bare and full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    raise ValueError(f"cannot find where the tokenizer {type(tokenizer).__name__} puts its special tokens")


def vocabulary_items(tokenizer: Any, max_seq_length: int | None = None) -> tuple[PreTokenized, np.ndarray]:
    """Every non-special token of ``tokenizer`` as a one-token text, pre-tokenised.

    Returns:
        ``(items, token_ids)``: ``items`` (``len(token_ids)`` texts of ``prefix + [t] + suffix``) and the
        ``(M,)`` int64 ids ``t`` they hold, in increasing order.
    """
    prefix, suffix = special_frame(tokenizer)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    token_ids = np.array([t for t in range(len(tokenizer)) if t not in special], dtype=np.int64)  # (M,)
    rows = [[*prefix, int(t), *suffix] for t in token_ids]
    if max_seq_length is not None and len(rows[0]) > max_seq_length:
        raise ValueError(f"max_seq_length={max_seq_length} cannot hold one token and the special tokens")
    columns: dict[str, list[list[int]]] = {"input_ids": rows}
    if "token_type_ids" in getattr(tokenizer, "model_input_names", ()):
        columns["token_type_ids"] = [[0] * len(rows[0]) for _ in rows]
    lengths = np.full(len(rows), len(rows[0]), dtype=np.int64)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return PreTokenized(columns, lengths, 0, {"input_ids": int(pad_id)}), token_ids


def vocabulary_targets(
    teacher: Any, items: PreTokenized, batch_size: int = 256, show_progress: bool = True
) -> np.ndarray:
    """The teacher's embeddings of the one-token ``items``: ``(M, D)`` float32 (its normalisation applies)."""
    from tqdm.auto import tqdm

    from textsiam.model.scheduler import inference_context

    out = []
    device = teacher.device
    names = set(getattr(teacher.tokenizer, "model_input_names", ("input_ids", "attention_mask")))
    with inference_context(teacher), torch.inference_mode():
        for start in tqdm(
            range(0, len(items), batch_size), desc="Teacher vocabulary", unit="batch", disable=not show_progress
        ):
            batch = items.collate(list(range(start, min(start + batch_size, len(items)))))
            features = {k: v.to(device) for k, v in batch.items() if k in names or k == "input_ids"}
            out.append(teacher.embed(features).float().cpu().numpy())  # (b, D)
    targets = np.concatenate(out, axis=0)
    logger.info("teacher embeddings of %d vocabulary tokens", len(targets))
    return targets
