"""Shared test helpers: example texts and a tiny random BERT twin tower (the fixtures in ``conftest.py`` use them).

Import them as ``from helpers import make_tiny_model, SENTENCES`` (``tests/`` is on the path in every test module).
"""

from __future__ import annotations

import torch

SENTENCES = [
    "A man is playing a guitar.",
    "A person plays the guitar.",
    "The cat sits on the mat.",
    "Stocks fell sharply on Monday.",
    "",
    "How do I learn Python quickly and well, starting from nothing at all?",
    "Short.",
]


#: A short text and two longer ones, for tests that batch texts of different lengths (padding independence).
SHORT = "A man is playing a guitar."
LONGER = [
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch.",
    "How do I learn Python quickly and well, starting from nothing at all, in one month?",
]


def tiny_bert_config(tokenizer, **overrides):
    """The config of the tiny BERT the tests build (2 layers of width 32, 128 positions, ``tokenizer``'s vocabulary);
    ``overrides`` change or add fields (``num_labels``, ``initializer_range``, ``num_hidden_layers``...)."""
    from transformers import BertConfig

    fields = dict(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    return BertConfig(**{**fields, **overrides})


def make_tiny_model(tokenizer, pooling: str = "mean", similarity: str = "cosine", seed: int = 0, **kwargs):
    """A randomly initialised 2-layer BERT with the default tokenizer, wrapped as a twin tower."""
    from transformers import BertModel

    from textsiam.encoders import TransformerEncoder
    from textsiam.model.siamese import SiameseModel

    torch.manual_seed(seed)
    encoder = TransformerEncoder(BertModel(tiny_bert_config(tokenizer)), tokenizer, pooling=pooling, max_seq_length=64)
    return SiameseModel(encoder, similarity=similarity, device="cpu", **kwargs)
