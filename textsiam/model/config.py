"""``textsiam.json``: everything besides the weights that defines a saved model, checked when it is read."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from textsiam.version import __version__

logger = logging.getLogger(__name__)

CONFIG_NAME = "textsiam.json"
PROJECTION_NAME = "projection.safetensors"


@dataclass
class SiameseConfig:
    """Everything besides the weights that defines a saved :class:`~textsiam.SiameseModel` (``textsiam.json``)."""

    encoder_type: str = "transformer"  # which Encoder class builds the tower (see textsiam.encoders.ENCODERS)
    pooling: str = "mean"  # token pooling: mean | cls | max | weighted_mean (LSTM towers also: last)
    similarity: str = "cosine"  # scoring function: cosine | dot | euclidean | manhattan | malstm
    max_seq_length: int = 256  # inputs longer than this many tokens are truncated, with one warning
    normalize: bool = False  # L2-normalise embeddings after pooling and projection
    projection_dim: int | None = None  # optional dense layer on top of pooling: D -> projection_dim
    projection_activation: str = "tanh"  # activation of that dense layer: tanh | identity | relu | gelu
    projection_bias: bool = True  # whether that dense layer has a bias
    encoder: dict[str, Any] = field(default_factory=dict)  # encoder-specific settings (e.g. LSTM sizes)
    prompts: dict[str, str] = field(default_factory=dict)  # named prefixes for encode(prompt_name=...)
    default_prompt_name: str | None = None  # the prompt encode() uses when given none (a key of prompts)
    textsiam_version: str = __version__  # the version that wrote the file

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SiameseConfig:
        """Build from the parsed ``textsiam.json``; ``ValueError`` for a value of the wrong type or range."""
        if not isinstance(data, dict):
            raise ValueError(f"{CONFIG_NAME} must hold a JSON object, found {type(data).__name__}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            logger.warning("ignoring unknown keys in %s: %s", CONFIG_NAME, sorted(unknown))
        values = {k: v for k, v in data.items() if k in known}
        for key, value in values.items():
            ok = CONFIG_CHECKS[key](value)
            if not ok:
                raise ValueError(
                    f"{CONFIG_NAME}: {key} must be {CONFIG_EXPECTED[key]}, found {value!r} ({type(value).__name__})"
                )
        default = values.get("default_prompt_name")
        if default is not None and default not in values.get("prompts", {}):
            raise ValueError(f"{CONFIG_NAME}: default_prompt_name {default!r} is not one of the prompts")
        return cls(**values)


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


#: What each ``textsiam.json`` field must hold: a real bool is a bool (the string "false" is not), a size a
#: positive int.
CONFIG_CHECKS: dict[str, Callable[[Any], bool]] = {
    "encoder_type": lambda v: isinstance(v, str),
    "pooling": lambda v: isinstance(v, str),
    "similarity": lambda v: isinstance(v, str),
    "max_seq_length": lambda v: is_int(v) and v >= 0,
    "normalize": lambda v: isinstance(v, bool),
    "projection_dim": lambda v: v is None or (is_int(v) and v >= 1),
    "projection_activation": lambda v: isinstance(v, str),
    "projection_bias": lambda v: isinstance(v, bool),
    "encoder": lambda v: isinstance(v, dict),
    "prompts": lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()),
    "default_prompt_name": lambda v: v is None or isinstance(v, str),
    "textsiam_version": lambda v: isinstance(v, str),
}
CONFIG_EXPECTED: dict[str, str] = {
    "encoder_type": "a string",
    "pooling": "a string",
    "similarity": "a string",
    "max_seq_length": "a non-negative integer",
    "normalize": "true or false",
    "projection_dim": "a positive integer or null",
    "projection_activation": "a string",
    "projection_bias": "true or false",
    "encoder": "a JSON object",
    "prompts": "a JSON object of strings",
    "default_prompt_name": "a string or null",
    "textsiam_version": "a string",
}
