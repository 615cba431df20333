"""#24 items 2 and 5: sentence-transformers' prompts (a default prompt included) and its similarity names, at load
time, in ``encode`` and through a re-save, compared with sentence-transformers itself."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from textsiam.model.scoring import SIMILARITY_FUNCTIONS
from textsiam.model.siamese import SiameseModel, default_model_path

st = pytest.importorskip("sentence_transformers")

TEXTS = ["How do I learn Python?", "A man is playing a guitar.", "Stocks fell sharply on Monday."]
PROMPTS = {"query": "query: ", "document": ""}


def _st_folder(path, **settings):
    """The embedded model's folder, with ``settings`` in its config_sentence_transformers.json."""
    shutil.copytree(default_model_path(), path)
    config = path / "config_sentence_transformers.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **settings}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def prompted(tmp_path_factory):
    """A sentence-transformers folder whose default prompt is "query: "; textsiam's and ST's model of it."""
    path = _st_folder(tmp_path_factory.mktemp("st") / "prompted", prompts=PROMPTS, default_prompt_name="query")
    return path, SiameseModel.from_pretrained(path, device="cpu"), st.SentenceTransformer(str(path), device="cpu")


def _close(a, b) -> None:
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


def test_the_default_prompt_is_used_as_in_sentence_transformers(prompted):
    _, model, reference = prompted
    assert model.prompts == PROMPTS and model.default_prompt_name == "query"
    _close(model.encode(TEXTS), reference.encode(TEXTS))
    _close(model.encode(TEXTS), model.encode(["query: " + t for t in TEXTS], prompt=""))  # the prefix was applied
    for kwargs in ({"prompt_name": "document"}, {"prompt_name": "query"}, {"prompt": "passage: "}, {"prompt": ""}):
        _close(model.encode(TEXTS, **kwargs), reference.encode(TEXTS, **kwargs))
    _close(model.encode_query(TEXTS), reference.encode_query(TEXTS))
    _close(model.encode_document(TEXTS), reference.encode_document(TEXTS))
    _close(model.encode(TEXTS[0]), reference.encode(TEXTS[0]))


def test_a_resave_keeps_the_prompts(prompted, tmp_path):
    path, model, reference = prompted
    model.save(tmp_path / "again")
    written = json.loads((tmp_path / "again" / "config_sentence_transformers.json").read_text())
    assert written["prompts"] == PROMPTS and written["default_prompt_name"] == "query"
    again = st.SentenceTransformer(str(tmp_path / "again"), device="cpu")
    assert again.default_prompt_name == "query" and again.prompts == PROMPTS
    _close(again.encode(TEXTS), reference.encode(TEXTS))
    reloaded = SiameseModel.from_pretrained(tmp_path / "again", device="cpu")  # from textsiam.json
    assert reloaded.prompts == PROMPTS and reloaded.default_prompt_name == "query"
    _close(reloaded.encode(TEXTS), reference.encode(TEXTS))


def test_prompts_at_load_time_as_sentence_transformers_constructor(prompted, tmp_path):
    path, _, _ = prompted
    for kwargs in (
        {"prompts": {"query": "search query: "}},  # overrides the saved "query", keeps the saved default
        {"prompts": {"classify": "classify: "}, "default_prompt_name": "classify"},
        {"default_prompt_name": "document"},
    ):
        ours = SiameseModel.from_pretrained(path, device="cpu", **kwargs)
        theirs = st.SentenceTransformer(str(path), device="cpu", **kwargs)
        assert ours.prompts == {k: v for k, v in theirs.prompts.items()} and ours.default_prompt_name == (
            theirs.default_prompt_name
        )
        _close(ours.encode(TEXTS), theirs.encode(TEXTS))
    plain = SiameseModel.from_pretrained(default_model_path(), device="cpu", prompts={"query": "q: "})
    assert plain.prompts == {"query": "q: "} and plain.default_prompt_name is None
    with pytest.raises(ValueError, match=r"default_prompt_name 'nope' is not one of this model's prompts"):
        SiameseModel.from_pretrained(path, default_prompt_name="nope")
    with pytest.raises(TypeError, match="prompts must be a dict of strings"):
        SiameseModel.from_pretrained(path, prompts={"query": 1})
    bad = _st_folder(tmp_path / "bad", prompts=PROMPTS, default_prompt_name="missing")
    with pytest.raises(ValueError, match=r"config_sentence_transformers.json: default_prompt_name 'missing'"):
        SiameseModel.from_pretrained(bad)


# ---------------------------------------------------------------------------------------------- item 5
def test_a_bogus_similarity_name_is_refused_when_set(tiny_model):
    with pytest.raises(ValueError, match=r"unknown similarity function 'bogus'; choose one of \['cosine', 'dot'"):
        tiny_model.similarity_fn_name = "bogus"
    assert tiny_model.similarity_fn_name == "cosine"
    for name in SIMILARITY_FUNCTIONS:
        tiny_model.similarity_fn_name = name
        assert tiny_model.similarity_fn_name == name == tiny_model.config.similarity
    tiny_model.similarity_fn_name = st.SimilarityFunction.DOT_PRODUCT  # sentence-transformers' enum
    assert tiny_model.similarity_fn_name == "dot"


def test_a_bogus_similarity_name_is_refused_at_load(tmp_path, tiny_model_dir):
    with pytest.raises(ValueError, match=r"unknown similarity function 'bogus'; choose one of"):
        SiameseModel.from_pretrained(tiny_model_dir, similarity="bogus")
    bogus = _st_folder(tmp_path / "bogus", similarity_fn_name="bogus")
    with pytest.raises(ValueError, match=r"unknown similarity_fn_name 'bogus'; one of \['cosine', 'dot'"):
        SiameseModel.from_pretrained(bogus)


def test_the_similarity_of_a_sentence_transformers_folder_is_read(tmp_path):
    path = _st_folder(tmp_path / "dot", similarity_fn_name="dot")
    model, reference = SiameseModel.from_pretrained(path, device="cpu"), st.SentenceTransformer(str(path), device="cpu")
    assert model.similarity_fn_name == reference.similarity_fn_name == "dot"
    assert SiameseModel(str(path), device="cpu").similarity_fn_name == "dot"  # sentence-transformers' constructor
    emb = model.encode(TEXTS)
    np.testing.assert_allclose(model.similarity(emb, emb), reference.similarity(emb, emb), atol=1e-6)
