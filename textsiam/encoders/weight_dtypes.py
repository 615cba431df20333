"""The stored dtype of every weight, checked: integer or boolean tensors where a model has floating-point weights
are an error, not silently cast.

Loading casts each stored tensor to the dtype of the parameter it fills, so a ``query.weight`` saved as ``int64``
(a damaged file, or a wrong conversion script) would load as its values rounded to integers, mostly zeros, and
every score would be wrong. float16, bfloat16 and float64 weights are fine: they are cast to the model's dtype.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

#: The weights files of a ``transformers`` checkpoint: one file, or the index of its shards.
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"


#: safetensors' dtype names, as torch names them (for messages).
DTYPE_NAMES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "U16": "uint16",
    "I32": "int32",
    "U32": "uint32",
    "I64": "int64",
    "U64": "uint64",
    "C64": "complex64",
}


def is_floating(dtype: str | torch.dtype) -> bool:
    """Whether a stored dtype is a floating-point one (safetensors' ``F32``, ``BF16``, ... or a ``torch.dtype``)."""
    if isinstance(dtype, torch.dtype):
        return dtype.is_floating_point
    return dtype.startswith(("F", "BF"))


def stored_dtypes(files: list[Path]) -> dict[str, str]:
    """Tensor name -> safetensors dtype (``"F32"``, ``"I64"``, ...) of the given files; only headers are read."""
    from safetensors import safe_open

    out: dict[str, str] = {}
    for path in files:
        with safe_open(str(path), framework="pt") as fh:
            for key in fh.keys():  # noqa: SIM118 (a safe_open handle is not a dict)
                out[key] = fh.get_slice(key).get_dtype()
    return out


def check_weight_dtypes(model: nn.Module, stored: Mapping[str, str | torch.dtype], where: str | Path) -> None:
    """``ValueError`` naming the first stored tensor that is not floating-point where ``model`` has a floating
    parameter or buffer of that name.

    ``stored`` maps the checkpoint's tensor names to their dtypes; names with the model's ``base_model_prefix``
    (``bert.embeddings...``, as a task model saves them) are matched without it. Tensors the model lacks are
    left to :func:`~textsiam.encoders.loading.check_loaded_keys`.
    """
    own = model.state_dict()
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    for key, dtype in stored.items():
        name = key if key in own or prefix == "." else key.removeprefix(prefix)
        tensor = own.get(name)
        if tensor is None or not tensor.is_floating_point() or is_floating(dtype):
            continue
        shown = str(dtype).removeprefix("torch.") if isinstance(dtype, torch.dtype) else DTYPE_NAMES.get(dtype, dtype)
        raise ValueError(
            f"{where}: tensor {key!r} is stored as {shown}, but the model needs floating-point weights there "
            f"({str(tensor.dtype).removeprefix('torch.')}); the file is damaged or not a checkpoint of this model"
        )


def local_weights_files(directory: Path) -> list[Path]:
    """The safetensors files of a local checkpoint folder: ``model.safetensors`` or the shards its index names."""
    index = directory / WEIGHTS_INDEX
    if (directory / WEIGHTS_FILE).is_file():
        return [directory / WEIGHTS_FILE]
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return []  # transformers loaded it, so this does not happen; the check is skipped if it does
        return [directory / s for s in shards if (directory / s).is_file()]
    return []


def hub_weights_files(repo_id: str, hub_kwargs: Mapping[str, Any]) -> list[Path]:
    """The cached ``model.safetensors`` of a Hub model that ``transformers`` has just loaded (empty if none)."""
    from huggingface_hub import try_to_load_from_cache

    subfolder = hub_kwargs.get("subfolder") or ""
    name = f"{subfolder}/{WEIGHTS_FILE}" if subfolder else WEIGHTS_FILE
    try:
        found = try_to_load_from_cache(
            repo_id, name, cache_dir=hub_kwargs.get("cache_dir"), revision=hub_kwargs.get("revision")
        )
    except Exception as err:  # an odd repo id or cache: transformers has loaded the weights, skip the check
        logger.debug("no cached weights of %s to check the dtypes of: %s", repo_id, err)
        return []
    return [Path(found)] if isinstance(found, str) else []


def check_checkpoint_dtypes(model: nn.Module, name_or_path: str | Path, hub_kwargs: Mapping[str, Any]) -> None:
    """:func:`check_weight_dtypes` for the safetensors weights ``transformers`` loaded ``model`` from: a local
    folder or a Hub model in the local cache (pickled ``.bin`` weights are not inspected)."""
    directory = Path(name_or_path)
    if directory.is_dir():
        directory = directory / (hub_kwargs.get("subfolder") or "")
        files = local_weights_files(directory)
        where: Path | str = files[0] if len(files) == 1 else directory
    else:
        files = hub_weights_files(str(name_or_path), hub_kwargs)
        where = str(name_or_path)
    if files:
        check_weight_dtypes(model, stored_dtypes(files), where)
