"""One shared model per name: :func:`get_model` loads a model once and hands the same instance to every caller."""

from __future__ import annotations

import os
import threading
from typing import Any

from textsiam.model.siamese import SiameseModel

_CACHE: dict[str, SiameseModel] = {}
_LOCK = threading.Lock()


def get_model(model: str | os.PathLike | SiameseModel | None = None, **kwargs: Any) -> SiameseModel:
    """Return ``model`` if it is a :class:`SiameseModel`, else load it once and cache it by name.

    ``None`` is the embedded default model (all-MiniLM-L6-v2). Keyword arguments go to
    :meth:`SiameseModel.from_pretrained` and are part of the cache key.
    """
    if isinstance(model, SiameseModel):
        return model
    key = repr((None if model is None else os.fspath(model), sorted(kwargs.items())))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = SiameseModel.from_pretrained(model, **kwargs)
        return _CACHE[key]


__all__ = ["get_model"]
