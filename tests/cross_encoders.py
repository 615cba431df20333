"""Test helpers for cross-encoders: a tiny random BERT cross-encoder, and a duck-typed fake that counts its calls.

Import them as ``from cross_encoders import make_tiny_cross_encoder, FakeCrossEncoder`` (``tests/`` is on the path).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch
from helpers import tiny_bert_config


def tiny_bert_classifier(tokenizer: Any, num_labels: int = 1, seed: int = 0, **config: Any):
    """A randomly initialised 2-layer BERT with a sequence-classification head (a Hugging Face model, seeded with
    ``seed``); ``config`` changes or adds fields of :func:`helpers.tiny_bert_config`."""
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    return BertForSequenceClassification(tiny_bert_config(tokenizer, num_labels=num_labels, **config))


def make_tiny_cross_encoder(tokenizer: Any, num_labels: int = 1, seed: int = 0, id2label: dict[int, str] | None = None):
    """A randomly initialised 2-layer BERT with a sequence-classification head, as a textsiam ``CrossEncoder``."""
    from textsiam.model.cross_encoder import CrossEncoder

    extra = {} if id2label is None else {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}
    model = tiny_bert_classifier(tokenizer, num_labels=num_labels, seed=seed, **extra)
    model.config.architectures = ["BertForSequenceClassification"]
    return CrossEncoder.from_model(model, tokenizer, device="cpu")


class FakeCrossEncoder:
    """A duck-typed cross-encoder: ``predict`` scores a pair by the word overlap of its texts (Jaccard), and has no
    ``encode``. With several labels its logits are ``k · overlap`` for label ``k``. Counts its ``predict`` calls."""

    def __init__(self, num_labels: int = 1, name: str = "fake-cross-encoder") -> None:
        self.num_labels = num_labels
        self.name_or_path = name
        self.calls: list[list[tuple[str, str]]] = []

    @staticmethod
    def overlap(a: str, b: str) -> float:
        wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
        return len(wa & wb) / max(1, len(wa | wb))

    def logits(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        s = np.array([self.overlap(a, b) for a, b in pairs], dtype=np.float32)
        if self.num_labels == 1:
            return s
        return np.stack([k * s for k in range(self.num_labels)], axis=1)

    def predict(
        self,
        pairs: Any,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Any = None,
        apply_softmax: bool = False,
        convert_to_numpy: bool = True,
    ) -> np.ndarray:
        pairs = [(a, b) for a, b in pairs]
        self.calls.append(pairs)
        out = self.logits(pairs)
        if apply_softmax and out.ndim == 2:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
        return out


def make_sigmoid_multi_label_cross_encoder(tokenizer: Any, num_labels: int = 2, seed: int = 0):
    """A tiny random cross-encoder with a multi-label head: ``num_labels`` outputs, each its own sigmoid probability
    (``activation_fn=nn.Sigmoid()``, not the default ``Identity``). Its head's weights are scaled up so that the
    logits spread over several units: a softmax of the sigmoids then differs clearly from the sigmoids."""
    from torch import nn

    model = make_tiny_cross_encoder(tokenizer, num_labels=num_labels, seed=seed)
    model.activation_fn = nn.Sigmoid()
    with torch.no_grad():
        torch.manual_seed(seed)
        model.model.classifier.weight.normal_(0.0, 3.0)
    return model
