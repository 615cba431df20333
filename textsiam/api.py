"""One-line facade: ``textsiam.similarity(a, b)``.

Importing this module is light: torch and transformers load on the first call, so that ``import textsiam`` and
``textsiam --help`` stay fast.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from textsiam.model.siamese import SiameseModel
    from textsiam.texts import Texts

_CACHE: dict[str, SiameseModel] = {}
_LOCK = threading.Lock()


def get_model(model: str | os.PathLike | SiameseModel | None = None, **kwargs: Any) -> SiameseModel:
    """Return ``model`` if it is a :class:`SiameseModel`, else load it once and cache it by name.

    ``None`` is the embedded default model (all-MiniLM-L6-v2). Keyword arguments go to
    :meth:`SiameseModel.from_pretrained` and are part of the cache key.
    """
    siamese_model = importlib.import_module("textsiam.model.siamese").SiameseModel  # torch loads here, once
    if isinstance(model, siamese_model):
        return model
    key = repr((None if model is None else os.fspath(model), sorted(kwargs.items())))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = siamese_model.from_pretrained(model, **kwargs)
        return _CACHE[key]


def similarity(
    a: Texts,
    b: Texts,
    model: str | os.PathLike | SiameseModel | None = None,
    batch_size: int = 32,
    show_progress_bar: bool = False,
    calibrated: bool = False,
) -> float | np.ndarray:
    """Similarity of two texts (a ``float``) or of two equal-length lists (``(N,)`` array, pair ``i = (a[i], b[i])``).

    Args:
        a, b: strings, or lists of strings.
        model: a :class:`SiameseModel`, a directory or Hub name, or ``None`` for the embedded default model.
        batch_size: texts per forward pass.
        show_progress_bar: show a tqdm bar while encoding.
        calibrated: return calibrated scores (a probability, or the gold STS scale) with the model's calibrator
            (see :meth:`SiameseModel.calibrate`); raises :class:`~textsiam.calibration.NotCalibratedError` if
            the model has none.
    """
    return get_model(model).similarity(
        a, b, batch_size=batch_size, show_progress_bar=show_progress_bar, calibrated=calibrated
    )
