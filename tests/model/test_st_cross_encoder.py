"""textsiam.CrossEncoder and sentence-transformers' CrossEncoder read each other's folders as the same model (#26):
textsiam's saves in sentence-transformers, sentence-transformers' saves (its current layout and the legacy plain
Hugging Face folder) in textsiam, with the same scores."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest
import torch
from cross_encoders import tiny_bert_classifier
from helpers import tiny_bert_config
from torch import nn

from textsiam.model.cross_encoder import CrossEncoder

st = pytest.importorskip("sentence_transformers")
pytestmark = pytest.mark.filterwarnings("ignore:.*were truncated:UserWarning")  # PAIRS[4] is cut on purpose

TORCH_NN = "torch.nn.modules"

PAIRS = [
    ("A man is playing a guitar.", "A person plays the guitar."),
    ("How do I learn Python quickly and well, starting from nothing at all?", "Learn Python fast."),
    ("", "Short."),
    ("The cat sits on the mat.", ""),
    ("The quick brown fox jumps over the lazy dog. " * 12, "A lazy dog is jumped over by a quick fox. " * 6),
    ("Stocks fell sharply on Monday.", "The market dropped at the start of the week, analysts said."),
]
DOCS = [b for _, b in PAIRS]


def tiny_classifier_folder(tokenizer, path, num_labels: int, seed: int = 0):
    """A random 2-layer BERT classifier saved as a plain Hugging Face folder (sentence-transformers' starting point)."""
    model = tiny_bert_classifier(tokenizer, num_labels=num_labels, seed=seed, initializer_range=0.2)  # scores apart
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tokenizer(default_tokenizer):
    return copy.deepcopy(default_tokenizer)


def assert_same_scores(ours: CrossEncoder, theirs, **kwargs) -> None:
    mine, reference = ours.predict(PAIRS, **kwargs), theirs.predict(PAIRS, **kwargs)
    assert mine.shape == reference.shape
    np.testing.assert_allclose(mine, reference, atol=1e-5, rtol=0)
    assert np.ptp(reference) > 0.01  # the pairs score apart: equal scores are not a coincidence


@pytest.mark.parametrize(("num_labels", "max_length"), [(1, None), (1, 24), (3, None), (3, 24)])
def test_sentence_transformers_reads_textsiam_saves(tokenizer, tmp_path, num_labels, max_length):
    folder = tiny_classifier_folder(tokenizer, tmp_path / "hf", num_labels)
    ours = CrossEncoder(folder, max_length=max_length, device="cpu")
    path = ours.save(tmp_path / "saved")
    theirs = st.CrossEncoder(str(path), device="cpu")
    assert (theirs.num_labels, theirs.max_seq_length) == (num_labels, max_length or 128)
    assert type(theirs.activation_fn) is type(ours.activation_fn)
    assert_same_scores(ours, theirs)
    if num_labels == 3:
        assert_same_scores(ours, theirs, apply_softmax=True)
    else:
        query = PAIRS[0][0]
        mine, reference = ours.rank(query, DOCS, return_documents=True), theirs.rank(query, DOCS, return_documents=True)
        assert [r["corpus_id"] for r in mine] == [r["corpus_id"] for r in reference]
        assert [r["text"] for r in mine] == [r["text"] for r in reference]
        np.testing.assert_allclose([r["score"] for r in mine], [r["score"] for r in reference], atol=1e-5)


@pytest.mark.parametrize(("num_labels", "activation"), [(1, None), (3, None), (1, nn.Tanh()), (3, nn.Sigmoid())])
def test_textsiam_reads_sentence_transformers_saves(tokenizer, tmp_path, num_labels, activation):
    folder = tiny_classifier_folder(tokenizer, tmp_path / "hf", num_labels)
    theirs = st.CrossEncoder(str(folder), device="cpu", max_length=40, activation_fn=activation)
    theirs.save(str(tmp_path / "st"))
    ours = CrossEncoder(tmp_path / "st", device="cpu")
    assert (ours.num_labels, ours.max_length) == (num_labels, 40)
    assert type(ours.activation_fn) is type(theirs.activation_fn)
    assert_same_scores(ours, theirs)


def test_a_new_head_on_an_encoder_is_the_one_sentence_transformers_builds(tokenizer, tmp_path):
    """Both put a new head on a plain encoder (num_labels 1, Sigmoid, the tokenizer's limit at the positions); its
    random weights differ, so the scores are compared through a save."""
    from transformers import BertModel

    plain = tmp_path / "plain"
    config = tiny_bert_config(tokenizer, num_hidden_layers=1, max_position_embeddings=96, initializer_range=0.2)
    BertModel(config).save_pretrained(plain)
    tokenizer.save_pretrained(plain)
    ours, theirs = CrossEncoder(plain, device="cpu"), st.CrossEncoder(str(plain), device="cpu")
    assert (ours.num_labels, ours.max_length, type(ours.activation_fn)) == (
        theirs.num_labels, theirs.max_seq_length, type(theirs.activation_fn),
    )  # fmt: skip
    assert ours.max_length == 96
    assert_same_scores(ours, st.CrossEncoder(str(ours.save(tmp_path / "saved")), device="cpu"))


def legacy_folder(tokenizer, path, num_labels: int, config_entries: dict, max_length: int):
    """A cross-encoder as sentence-transformers < 6 saved it: a plain Hugging Face folder, the activation in
    ``config.json``, the length in ``tokenizer_config.json``."""
    folder = tiny_classifier_folder(tokenizer, path, num_labels)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **config_entries}))
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "model_max_length": max_length}))
    return folder


