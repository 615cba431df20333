"""Property-based tests (hypothesis) of encode/similarity on the tiny random twin tower."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import make_tiny_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
text_lists = st.lists(texts, min_size=1, max_size=6)
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def model(default_tokenizer):
    return make_tiny_model(default_tokenizer).eval()


@SETTINGS
@given(a=text_lists, data=st.data())
def test_symmetry_and_cosine_range(model, a, data):
    b = data.draw(st.lists(texts, min_size=len(a), max_size=len(a)))
    ab, ba = model.similarity(a, b), model.similarity(b, a)
    np.testing.assert_allclose(ab, ba, atol=1e-6)
    assert np.all(ab <= 1 + 1e-5) and np.all(ab >= -1 - 1e-5)


@SETTINGS
@given(items=text_lists, batch_size=st.integers(1, 7))
def test_batch_equals_single_and_batch_size_invariance(model, items, batch_size):
    batched = model.encode(items, batch_size=batch_size)
    single = np.stack([model.encode(t) for t in items])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert np.isfinite(batched).all()


@SETTINGS
@given(items=text_lists)
def test_determinism(model, items):
    np.testing.assert_array_equal(model.encode(items), model.encode(items))


@pytest.mark.parametrize(
    "text",
    ["🙂🚀 emoji only", "   \t\n  ", "", "Ünïcödé — 中文 — العربية — हिन्दी", "\u200b\u200d zero width", "x" * 10_000],
)
def test_awkward_texts(default_tokenizer, text):
    model = make_tiny_model(default_tokenizer)
    emb = model.encode([text, "plain text"])
    assert emb.shape == (2, 32) and np.isfinite(emb).all()


def test_ten_thousand_characters_warn_once(default_tokenizer):
    model = make_tiny_model(default_tokenizer)
    long = " ".join(["word"] * 10_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.encode([long, long + " more", "short"])
        model.similarity(long, "short")
    assert sum("truncated" in str(w.message) for w in caught) == 1
