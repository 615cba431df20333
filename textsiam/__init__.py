"""textsiam: text similarity with Siamese (twin-tower) networks.

>>> import textsiam
>>> textsiam.similarity("How do I learn Python?", "What is the best way to learn Python?")  # doctest: +SKIP
0.87...
"""

from __future__ import annotations

__version__ = "0.1.0"

from textsiam.api import get_model, similarity  # noqa: E402
from textsiam.siamese import SiameseConfig, SiameseModel  # noqa: E402

__all__ = ["SiameseConfig", "SiameseModel", "__version__", "get_model", "similarity"]
