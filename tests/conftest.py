"""Shared fixtures: a tiny random BERT twin tower for unit tests, and the real default model."""

from __future__ import annotations

import os

import pytest
import torch
from helpers import LONGER, SENTENCES, SHORT, make_tiny_model  # noqa: F401  (re-exported for old imports)
from hypothesis import is_hypothesis_test, settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Hypothesis profiles: few examples in the default tier, many in the full tier (--hypothesis-profile=full).
# Property tests leave max_examples to the profile; each is marked ``property`` (see pytest_collection_modifyitems).
settings.register_profile("default", max_examples=10, deadline=None)
settings.register_profile("full", max_examples=200, deadline=None)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every Hypothesis test ``property``, so that the full tier can select them all."""
    for item in items:
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.property)


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
def default_onnx():
    """The default model exported to ONNX (float32), once per session."""
    pytest.importorskip("onnxruntime")
    from textsiam import SiameseModel

    return SiameseModel.from_pretrained(backend="onnx")


@pytest.fixture(scope="session")
def default_int8():
    """The default model exported to ONNX and quantised to int8, once per session."""
    pytest.importorskip("onnxruntime")
    from textsiam import SiameseModel

    return SiameseModel.from_pretrained(backend="onnx", quantize="int8")


@pytest.fixture(scope="session")
def default_sentence_transformer():
    """sentence-transformers' own model of the embedded folder, loaded once (skipped where it is not installed)."""
    st = pytest.importorskip("sentence_transformers")
    from textsiam.model.siamese import default_model_path

    return st.SentenceTransformer(str(default_model_path()), device="cpu")


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster (2 CPUs) for the whole session: the engine reuses an initialised Ray.

    Tests that use it are in the ``ray`` xdist group, so that the full tier (``-n 2 --dist loadgroup``) starts
    it on one worker only.
    """
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2, logging_level="WARNING")
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def data_dir():
    d = os.environ.get("TEXTSIAM_DATA")
    if not d or not os.path.isdir(d):
        pytest.skip("TEXTSIAM_DATA is not set to the shared data folder")
    return d
