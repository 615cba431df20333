"""#24 item 4: sentence-transformers calls textsiam lacked: token outputs, ``get_embedding_dimension``,
``truncate_embeddings``, multi-process encoding (``device=[...]``, ``pool=``), top-level search functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import textsiam
from textsiam.model.siamese import SiameseModel

st = pytest.importorskip("sentence_transformers")

TEXTS = ["A man is playing a guitar.", "A person plays the guitar.", "Stocks fell.", "How do I learn Python, fast?"]


def test_token_embeddings_equal_sentence_transformers(default_model, default_sentence_transformer):
    ours = default_model.encode(TEXTS, output_value="token_embeddings", batch_size=3)
    theirs = default_sentence_transformer.encode(TEXTS, output_value="token_embeddings", batch_size=3)
    assert isinstance(ours, list) and len(ours) == len(theirs)
    for o, t in zip(ours, theirs, strict=True):
        assert isinstance(o, torch.Tensor) and o.shape == t.shape  # (tokens of the text, 384)
        torch.testing.assert_close(o, t, atol=1e-5, rtol=0)
    single = default_model.encode(TEXTS[0], output_value="token_embeddings")
    torch.testing.assert_close(single, theirs[0], atol=1e-5, rtol=0)
    for precision in ("int8", "ubinary"):
        got = default_model.encode(TEXTS, output_value="token_embeddings", precision=precision)
        want = default_sentence_transformer.encode(TEXTS, output_value="token_embeddings", precision=precision)
        for o, t in zip(got, want, strict=True):
            np.testing.assert_array_equal(o, t)


def test_all_outputs_equal_sentence_transformers(default_model, default_sentence_transformer):
    ours = default_model.encode(TEXTS, output_value=None, truncate_dim=64)
    theirs = default_sentence_transformer.encode(TEXTS, output_value=None, truncate_dim=64)
    for o, t in zip(ours, theirs, strict=True):
        mask = t["attention_mask"].bool()  # sentence-transformers leaves the token values padded to the batch
        assert set(o) == {"input_ids", "attention_mask", "token_type_ids", "token_embeddings", "sentence_embedding"}
        for name in ("input_ids", "attention_mask", "token_type_ids"):
            torch.testing.assert_close(o[name], t[name][mask])
        torch.testing.assert_close(o["token_embeddings"], t["token_embeddings"][mask], atol=1e-5, rtol=0)
        assert o["sentence_embedding"].shape == (64,)
        torch.testing.assert_close(o["sentence_embedding"], t["sentence_embedding"], atol=1e-5, rtol=0)


def test_output_value_errors(tiny_model):
    with pytest.raises(ValueError, match=r"unknown output_value 'tokens'; choose one of \['sentence_embedding'"):
        tiny_model.encode(TEXTS, output_value="tokens")
    with pytest.raises(ValueError, match="precision='float16' applies to sentence embeddings"):
        tiny_model.encode(TEXTS, output_value="token_embeddings", precision="float16")
    lstm = SiameseModel.lstm(source=tiny_model, hidden_size=8, seed=0, device="cpu")
    with pytest.raises(ValueError, match="LSTMEncoder has no token embeddings"):
        lstm.encode(TEXTS, output_value="token_embeddings")
    assert tiny_model.encode([], output_value="token_embeddings") == []


def test_embedding_dimension_and_truncation(default_model, default_sentence_transformer):
    assert default_model.get_embedding_dimension() == default_sentence_transformer.get_embedding_dimension() == 384
    assert default_model.get_sentence_embedding_dimension() == 384  # the older name stays
    full = default_model.encode(TEXTS)
    with default_model.truncate_embeddings(128), default_sentence_transformer.truncate_embeddings(128):
        assert default_model.get_embedding_dimension() == default_sentence_transformer.get_embedding_dimension()
        cut, reference = default_model.encode(TEXTS), default_sentence_transformer.encode(TEXTS)
    assert default_model.truncate_dim is None and default_model.get_embedding_dimension() == 384
    assert cut.shape == (4, 128)
    np.testing.assert_allclose(cut, reference, atol=1e-5)
    for x in (full, torch.from_numpy(full), full[0]):
        ours, theirs = textsiam.truncate_embeddings(x, 16), st.util.truncate_embeddings(x, 16)
        assert type(ours) is type(theirs) and ours.shape == theirs.shape
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    with pytest.raises(ValueError, match=r"truncate_dim must be an int in \[1, 384\]"):
        with default_model.truncate_embeddings(0):
            pass


@pytest.mark.slow  # two worker processes start (~9 s); the fast tier's pool runs in test_st_script.py
def test_encode_on_a_list_of_cpu_devices_gives_the_same_numbers(tiny_model):
    """``device=["cpu", "cpu"]``: a temporary pool of two worker processes (it used to be a raw torch TypeError)."""
    texts = TEXTS * 3
    expected = tiny_model.encode(texts, normalize_embeddings=True, truncate_dim=16)
    got = tiny_model.encode(texts, device=["cpu", "cpu"], normalize_embeddings=True, truncate_dim=16, chunk_size=5)
    assert isinstance(got, np.ndarray) and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.slow  # one worker process starts
def test_a_pool_follows_the_models_settings_of_each_call(tiny_model):
    """A worker holds a copy of the model from when the pool started: each call's settings must reach it."""
    tiny_model.truncate_dim = 16
    pool = tiny_model.start_multi_process_pool(["cpu"])
    try:
        with tiny_model.truncate_embeddings(None):  # the caller's model no longer truncates; the worker's copy does
            expected = tiny_model.encode(TEXTS)
            got = tiny_model.encode(TEXTS, pool=pool)
            full = tiny_model.get_embedding_dimension()
        assert got.shape == expected.shape == (len(TEXTS), full) and full > 16
        np.testing.assert_allclose(got, expected, atol=1e-5)
    finally:
        tiny_model.stop_multi_process_pool(pool)
    tiny_model.stop_multi_process_pool(pool)  # stopping twice does nothing
    with pytest.raises(ValueError, match=r"the pool has no worker processes \(was it stopped\?\)"):
        tiny_model.encode(TEXTS, pool=pool)


