"""Fingerprints: short digests that say whether a model or a table is still the one a cached result was made from.

The teacher pipeline (:mod:`~textsiam.training.silver`) keys its cached samples and teacher scores by them:

* a model folder: the SHA-256 of its files (weights, configs, tokenizer), by relative path, leaving out the model
  card ``README.md`` and hidden files (temporaries of atomic writes);
* a Hub name: the same digest of its snapshot in the local cache (nothing is downloaded), else of the name alone;
* a model object in memory: the SHA-256 of its ``state_dict`` (names, dtypes, shapes and bytes of every tensor);
* rows of text: the SHA-256 of their JSON lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["digest_json", "folder_digest", "model_fingerprint", "rows_digest", "state_dict_digest"]

_READ_BYTES = 1 << 20
#: Files of a model folder that do not change what the model computes.
_NOT_HASHED = frozenset({"README.md"})


def digest_json(value: Any) -> str:
    """SHA-256 (hex) of ``value`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def rows_digest(rows: Iterable[Any]) -> str:
    """SHA-256 (hex) of rows (tuples or lists of JSON values), one JSON line each, in order."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(list(row), ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def folder_digest(folder: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the files under ``folder`` (relative path and content of each, sorted by path), leaving out
    ``README.md`` and hidden files and folders (``.NAME``: caches, temporaries of interrupted writes)."""
    root = Path(folder)
    h = hashlib.sha256()
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.name not in _NOT_HASHED
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    for path in files:
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            while block := fh.read(_READ_BYTES):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def state_dict_digest(module: Any) -> str:
    """SHA-256 (hex) of a ``torch.nn.Module``'s ``state_dict``: each tensor's name, dtype, shape and bytes."""
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\0".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _cached_snapshot(name: str) -> Path | None:
    """The local cache's snapshot folder of a Hub model (``None`` when it is not cached; nothing is downloaded)."""
    with contextlib.suppress(Exception):
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    return None


def model_fingerprint(source: Any) -> dict[str, str]:
    """What identifies a model's weights: ``{"name", "digest", "from"}``.

    Args:
        source: a model folder, a Hub name, ``None`` (the embedded default model), or a model object (a
            ``torch.nn.Module``; an object without a ``state_dict`` is known by its type and name only).

    Returns:
        ``name`` (as given, or the object's ``name_or_path``), ``digest`` (SHA-256 hex) and ``from``: ``"files"``,
        ``"weights in memory"`` or ``"name only"``.
    """
    from textsiam.model.loading import resolve_embedded_name

    if source is not None and not isinstance(source, (str, os.PathLike)):
        name = str(getattr(source, "name_or_path", "") or type(source).__name__)
        if callable(getattr(source, "state_dict", None)):
            return {"name": name, "digest": state_dict_digest(source), "from": "weights in memory"}
        identity = f"{type(source).__module__}.{type(source).__qualname__}:{name}"
        return {"name": name, "digest": digest_json(identity), "from": "name only"}
    name = "all-MiniLM-L6-v2 (embedded)" if source is None else os.fspath(source)
    path = Path(os.fspath(resolve_embedded_name(source))).expanduser()
    folder = path if path.is_dir() else _cached_snapshot(os.fspath(source))  # type: ignore[arg-type]
    if folder is not None and folder.is_dir():
        return {"name": name, "digest": folder_digest(folder), "from": "files"}
    logger.warning("%s is neither a folder nor a cached Hub model: it is known by its name only", name)
    return {"name": name, "digest": digest_json(name), "from": "name only"}
