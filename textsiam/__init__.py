"""textsiam: text similarity with Siamese (twin-tower) networks.

>>> import textsiam
>>> textsiam.similarity("How do I learn Python?", "What is the best way to learn Python?")  # doctest: +SKIP
0.87...

``import textsiam`` is light: torch, transformers and faiss load when a model, an explanation or a mining run
first needs them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from textsiam.api import similarity
from textsiam.version import __version__

if TYPE_CHECKING:
    from textsiam.explain import Explanation, explain
    from textsiam.mining import MiningResult, mine_duplicates
    from textsiam.model.cross_encoder import CrossEncoder
    from textsiam.model.quantization import quantize_embeddings
    from textsiam.model.resolve import get_model
    from textsiam.model.siamese import SiameseConfig, SiameseModel
    from textsiam.model.st_api import truncate_embeddings
    from textsiam.search import community_detection, paraphrase_mining, paraphrase_mining_embeddings, semantic_search
    from textsiam.training.fitting import fit

#: Names loaded on first use (each pulls in torch): name -> module.
_LAZY = {
    "CrossEncoder": "textsiam.model.cross_encoder",
    "Explanation": "textsiam.explain",
    "explain": "textsiam.explain",
    "fit": "textsiam.training.fitting",
    "get_model": "textsiam.model.resolve",
    "MiningResult": "textsiam.mining",
    "mine_duplicates": "textsiam.mining",
    "SiameseConfig": "textsiam.model.siamese",
    "SiameseModel": "textsiam.model.siamese",
    "community_detection": "textsiam.search",
    "paraphrase_mining": "textsiam.search",
    "paraphrase_mining_embeddings": "textsiam.search",
    "quantize_embeddings": "textsiam.model.quantization",
    "semantic_search": "textsiam.search",
    "truncate_embeddings": "textsiam.model.st_api",
}


#: Sub-packages reachable as ``textsiam.<name>`` after a plain ``import textsiam`` (loaded on first use).
_SUBPACKAGES = frozenset(
    {
        "calibration",
        "data",
        "distributed",
        "encoders",
        "evaluation",
        "losses",
        "mining",
        "model",
        "plot",
        "search",
        "training",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"textsiam.{name}")  # the import binds it on the package
    raise AttributeError(f"module 'textsiam' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


#: Functions that share their name with a sub-module (``textsiam.explain`` the function and the package of the
#: same name). Importing such a sub-module must not replace the function on the package, which Python's import
#: system would otherwise do.
_FUNCTIONS_NAMED_LIKE_MODULES = frozenset({"explain"})


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS_NAMED_LIKE_MODULES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "CrossEncoder",
    "Explanation",
    "MiningResult",
    "SiameseConfig",
    "SiameseModel",
    "__version__",
    "community_detection",
    "explain",
    "fit",
    "get_model",
    "mine_duplicates",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "quantize_embeddings",
    "semantic_search",
    "similarity",
    "truncate_embeddings",
]
