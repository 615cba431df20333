"""The package version, and the versions of the stack it runs on (recorded in results, model cards and saves).

A module of its own, so that any layer can read them without importing the package.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable

__version__ = "0.1.0"

#: The numerical stack whose versions results record: distribution name -> module name.
STACK: dict[str, str] = {
    "textsiam": "textsiam",
    "torch": "torch",
    "transformers": "transformers",
    "datasets": "datasets",
    "scikit-learn": "sklearn",
    "scipy": "scipy",
    "numpy": "numpy",
}


def package_versions(names: Iterable[str] | None = None) -> dict[str, str]:
    """Installed versions of ``names`` (distribution names; default :data:`STACK`), ``"not installed"`` if missing."""
    out: dict[str, str] = {}
    for dist in STACK if names is None else names:
        try:
            out[dist] = importlib.metadata.version(dist)
            continue
        except importlib.metadata.PackageNotFoundError:
            pass
        try:
            out[dist] = str(getattr(importlib.import_module(STACK.get(dist, dist)), "__version__", "unknown"))
        except ImportError:
            out[dist] = "not installed"
    return out
