"""``encode(output_value="token_embeddings")`` and ``output_value=None``: per-token outputs, as sentence-transformers.

* ``"token_embeddings"``: one ``(T_i, H)`` tensor per text: the tower's output for each of the text's tokens
  (special tokens included, padding left out), before pooling, projection and normalisation.
* ``None``: one dictionary per text with every output: ``input_ids``, ``attention_mask`` (and ``token_type_ids`` where
  the model takes them) and ``token_embeddings``, each over the text's own ``T_i`` tokens, and ``sentence_embedding``
  ``(D,)`` (projected, normalised if the model normalises, cut at ``truncate_dim``). sentence-transformers leaves the
  token-level values padded to the longest text of their batch; here they are cut to the text, so that a text's
  outputs do not depend on the texts it was batched with.

Only transformer (and ONNX) towers have per-token outputs; the others raise ``ValueError``.
"""

from __future__ import annotations

from typing import Any

import torch
from tqdm.auto import tqdm

#: Values of ``encode(output_value=...)``.
OUTPUT_VALUES: tuple[str | None, ...] = ("sentence_embedding", "token_embeddings", None)


def check_output_value(value: Any) -> str | None:
    """``value`` if it is one of :data:`OUTPUT_VALUES`, else ``ValueError`` naming them."""
    if value is not None and (not isinstance(value, str) or value not in OUTPUT_VALUES):
        raise ValueError(f"unknown output_value {value!r}; choose one of {list(OUTPUT_VALUES)}")
    return value


def encode_outputs(
    model: Any, items: list[str], batch_size: int, show_progress_bar: bool, output_value: str | None, truncate: Any
) -> list[Any]:
    """Per-text outputs of ``model`` (see the module docstring), in input order.

    The caller holds :func:`~textsiam.model.scheduler.inference_context` and ``torch.inference_mode``.
    """
    order = sorted(range(len(items)), key=lambda i: -len(items[i]))  # longest first: little padding per batch
    out: list[Any] = [None] * len(items)
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    for idx in tqdm(batches, desc="Encoding", unit="batch", disable=not show_progress_bar):
        features = model.tokenize([items[i] for i in idx])
        outputs = model.encoder.forward_features(features)
        mask = features["attention_mask"].bool()  # (b, T)
        tokens = outputs["token_embeddings"]  # (b, T, H)
        if output_value == "token_embeddings":
            for r, i in enumerate(idx):
                out[i] = tokens[r][mask[r]]  # (T_i, H)
            continue
        sentence = model.head(outputs["sentence_embedding"])  # (b, D)
        if truncate is not None:
            sentence = sentence[:, :truncate]
        for r, i in enumerate(idx):
            row = {name: value[r][mask[r]] for name, value in features.items() if _per_token(value, mask)}
            row["token_embeddings"] = tokens[r][mask[r]]
            row["sentence_embedding"] = sentence[r]
            out[i] = row
    return out


def _per_token(value: Any, mask: torch.Tensor) -> bool:
    return isinstance(value, torch.Tensor) and tuple(value.shape[:2]) == tuple(mask.shape)


__all__ = ["OUTPUT_VALUES", "check_output_value", "encode_outputs"]
