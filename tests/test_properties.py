"""Property-based tests (hypothesis) of encode/similarity on the tiny random twin tower."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import LONGER, SENTENCES, make_tiny_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
text_lists = st.lists(texts, min_size=1, max_size=6)
# max_examples comes from the Hypothesis profile (tests/conftest.py): few by default, many in the full tier
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


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


@pytest.fixture(scope="module")
def saved_model_dir(model, tmp_path_factory):
    return model.save(tmp_path_factory.mktemp("determinism") / "tiny")


@pytest.fixture(scope="module")
def reloaded(saved_model_dir):
    """The same model loaded afresh from its saved folder: a second, independent set of modules and buffers."""
    from textsiam import SiameseModel

    return SiameseModel.from_pretrained(saved_model_dir, device="cpu").eval()


@SETTINGS
@given(items=text_lists, batch_size=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_determinism(model, reloaded, items, batch_size, seed):
    """Embeddings do not depend on the model object, the batch size or the order of the texts."""
    want = model.encode(items, batch_size=len(items))
    np.testing.assert_array_equal(model.encode(items, batch_size=len(items)), want)  # same call: bit for bit
    order = np.random.default_rng(seed).permutation(len(items))
    got = np.empty_like(want)
    got[order] = reloaded.encode([items[i] for i in order], batch_size=batch_size)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


DETERMINISM_TEXTS = [*SENTENCES, *LONGER, "Ünïcödé — 中文", "A man is playing a guitar. " * 40]


@pytest.mark.slow
def test_determinism_across_processes(model, saved_model_dir, tmp_path):
    """A fresh Python process, loading the saved folder, computes the same embeddings as this one."""
    out = tmp_path / "emb.npy"
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "from textsiam import SiameseModel\n"
        "texts = json.loads(sys.argv[2])\n"
        "model = SiameseModel.from_pretrained(sys.argv[1], device='cpu')\n"
        "np.save(sys.argv[3], model.encode(texts[::-1], batch_size=3)[::-1])\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-c", code, str(saved_model_dir), json.dumps(DETERMINISM_TEXTS), str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = np.load(out)
    want = model.encode(DETERMINISM_TEXTS, batch_size=len(DETERMINISM_TEXTS))
    assert got.shape == want.shape == (len(DETERMINISM_TEXTS), 32)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


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
