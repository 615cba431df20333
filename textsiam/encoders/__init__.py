"""Sentence encoders: the towers of the twin."""

from __future__ import annotations

from textsiam.encoders.base import Encoder
from textsiam.encoders.pooling import POOLING_MODES, Pooling
from textsiam.encoders.transformer import TransformerEncoder

ENCODERS: dict[str, type[Encoder]] = {TransformerEncoder.encoder_type: TransformerEncoder}

__all__ = ["ENCODERS", "Encoder", "POOLING_MODES", "Pooling", "TransformerEncoder"]
