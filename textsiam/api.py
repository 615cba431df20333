"""One-line facade: ``textsiam.similarity(a, b)``, and :func:`~textsiam.model.resolve.get_model` re-exported.

Importing this module is light: torch and transformers load on the first call, so that ``import textsiam`` and
``textsiam --help`` stay fast.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from textsiam.model.resolve import get_model
    from textsiam.model.siamese import SiameseModel
    from textsiam.texts import Texts

#: Where :func:`get_model` lives (the model layer); it is read on first use, as loading it loads torch.
_GET_MODEL_HOME = "textsiam.model.resolve"


def __getattr__(name: str) -> Any:
    if name == "get_model":
        return importlib.import_module(_GET_MODEL_HOME).get_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    shared = importlib.import_module(_GET_MODEL_HOME).get_model(model)  # torch loads here, once
    return shared.similarity(a, b, batch_size=batch_size, show_progress_bar=show_progress_bar, calibrated=calibrated)


__all__ = ["get_model", "similarity"]
