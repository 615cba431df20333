"""Training prompts (sentence-transformers' ``prompts``): a prefix per task in training, in the dev metric and at
test time, kept by the trained model as named prompts."""

from __future__ import annotations

import numpy as np
import pytest

import textsiam
from textsiam.model.prompted import PromptedModel, with_prompt
from textsiam.training import ConfigError, TrainConfig
from textsiam.training.collator import SiameseDataCollator
from textsiam.training.prompts import model_prompts, prompt_for_test_set, prompts_problem, task_prompts

from .helpers import make_clf_rows, make_sts_rows


def test_the_collator_puts_the_prompt_before_every_text():
    seen: list[list[str]] = []

    def tokenize(texts):
        seen.append(list(texts))
        return {"input_ids": np.zeros((len(texts), 1))}, 0

    collator = SiameseDataCollator(tokenize, label_dtype="float", prompt="sts: ")
    collator([{"text_a": "a", "text_b": "b", "label": 1.0}, {"text_a": "c", "text_b": "d", "label": 0.0}])
    assert seen == [["sts: a", "sts: c"], ["sts: b", "sts: d"]]
    with pytest.raises(TypeError, match="prompt must be a string"):
        SiameseDataCollator(tokenize, prompt=None)  # type: ignore[arg-type]


def test_prompt_settings_are_checked_against_the_tasks():
    assert prompts_problem("q: ", []) is None and prompts_problem({"a": "x"}, ["a", "b"]) is None
    assert "not tasks of train_datasets" in prompts_problem({"c": "x"}, ["a", "b"])
    assert "per-column prompts are not supported" in prompts_problem({"a": {"text_a": "q: "}}, ["a"])
    assert "takes one string" in prompts_problem({"text_a": "q: "}, [])
    assert task_prompts({"a": "x: "}, ["a", "b"], multi=True) == {"a": "x: ", "b": ""}
    assert task_prompts("q: ", ["train"], multi=False) == {"train": "q: "}
    assert model_prompts("q: ") == ({"train": "q: "}, "train")
    assert model_prompts({"a": "x: ", "b": ""}) == ({"a": "x: "}, None)
    assert prompt_for_test_set({"a": "x: "}, "stsb", {"a": "stsb", "b": "sick"}) == "x: "
    assert prompt_for_test_set({"a": "x: "}, "sick", {"a": "stsb", "b": "sick"}) == ""
    with pytest.raises(ConfigError, match="are not tasks of train_datasets"):
        TrainConfig(train_datasets={"sts": {"dataset": "stsb"}}, prompts={"sick": "r: "}).validate()
    config = TrainConfig(train_datasets={"sts": {"dataset": "stsb"}, "rel": {"dataset": "sick"}}, prompts={})
    config = config.with_overrides(["prompts.rel=relatedness: "])  # a prompt is read verbatim, not as YAML
    assert config.prompts == {"rel": "relatedness: "}


def test_a_prompted_view_encodes_as_the_model_does_with_that_prompt(tiny_model):
    view = with_prompt(tiny_model, "sts: ")
    assert isinstance(view, PromptedModel) and with_prompt(tiny_model, "") is tiny_model
    np.testing.assert_allclose(view.encode(["a cat"]), tiny_model.encode(["sts: a cat"]), atol=1e-6)
    np.testing.assert_allclose(view.encode(["a cat"], prompt=""), tiny_model.encode(["a cat"]), atol=1e-6)
    assert view.similarity_fn_name == tiny_model.similarity_fn_name


def test_fit_with_task_prompts_trains_evaluates_and_keeps_them(tiny_model, tmp_path):
    sts, dup = make_sts_rows(32, 1), make_clf_rows(32, 2)
    seen: dict[str, list[str]] = {}
    encode = tiny_model.encode

    def spy(texts, *args, **kwargs):  # the dev metric encodes through the task's prompt
        seen.setdefault(kwargs.get("prompt") or "", []).extend(texts)
        return encode(texts, *args, **kwargs)

    tiny_model.encode = spy
    try:
        result = textsiam.fit(
            tiny_model,
            {"sts": sts, "dup": dup},
            loss={"sts": "cosine_similarity", "dup": "online_contrastive"},
            dev={"sts": make_sts_rows(20, 5), "dup": make_clf_rows(20, 6)},
            prompts={"sts": "similarity: "},
            epochs=1,
            batch_size=8,
            output_dir=tmp_path / "run",
            n_resamples=0,
            show_progress=False,
        )
    finally:
        del tiny_model.encode
    assert "similarity: " in seen and "" in seen  # sts's dev with its prompt, dup's without
    assert result.config.prompts == {"sts": "similarity: "}
    assert tiny_model.prompts["sts"] == "similarity: " and tiny_model.default_prompt_name is None
    saved = textsiam.SiameseModel.from_pretrained(tmp_path / "run" / "model")
    assert saved.prompts == {"sts": "similarity: "}
    np.testing.assert_allclose(
        saved.encode(["a cat"], prompt_name="sts"), saved.encode(["similarity: a cat"]), atol=1e-6
    )
    with pytest.raises(ConfigError, match="are not tasks of train_datasets"):
        textsiam.fit(tiny_model, {"sts": sts, "dup": dup}, prompts={"other": "x: "}, show_progress=False)


def test_one_prompt_for_a_one_dataset_run_becomes_the_default_prompt(tiny_model):
    result = textsiam.fit(
        tiny_model,
        make_sts_rows(16, 1),
        "cosine_similarity",
        prompts="query: ",
        epochs=1,
        batch_size=8,
        show_progress=False,
    )
    assert result.global_step == 2
    assert tiny_model.prompts["train"] == "query: " and tiny_model.default_prompt_name == "train"
    np.testing.assert_allclose(tiny_model.encode(["a"]), tiny_model.encode(["query: a"], prompt=""), atol=1e-6)
