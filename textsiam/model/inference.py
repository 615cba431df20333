"""The body of :meth:`SiameseModel.encode <textsiam.SiameseModel.encode>`: its keywords checked, the prompt put in
front, the texts encoded here, in a multi-process pool, or per token, then the precision and the output type.

The order of the steps is sentence-transformers': prompt, encode, truncate (``truncate_dim``) and normalise
(``normalize_embeddings``), quantise (``precision``, over all the call's embeddings), convert.
"""

from __future__ import annotations

from typing import Any

import torch

from textsiam.model.multiprocess import encode_in_pool
from textsiam.model.precision import ST_QUANTIZED, check_precision, quantize
from textsiam.model.quantization import quantize_embeddings
from textsiam.model.scheduler import check_num_threads, encode_sorted, inference_context, num_threads_context
from textsiam.model.st_api import (
    apply_prompt,
    check_truncate_dim,
    resolve_normalize,
    resolve_prompt,
    truncate_and_normalize,
)
from textsiam.model.token_outputs import check_output_value, encode_outputs
from textsiam.texts import as_text_list


def run_encode(
    model: Any,
    texts: Any,
    *,
    batch_size: int,
    show_progress_bar: bool,
    convert_to_tensor: bool,
    normalize: Any,
    normalize_embeddings: Any,
    num_threads: int | None,
    precision: str,
    convert_to_numpy: bool,
    device: Any,
    prompt: Any,
    prompt_name: Any,
    truncate_dim: Any,
    output_value: Any,
    pool: Any,
    chunk_size: Any,
) -> Any:
    """``model.encode(texts, ...)``: see :meth:`SiameseModel.encode <textsiam.SiameseModel.encode>`."""
    check_precision(precision)
    output_value = check_output_value(output_value)
    items, single = as_text_list(texts)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    check_num_threads(num_threads)
    if num_threads is None:
        num_threads = getattr(model, "num_threads", None)
    normalize = bool(resolve_normalize(normalize, normalize_embeddings))
    truncate = check_truncate_dim(model.truncate_dim if truncate_dim is None else truncate_dim, model.embedding_dim)
    items = apply_prompt(items, resolve_prompt(model.prompts, model.default_prompt_name, prompt, prompt_name))
    sentences = output_value == "sentence_embedding"
    if not sentences and precision != "float32" and (output_value is None or precision not in ST_QUANTIZED):
        raise ValueError(
            f"precision={precision!r} applies to sentence embeddings (token embeddings: one of {list(ST_QUANTIZED)})"
        )
    if pool is not None or isinstance(device, (list, tuple)):
        options = {
            "batch_size": batch_size,
            "num_threads": num_threads,
            "normalize_embeddings": normalize,
            # every setting explicit: a worker's copy of the model has the settings it had when the pool started
            "truncate_dim": truncate or model.embedding_dim,
            "prompt": "",  # already in front of the texts
            "output_value": output_value,
            "convert_to_tensor": sentences,
        }
        if not items:
            result: Any = torch.empty((0, truncate or model.embedding_dim)) if sentences else []
        else:
            result = encode_in_pool(items, pool, device, chunk_size, options, model)
    elif not items:
        result = torch.empty((0, truncate or model.embedding_dim), dtype=torch.float32) if sentences else []
    else:
        with inference_context(model), num_threads_context(num_threads), torch.inference_mode():
            if device is not None and torch.device(device) != model.device:
                model.to(device)
            if sentences:
                result = encode_sorted(model, items, batch_size, show_progress_bar, normalize and truncate is None)
                result = truncate_and_normalize(result, truncate, normalize and truncate is not None)
            else:
                result = encode_outputs(model, items, batch_size, show_progress_bar, output_value, truncate)
    if not sentences:  # a list of per-text outputs, as sentence-transformers gives (no conversion)
        if precision != "float32":
            result = quantize_embeddings(result, precision)
        return result[0] if single else result
    if precision != "float32":
        result = torch.from_numpy(quantize(result, precision))  # (N, D) or (N, D / 8)
    if single:
        result = result[0]
    if convert_to_tensor:
        return result
    return result.numpy() if convert_to_numpy else list(result)


__all__ = ["run_encode"]
