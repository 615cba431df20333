"""textsiam: text similarity with Siamese (twin-tower) networks.

>>> import textsiam
>>> textsiam.similarity("How do I learn Python?", "What is the best way to learn Python?")  # doctest: +SKIP
0.87...
"""

from __future__ import annotations

__version__ = "0.1.0"

from textsiam.api import get_model, similarity  # noqa: E402
from textsiam.explain import Explanation, explain  # noqa: E402
from textsiam.mining import MiningResult, mine_duplicates  # noqa: E402
from textsiam.siamese import SiameseConfig, SiameseModel  # noqa: E402

__all__ = [
    "Explanation",
    "MiningResult",
    "SiameseConfig",
    "SiameseModel",
    "__version__",
    "explain",
    "get_model",
    "mine_duplicates",
    "similarity",
]
