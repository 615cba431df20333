"""Which kind of model a folder or Hub name holds, read from its ``config.json`` without loading it.

A cross-encoder (a sentence-transformers or textsiam ``CrossEncoder`` save) is a Hugging Face sequence-classification
model: its ``config.json`` names a ``...ForSequenceClassification`` architecture. Anything else (a textsiam or
sentence-transformers twin tower, a plain encoder checkpoint) is read as a twin tower. The command line
(:mod:`textsiam.cli.common`) and the teacher pipeline (:mod:`textsiam.training.silver_teachers`) both ask here.

This module imports nothing heavy (no torch, no transformers): it only reads JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "CROSS_ENCODER_ARCHITECTURE",
    "is_cross_encoder_config",
    "is_cross_encoder_model",
    "model_config",
]

#: The end of the ``architectures`` entry of a cross-encoder's ``config.json`` (a sentence-transformers or textsiam
#: ``CrossEncoder`` save: a Hugging Face sequence-classification model).
CROSS_ENCODER_ARCHITECTURE = "ForSequenceClassification"


def is_cross_encoder_config(config: Any) -> bool:
    """Whether the parsed ``config.json`` ``config`` is a cross-encoder's (an ``...ForSequenceClassification``)."""
    architectures = config.get("architectures") if isinstance(config, dict) else None
    if not isinstance(architectures, list):
        return False
    return any(isinstance(a, str) and a.endswith(CROSS_ENCODER_ARCHITECTURE) for a in architectures)


def model_config(name: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The parsed ``config.json`` of a model folder or of a Hub model already in the local cache (nothing is
    downloaded); ``None`` otherwise (``None`` itself, i.e. the embedded default model, and anything unreadable)."""
    if name is None:
        return None
    path = Path(name).expanduser()
    config_file: Path | None = path / "config.json"
    if not path.is_dir():
        config_file = None
        with contextlib.suppress(Exception):  # not a Hub name, not cached, offline: nothing to read
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(os.fspath(name), "config.json")
            config_file = Path(cached) if isinstance(cached, str) else None
    if config_file is None or not config_file.is_file():
        return None
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def is_cross_encoder_model(name: str | os.PathLike[str] | None) -> bool:
    """Whether ``name`` is a cross-encoder: a folder (or a Hub model already in the local cache) whose
    ``config.json`` names a ``...ForSequenceClassification`` architecture. ``None`` (the embedded default model),
    a twin tower and anything unreadable are not cross-encoders (their own loader reports what is wrong)."""
    return is_cross_encoder_config(model_config(name))
