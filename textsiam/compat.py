"""Old import paths that moved in the 0.2 redesign: they keep working for one release, with a warning."""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable


def moved_module(old: str, new: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the old module ``old``: each name is read from ``new``, with a warning.

    Example (the whole body of a moved module)::

        from textsiam.compat import moved_module

        __getattr__ = moved_module(__name__, "textsiam.model.siamese")
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(importlib.import_module(new), name)
        warnings.warn(
            f"{old} is deprecated and will be removed in the next release; import {name} from {new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