@pytest.mark.parametrize(
    ("num_labels", "entries", "activation"),
    [
        (1, {"sentence_transformers": {"activation_fn": f"{TORCH_NN}.activation.Tanh", "version": "4.1"}}, nn.Tanh),
        (3, {"sentence_transformers": {"activation_fn": f"{TORCH_NN}.linear.Identity", "version": "5.0"}}, nn.Identity),
        (1, {"sbert_ce_default_activation_function": f"{TORCH_NN}.linear.Identity"}, nn.Identity),
        (3, {}, nn.Identity),
    ],
)  # fmt: skip
def test_legacy_folders_load_as_in_sentence_transformers(tokenizer, tmp_path, num_labels, entries, activation):
    folder = legacy_folder(tokenizer, tmp_path / "legacy", num_labels, entries, max_length=32)
    ours, theirs = CrossEncoder(folder, device="cpu"), st.CrossEncoder(str(folder), device="cpu")
    assert type(ours.activation_fn) is type(theirs.activation_fn) is activation
    assert ours.max_length == theirs.max_seq_length == 32
    assert_same_scores(ours, theirs)
    resaved = CrossEncoder(ours.save(tmp_path / "resaved"), device="cpu")  # now in the current layout
    assert type(resaved.activation_fn) is activation and not os.path.exists(tmp_path / "resaved" / "pytorch_model.bin")
    assert_same_scores(resaved, theirs)


def test_textsiam_saves_round_trip_through_sentence_transformers(tokenizer, tmp_path):
    folder = tiny_classifier_folder(tokenizer, tmp_path / "hf", 3)
    ours = CrossEncoder(folder, max_length=30, activation_fn=nn.Tanh(), device="cpu")
    theirs = st.CrossEncoder(str(ours.save(tmp_path / "ours")), device="cpu")
    theirs.save(str(tmp_path / "theirs"))
    again = CrossEncoder(tmp_path / "theirs", device="cpu")
    assert (again.max_length, type(again.activation_fn)) == (30, nn.Tanh)
    assert_same_scores(again, theirs)
    np.testing.assert_allclose(again.predict(PAIRS), ours.predict(PAIRS), atol=1e-6)


def test_default_model_with_a_new_head_saves_for_sentence_transformers(tmp_path):
    torch.manual_seed(0)
    ours = CrossEncoder(device="cpu")
    with torch.no_grad():
        ours.model.classifier.weight.normal_(0.0, 1.0)  # a head that tells the pairs apart
    theirs = st.CrossEncoder(str(ours.save(tmp_path / "minilm")), device="cpu")
    assert theirs.max_seq_length == ours.max_length == 512
    assert_same_scores(ours, theirs)
