"""Fixtures for the training tests: tiny synthetic pair files and a tiny-model config factory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from textsiam.training import TrainConfig

from .helpers import VOCAB, fast_config, make_clf_rows, make_sts_rows, write_csv  # noqa: F401


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The tiny model gains nothing from intra-op threads, and on a shared machine they can cost 10x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def word_vector_tiny_model_dir(tmp_path_factory, default_tokenizer) -> Path:
    """The tiny 2-layer BERT, but with word embeddings from the default model (PCA to 32 dims).

    A randomly initialised tiny model cannot generalise from 200 STS-B pairs to unseen dev words; with
    meaningful word vectors, training its layers improves dev Spearman reliably and still takes seconds.
    """
    from helpers import make_tiny_model
    from safetensors.torch import load_file

    from textsiam.model.siamese import default_model_path

    weights = load_file(str(default_model_path() / "model.safetensors"))
    (key,) = [k for k in weights if k.endswith("word_embeddings.weight")]
    emb = weights[key].float()
    emb = emb - emb.mean(0)
    torch.manual_seed(0)
    _, _, v = torch.pca_lowrank(emb, q=32, center=False, niter=4)
    projected = emb @ v  # (vocab, 32)
    model = make_tiny_model(default_tokenizer)
    with torch.no_grad():
        model.encoder.model.embeddings.word_embeddings.weight.copy_(projected / projected.std() * 0.06)
    path = tmp_path_factory.mktemp("models") / "tiny_word_vectors"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def sts_files(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("sts")
    return write_csv(d / "train.csv", make_sts_rows(40, 1)), write_csv(d / "dev.csv", make_sts_rows(40, 2))


@pytest.fixture(scope="session")
def clf_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clf")
    return write_csv(d / "pairs.csv", make_clf_rows(40, 3))


@pytest.fixture
def tiny_config(tmp_path, tiny_model_dir, sts_files):
    """Factory: a fast config on the tiny model and the synthetic STS files (2 epochs x 5 steps)."""

    def make(**overrides) -> TrainConfig:
        return fast_config(tiny_model_dir, sts_files, **{"output_dir": str(tmp_path / "run"), **overrides})

    return make
