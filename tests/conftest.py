"""Shared fixtures: a tiny random BERT twin tower for unit tests, and the real default model."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (small recurrent / convolutional towers; restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def default_tokenizer():
    from transformers import AutoTokenizer

    from textsiam.model.siamese import default_model_path

    return AutoTokenizer.from_pretrained(default_model_path())


def make_tiny_model(tokenizer, pooling: str = "mean", similarity: str = "cosine", seed: int = 0, **kwargs):
    """A randomly initialised 2-layer BERT with the default tokenizer, wrapped as a twin tower."""
    from transformers import BertConfig, BertModel

    from textsiam.encoders import TransformerEncoder
    from textsiam.model.siamese import SiameseModel

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    encoder = TransformerEncoder(BertModel(config), tokenizer, pooling=pooling, max_seq_length=64)
    return SiameseModel(encoder, similarity=similarity, device="cpu", **kwargs)


@pytest.fixture
def tiny_model(default_tokenizer):
    return make_tiny_model(default_tokenizer)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, default_tokenizer):
    """A tiny model saved once per session (for CLI and loading tests)."""
    path = tmp_path_factory.mktemp("models") / "tiny"
    make_tiny_model(default_tokenizer).save(path)
    return path


@pytest.fixture(scope="session")
def default_model():
    from textsiam import SiameseModel

    return SiameseModel.from_pretrained(device="cpu")


@pytest.fixture(scope="session")
def data_dir():
    d = os.environ.get("TEXTSIAM_DATA")
    if not d or not os.path.isdir(d):
        pytest.skip("TEXTSIAM_DATA is not set to the shared data folder")
    return d
