"""Shared fixtures: a tiny random BERT twin tower for unit tests, and the real default model."""

from __future__ import annotations

import os

import pytest
import torch
from helpers import LONGER, SENTENCES, SHORT, make_tiny_model  # noqa: F401  (re-exported for old imports)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
