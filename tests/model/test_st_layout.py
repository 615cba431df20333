"""Saves that sentence-transformers reads as the same model (#17), and reading its layouts back (#15 item 11)."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest

from textsiam.model.siamese import SiameseModel
from textsiam.model.st_layout import STLayoutError

TEXTS = [
    "A man is playing a guitar.",
    "How do I learn Python quickly and well, starting from nothing at all?",
    "",
    "Short.",
    "The quick brown fox jumps over the lazy dog " * 12,  # longer than max_seq_length
]
CONFIGS = list(itertools.product(["mean", "cls", "max", "weighted_mean"], [False, True], [None, 16], [64, 40]))


@pytest.fixture(scope="module")
def sentence_transformer():
    st = pytest.importorskip("sentence_transformers")
    return st.SentenceTransformer


@pytest.mark.parametrize(("pooling", "normalize", "projection_dim", "max_seq_length"), CONFIGS)
def test_sentence_transformers_gives_the_same_embeddings(
    tiny_model_dir, tmp_path, sentence_transformer, pooling, normalize, projection_dim, max_seq_length
):
    model = SiameseModel.from_pretrained(
        tiny_model_dir,
        pooling=pooling,
        normalize=normalize,
        projection_dim=projection_dim,
        max_seq_length=max_seq_length,
        device="cpu",
    )
    path = model.save(tmp_path / "m")
    st = sentence_transformer(str(path), device="cpu")
    assert st.max_seq_length == max_seq_length
    ours, theirs = model.encode(TEXTS), st.encode(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), projection_dim or 32)
    np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0)
    if normalize:
        np.testing.assert_allclose(np.linalg.norm(theirs, axis=1), 1.0, atol=1e-5)


def test_default_model_round_trips_through_sentence_transformers(tmp_path, sentence_transformer, default_model):
    model = default_model
    path = model.save(tmp_path / "minilm")
    st = sentence_transformer(str(path), device="cpu")
    np.testing.assert_allclose(st.encode(TEXTS[:4]), model.encode(TEXTS[:4]), atol=1e-5, rtol=0)
    assert st.similarity_fn_name == "cosine"


def test_transformers_still_loads_the_transformer(tiny_model, tmp_path):
    from transformers import AutoModel

    path = tiny_model.save(tmp_path / "m")
    assert type(AutoModel.from_pretrained(path)).__name__ == "BertModel"


def test_textsiam_reloads_its_own_save_not_the_st_layout(tiny_model, tmp_path):
    tiny_model.encoder.pooling.mode = "max"
    path = tiny_model.save(tmp_path / "m")
    assert json.loads((path / "1_Pooling" / "config.json").read_text())["pooling_mode_max_tokens"] is True
    loaded = SiameseModel.from_pretrained(path)
    assert loaded.config == tiny_model.config


def test_lstm_tower_cannot_be_written_in_st_layout(tmp_path):
    model = SiameseModel.lstm(hidden_size=8, seed=0)
    with pytest.raises(STLayoutError, match="sentence-transformers has no module for textsiam's 'lstm' tower"):
        model.save(tmp_path / "lstm", st_layout=True)
    assert not (tmp_path / "lstm").exists()  # nothing half-written
    path = model.save(tmp_path / "lstm")  # default: textsiam's own layout only
    assert not (path / "modules.json").exists()


def test_st_layout_false_leaves_it_out(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "m", st_layout=False)
    assert not (path / "modules.json").exists() and (path / "textsiam.json").exists()


def test_malstm_similarity_is_not_claimed_for_st(tiny_model, tmp_path):
    tiny_model.similarity_fn_name = "malstm"
    path = tiny_model.save(tmp_path / "m")
    cfg = json.loads((path / "config_sentence_transformers.json").read_text())
    assert "similarity_fn_name" not in cfg


def test_normalize_before_dense_is_refused_not_reordered(tiny_model_dir, tmp_path, sentence_transformer):
    """textsiam projects, then normalises. A folder that normalises, then projects, would load as the other order
    and give other embeddings than sentence-transformers does, silently: it is refused, naming the file."""
    model = SiameseModel.from_pretrained(tiny_model_dir, normalize=True, projection_dim=16, device="cpu")
    path = model.save(tmp_path / "m")
    modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    assert kinds == ["Transformer", "Pooling", "Dense", "Normalize"]
    in_order = shutil.copytree(path, tmp_path / "in_order")
    (in_order / "textsiam.json").unlink()  # read as a sentence-transformers folder: the same model
    np.testing.assert_allclose(SiameseModel.from_pretrained(in_order).encode(TEXTS), model.encode(TEXTS), atol=1e-5)
    modules[2]["idx"], modules[3]["idx"] = 3, 2  # Normalize, then Dense
    (path / "modules.json").write_text(json.dumps(modules[:2] + [modules[3], modules[2]]), encoding="utf-8")
    st = sentence_transformer(str(path), device="cpu")  # sentence-transformers now normalises first ...
    assert np.abs(st.encode(TEXTS[:2]) - model.encode(TEXTS[:2])).max() > 1e-3  # ... and gets other embeddings
    (path / "textsiam.json").unlink()  # a sentence-transformers folder: textsiam reads its modules.json
    with pytest.raises(ValueError, match=r"modules\.json: a Normalize module comes before the Dense module"):
        SiameseModel.from_pretrained(path)
