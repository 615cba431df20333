"""Small light towers (CNN, LSTM, static) on the tiny BERT's tokenizer and 32-dim word embeddings, seeded.

Import them as ``from towers import small_cnn`` in ``tests/encoders`` (pytest puts this folder on the path).
"""

from __future__ import annotations

from textsiam import SiameseModel


def small_cnn(source, **kwargs) -> SiameseModel:
    kwargs.setdefault("num_filters", 8)
    return SiameseModel.cnn(source, device="cpu", seed=0, **kwargs)


def small_lstm(source, **kwargs) -> SiameseModel:
    kwargs.setdefault("hidden_size", 16)
    return SiameseModel.lstm(source, device="cpu", seed=0, **kwargs)


def small_static(source, **kwargs) -> SiameseModel:
    return SiameseModel.static(source, device="cpu", seed=0, **kwargs)


#: The light towers by their ``encoder_type``.
LIGHT_TOWERS = {"cnn": small_cnn, "lstm": small_lstm, "static": small_static}
