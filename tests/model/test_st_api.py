"""sentence-transformers' vocabulary on SiameseModel, with sentence-transformers' meaning (#17 items 2 and 3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textsiam.model.siamese import SiameseModel

TEXTS = ["A man is playing a guitar.", "A person plays the guitar.", "Stocks fell sharply on Monday."]


def test_normalize_embeddings_is_normalize(tiny_model):
    emb = tiny_model.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(emb, tiny_model.encode(TEXTS, normalize=True))
    with pytest.raises(ValueError, match="normalize and normalize_embeddings disagree"):
        tiny_model.encode(TEXTS, normalize=True, normalize_embeddings=False)


def test_output_types(tiny_model):
    assert isinstance(tiny_model.encode(TEXTS), np.ndarray)
    assert isinstance(tiny_model.encode(TEXTS, convert_to_tensor=True), torch.Tensor)
    rows = tiny_model.encode(TEXTS, convert_to_numpy=False)
    assert isinstance(rows, list) and len(rows) == 3 and rows[0].shape == (32,)
    assert tiny_model.encode("one", convert_to_tensor=True).shape == (32,)


def test_device_and_unknown_keywords(tiny_model):
    assert tiny_model.encode(TEXTS, device="cpu").shape == (3, 32)
    with pytest.raises(TypeError, match="unexpected keyword argument 'show_progress'"):
        tiny_model.encode(TEXTS, show_progress=True)


def test_prompts(tiny_model):
    tiny_model.prompts = {"query": "query: ", "document": "passage: "}
    np.testing.assert_array_equal(
        tiny_model.encode(TEXTS, prompt="query: "), tiny_model.encode(["query: " + t for t in TEXTS])
    )
    np.testing.assert_array_equal(tiny_model.encode(TEXTS, prompt_name="query"), tiny_model.encode_query(TEXTS))
    np.testing.assert_array_equal(tiny_model.encode(TEXTS, prompt="passage: "), tiny_model.encode_document(TEXTS))
    with pytest.raises(ValueError, match=r"unknown prompt_name 'other'; this model's prompts: \['document', 'query'\]"):
        tiny_model.encode(TEXTS, prompt_name="other")


def test_truncate_dim_then_renormalise(tiny_model):
    full = tiny_model.encode(TEXTS)
    np.testing.assert_array_equal(tiny_model.encode(TEXTS, truncate_dim=8), full[:, :8])
    cut = tiny_model.encode(TEXTS, truncate_dim=8, normalize_embeddings=True)
    np.testing.assert_allclose(cut, full[:, :8] / np.linalg.norm(full[:, :8], axis=1, keepdims=True), atol=1e-6)
    for bad in (0, 33, True, 2.0):
        with pytest.raises(ValueError, match="truncate_dim must be an int in"):
            tiny_model.encode(TEXTS, truncate_dim=bad)


def test_truncate_dim_at_load_time(tiny_model_dir):
    model = SiameseModel.from_pretrained(tiny_model_dir, truncate_dim=16)
    assert model.get_sentence_embedding_dimension() == 16 and model.encode(TEXTS).shape == (3, 16)
    assert model.get_max_seq_length() == model.max_seq_length


def test_similarity_of_embeddings_is_a_matrix_as_in_sentence_transformers(tiny_model):
    util = pytest.importorskip("sentence_transformers.util")
    emb = tiny_model.encode(TEXTS)
    sims = tiny_model.similarity(emb[:2], emb)
    assert isinstance(sims, torch.Tensor) and sims.shape == (2, 3)
    torch.testing.assert_close(sims, util.cos_sim(emb[:2], emb))
    torch.testing.assert_close(
        tiny_model.similarity_pairwise(emb[:2], emb[1:]), util.pairwise_cos_sim(emb[:2], emb[1:])
    )
    # texts keep textsiam's pair-by-pair meaning
    assert tiny_model.similarity(TEXTS[:2], TEXTS[1:]).shape == (2,)
    with pytest.raises(ValueError, match="calibrated=True scores texts"):
        tiny_model.similarity(emb, emb, calibrated=True)
    with pytest.raises(TypeError, match=r"a must be embeddings \(a numeric numpy array or tensor\), got list"):
        tiny_model.similarity_pairwise(TEXTS, TEXTS)


def test_unknown_from_pretrained_keyword_fails_in_textsiam(tiny_model_dir):
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['hidden_dropout'\]"):
        SiameseModel.from_pretrained(tiny_model_dir, hidden_dropout=0.3)


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_embedded_model_by_its_names_offline(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = SiameseModel.from_pretrained(name)
    assert model.embedding_dim == 384 and model.normalize and model.max_seq_length == 256


def test_prompts_are_saved_and_read_by_sentence_transformers(tiny_model, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    tiny_model.prompts = {"query": "query: "}
    path = tiny_model.save(tmp_path / "m")
    assert SiameseModel.from_pretrained(path).prompts == {"query": "query: "}
    other = st.SentenceTransformer(str(path), device="cpu")
    assert other.prompts.get("query") == "query: "
    np.testing.assert_allclose(other.encode(TEXTS, prompt_name="query"), tiny_model.encode_query(TEXTS), atol=1e-5)
    np.testing.assert_allclose(
        other.encode(TEXTS, truncate_dim=8, normalize_embeddings=True),
        tiny_model.encode(TEXTS, truncate_dim=8, normalize_embeddings=True),
        atol=1e-5,
    )
