"""Token attributions: occlusion is the real score change, integrated gradients is complete, HTML is escaped."""

from __future__ import annotations

import json

import numpy as np
import pytest

import textsiam
from textsiam.explain import Explanation, explain, faithfulness

A = "A man is playing a guitar."
B = "A person plays the guitar."


@pytest.fixture(scope="module")
def model(default_tokenizer):
    from helpers import make_tiny_model

    return make_tiny_model(default_tokenizer)


@pytest.mark.parametrize("method", ["occlusion", "integrated_gradients"])
def test_one_score_per_token_and_word(model, method):
    e = explain(A, B, model, method=method, steps=16)
    assert isinstance(e, Explanation) and e.method == method
    for side, text in ((e.a, A), (e.b, B)):
        assert side.text == text
        assert len(side.tokens) == len(side.token_scores) == len(side.token_offsets) > 0
        assert len(side.words) == len(side.word_scores) == len(side.word_offsets) == len(side.word_tokens)
        assert all(np.isfinite(side.token_scores)) and all(np.isfinite(side.word_scores))
        assert "[CLS]" not in side.tokens and "[SEP]" not in side.tokens
        assert sorted(j for g in side.word_tokens for j in g) == list(range(len(side.tokens)))
        assert [text[s:t] for s, t in side.word_offsets] == side.words
    assert e.a.words == ["A", "man", "is", "playing", "a", "guitar", "."]  # original casing, punctuation split
    assert e.score == pytest.approx(model.similarity(A, B), abs=1e-5)


def test_word_pieces_are_merged(model):
    e = explain("unbelievably tokenizable", "words", model)
    assert len(e.a.tokens) > len(e.a.words) == 2
    assert e.a.words == ["unbelievably", "tokenizable"]


def test_occlusion_is_the_actual_score_change(model):
    e = explain(A, B, model, method="occlusion")
    words = e.a.words
    for i, word in enumerate(words):
        start, end = e.a.word_offsets[i]
        reduced = (A[:start] + A[end:]).replace("  ", " ")
        expected = model.similarity(A, B) - model.similarity(reduced, B)
        assert e.a.word_scores[i] == pytest.approx(expected, abs=2e-5), word
    # single-piece words: the token score is the word score
    for group, score in zip(e.b.word_tokens, e.b.word_scores, strict=True):
        if len(group) == 1:
            assert e.b.token_scores[group[0]] == pytest.approx(score)


def test_multi_piece_word_occlusion_deletes_the_whole_word(model):
    text = "an unbelievably nice day"
    e = explain(text, B, model)
    i = e.a.words.index("unbelievably")
    assert len(e.a.word_tokens[i]) > 1
    expected = model.similarity(text, B) - model.similarity("an nice day", B)
    assert e.a.word_scores[i] == pytest.approx(expected, abs=2e-5)


@pytest.mark.parametrize("baseline", ["pad", "mask", "zero"])
def test_integrated_gradients_completeness(model, baseline):
    e = explain(A, B, model, method="integrated_gradients", steps=64, baseline=baseline)
    for side in (e.a, e.b):
        assert side.baseline_score is not None
        total = e.score - side.baseline_score
        assert sum(side.token_scores) == pytest.approx(total, abs=1e-4 + 1e-3 * abs(total))
        assert sum(side.word_scores) == pytest.approx(sum(side.token_scores))


def test_integrated_gradients_converges_with_steps(model):
    def gap(steps):
        e = explain(A, "Stocks fell sharply on Monday.", model, method="ig", steps=steps)
        return abs(sum(e.a.token_scores) - (e.score - e.a.baseline_score))

    assert gap(64) <= gap(2) + 1e-9


def test_html_renders_and_escapes(model):
    a = "<script>alert('x')</script> & friends"
    e = explain(a, 'He said "hi" <i>', model)
    page = e._repr_html_()
    assert "<script>" not in page and "<i>" not in page
    for escaped in ("&lt;", "&gt;", "&amp;", "&quot;", "&#x27;"):  # every word is its own span, escaped
        assert escaped in page
    assert "rgba(" in page and "title=" in page
    assert e.to_html(level="token").count("<span") >= len(e.a.tokens) + len(e.b.tokens)
    with pytest.raises(ValueError, match="level must be 'word' or 'token', got 'sentence'"):
        e.to_html(level="sentence")


def test_to_dict_is_plain_json(model):
    e = explain(A, B, model, method="ig", steps=8)
    d = json.loads(json.dumps(e.to_dict()))
    assert d["method"] == "integrated_gradients" and d["params"]["steps"] == 8
    assert d["a"]["tokens"] == e.a.tokens and len(d["b"]["word_scores"]) == len(e.b.words)
    assert "man(" in repr(e)


def test_top_and_edge_cases(model):
    e = explain(A, "", model)
    assert e.b.tokens == [] and e.b.word_scores == []
    assert len(e.a.top(3)) == 3
    assert e.a.top(3)[0][1] == max(e.a.word_scores)
    long = " ".join(["word"] * 200)  # truncated at max_seq_length=64
    e = explain(long, B, model)
    assert len(e.a.tokens) == model.max_seq_length - 2


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="method"):
        explain(A, B, model, method="shap")
    with pytest.raises(ValueError, match="baseline"):
        explain(A, B, model, method="ig", baseline="random")
    with pytest.raises(ValueError, match="steps"):
        explain(A, B, model, method="ig", steps=0)
    with pytest.raises(TypeError, match="a must be a string, got NoneType"):
        explain(None, B, model)


def test_model_state_is_restored(model):
    model.train()
    explain(A, B, model, method="ig", steps=4)
    assert model.training
    model.eval()


def test_exported_at_top_level():
    assert textsiam.explain is explain


def test_faithfulness_structure(model):
    pairs = {"text_a": [A, "The cat sits on the mat.", "x"], "text_b": [B, "A cat is on a mat.", "y"]}
    res = faithfulness(model, pairs, k=[1, 2], seed=0, n_random=2, n_resamples=50)
    assert res["method"] == "occlusion" and res["n_pairs"] == 3
    r1, r2 = res["results"]
    assert r1["k"] == 1 and r1["n_pairs"] == 3 and r2["n_skipped"] == 1  # "x"/"y": 2 tokens, not > k=2
    assert np.isfinite(r1["mean_difference"]) and 0 <= r1["win_rate"] <= 1
    again = faithfulness(model, list(zip(pairs["text_a"], pairs["text_b"], strict=True)), k=[1, 2], seed=0, n_random=2)
    assert again["results"][0]["mean_drop_random"] == pytest.approx(r1["mean_drop_random"])


@pytest.mark.slow
def test_faithfulness_on_default_model(default_model):
    pairs = [
        ("A man is playing a guitar.", "A man plays the guitar."),
        ("A woman is slicing an onion.", "A woman is cutting an onion."),
        ("Two dogs are running through a field.", "Two dogs run across a field."),
        ("A plane is taking off.", "An air plane is taking off."),
        ("The boy is riding a horse.", "A boy rides a horse."),
        ("A man is cutting up a cucumber.", "A man is slicing a cucumber."),
    ]
    for method in ("occlusion", "integrated_gradients"):
        res = faithfulness(default_model, pairs, k=2, seed=0, method=method, steps=16, n_resamples=200)
        row = res["results"][0]
        assert row["mean_drop_topk"] > row["mean_drop_random"], (method, row)
