"""Sentence encoders: the towers of the twin."""

from __future__ import annotations

from textsiam.encoders.base import Encoder, PreTokenized
from textsiam.encoders.cnn import CNNConfig, CNNEncoder
from textsiam.encoders.lstm import LSTMConfig, LSTMEncoder
from textsiam.encoders.onnx import OnnxEncoder
from textsiam.encoders.pooling import POOLING_MODES, Pooling
from textsiam.encoders.static import StaticConfig, StaticEncoder
from textsiam.encoders.subword import EmbeddingConfig, SubwordEncoder
from textsiam.encoders.transformer import TransformerEncoder

# OnnxEncoder imports onnxruntime only when one is built or loaded (optional extra "onnx").
ENCODERS: dict[str, type[Encoder]] = {
    TransformerEncoder.encoder_type: TransformerEncoder,
    OnnxEncoder.encoder_type: OnnxEncoder,
    LSTMEncoder.encoder_type: LSTMEncoder,
    CNNEncoder.encoder_type: CNNEncoder,
    StaticEncoder.encoder_type: StaticEncoder,
}

__all__ = [
    "CNNConfig",
    "CNNEncoder",
    "ENCODERS",
    "EmbeddingConfig",
    "Encoder",
    "LSTMConfig",
    "LSTMEncoder",
    "OnnxEncoder",
    "POOLING_MODES",
    "Pooling",
    "PreTokenized",
    "StaticConfig",
    "StaticEncoder",
    "SubwordEncoder",
    "TransformerEncoder",
]