def test_pool_argument_errors(tiny_model):
    with pytest.raises(ValueError, match=r"devices must be a non-empty list such as \['cpu', 'cpu'\]"):
        tiny_model.start_multi_process_pool([])
    with pytest.raises(ValueError, match="not a torch device: 'gpu0'"):
        tiny_model.encode(TEXTS, device=["gpu0"])
    with pytest.raises(TypeError, match=r"pool must be the dictionary start_multi_process_pool\(\) returned"):
        tiny_model.encode(TEXTS, pool={"workers": 2})
    with pytest.raises(ValueError, match="chunk_size must be a positive int or None, got 0"):
        tiny_model.encode(TEXTS, pool={"input": None, "output": None, "processes": []}, chunk_size=0)


def test_search_functions_at_the_top_level(default_model):
    emb = default_model.encode(TEXTS, convert_to_tensor=True)
    assert textsiam.paraphrase_mining_embeddings(emb) == st.util.paraphrase_mining_embeddings(emb)
    assert textsiam.quantize_embeddings is textsiam.model.quantization.quantize_embeddings


def test_the_constructor_takes_a_model_name_as_sentence_transformers(tiny_model_dir):
    model = SiameseModel(str(tiny_model_dir), device="cpu", similarity_fn_name="dot", truncate_dim=8)
    reference = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    assert model.similarity_fn_name == "dot" and model.get_embedding_dimension() == 8 and not model.training
    np.testing.assert_array_equal(model.encode(TEXTS), reference.encode(TEXTS)[:, :8])
    assert dict(model.named_parameters()).keys() == dict(reference.named_parameters()).keys()
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['model_card_data'\]"):
        SiameseModel(str(tiny_model_dir), model_card_data=None)


def test_the_constructor_keeps_what_the_caller_asked_for_over_the_folder(tiny_model_dir, tmp_path):
    """``similarity="cosine"`` / ``normalize=False`` given by name win over a folder's dot / normalised setting."""
    saved = SiameseModel.from_pretrained(tiny_model_dir, similarity="dot", normalize=True, device="cpu")
    path = saved.save(tmp_path / "dot")
    assert SiameseModel(str(path), device="cpu").similarity_fn_name == "dot"  # the folder's, when not asked
    model = SiameseModel(str(path), similarity="cosine", normalize=False, device="cpu")
    assert model.similarity_fn_name == "cosine" and model.normalize is False
    assert SiameseModel(str(path), device="cpu").normalize is True
    with pytest.raises(TypeError, match="encoder must be a textsiam Encoder, got int"):
        SiameseModel(3)
