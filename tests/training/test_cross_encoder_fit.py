"""Fine-tuning a cross-encoder through the twin tower's trainer (#26): ``textsiam.fit(cross_encoder, ...)`` and
``model_type: cross_encoder`` recipes; the same data forms, seeds, checkpoints, resume and dev selection; the heads
that fit the loss; the losses and settings that do not fit refused before any model loads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from cross_encoders import make_tiny_cross_encoder
from safetensors.torch import load_file
from transformers import TrainerCallback

import textsiam
from textsiam.evaluation import DevMetric, PairClassificationEvaluator
from textsiam.model.cross_encoder import CrossEncoder
from textsiam.training import ConfigError, TrainConfig, train

WORDS = [f"w{i}" for i in range(40)]


def marker_rows(n: int, seed: int) -> list[tuple[str, str, int]]:
    """A learnable toy task: label 1 iff the second text holds the word ``yes`` (``no`` otherwise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = " ".join(rng.choice(WORDS, 4, replace=False))
        b = list(rng.choice(WORDS, 3, replace=False))
        b.insert(int(rng.integers(4)), "yes" if i % 2 else "no")
        rows.append((a, " ".join(b), i % 2))
    return rows


def class_rows(n: int, seed: int) -> list[tuple[str, str, int]]:
    """Three classes: the second text holds ``yes`` (0), ``maybe`` (1) or ``no`` (2)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        b = list(rng.choice(WORDS, 3, replace=False))
        b.insert(int(rng.integers(4)), ("yes", "maybe", "no")[i % 3])
        out.append((" ".join(rng.choice(WORDS, 4, replace=False)), " ".join(b), i % 3))
    return out


def _settings(**extra):
    return {
        "epochs": 2,
        "batch_size": 8,
        "learning_rate": 1e-3,
        "seed": 7,
        "n_resamples": 0,
        "show_progress": False,
        **extra,
    }


@pytest.fixture
def tiny_ce(default_tokenizer):
    return make_tiny_cross_encoder(default_tokenizer)


@pytest.fixture(scope="module")
def tiny_ce_dir(tmp_path_factory, default_tokenizer) -> Path:
    """A tiny cross-encoder with a trained (saved) head of one label."""
    path = tmp_path_factory.mktemp("ce") / "tiny"
    make_tiny_cross_encoder(default_tokenizer).save(path)
    return path


def fresh_head(model: CrossEncoder) -> CrossEncoder:
    """The model as if its head were new on an encoder (what loading a plain encoder gives)."""
    model.config.architectures = ["BertModel"]
    return model


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------------------------- fit
def test_fit_trains_a_cross_encoder_in_place_and_keeps_the_best_dev_weights(tiny_ce):
    train_rows, dev = marker_rows(64, 1), marker_rows(40, 2)
    before = DevMetric("dev", pairs=dev, task="classification")(tiny_ce)
    result = textsiam.fit(tiny_ce, train_rows, dev=dev, eval_steps=4, **_settings())
    assert result.model is tiny_ce and not tiny_ce.training
    assert result.config.loss == "binary_cross_entropy" and result.config.model_type == "cross_encoder"
    assert result.metric_name == "cross_encoder_accuracy"
    best = max(h["cross_encoder_accuracy"] for h in result.dev_history)
    assert result.best_metric == pytest.approx(best) and best >= before + 10, (before, result.dev_history)
    # the weights in hand are those of the best evaluation, not of the last step
    assert result.evaluation.results[0]["primary_value"] == pytest.approx(best)
    assert result.evaluation.results[0]["cross_encoder"]["num_labels"] == 1


def test_fit_takes_a_dev_evaluator_and_a_loss_object(tiny_ce):
    from textsiam.losses import BinaryCrossEntropyLoss

    dev = {"question1": [r[0] for r in marker_rows(30, 2)], "question2": [r[1] for r in marker_rows(30, 2)]}
    dev["is_duplicate"] = [r[2] for r in marker_rows(30, 2)]
    evaluator = PairClassificationEvaluator(dev, name="my-dev", n_resamples=0)
    loss = BinaryCrossEntropyLoss(pos_weight=2.0)
    result = textsiam.fit(tiny_ce, marker_rows(32, 1), loss=loss, dev=evaluator, **_settings(epochs=1))
    assert result.config.loss == "binary_cross_entropy" and result.config.loss_kwargs["pos_weight"] == 2.0
    assert result.metric_name == "cross_encoder_accuracy"
    assert result.evaluation.results[0]["dataset"] == "my-dev"


@pytest.mark.parametrize("form", ["st-scores", "st-duplicates", "dataframe", "dataset", "csv"])
def test_every_data_form_of_the_twin_tower(tiny_ce, tmp_path, form):
    import datasets

    rows = marker_rows(16, 3)
    a, b, y = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    expected = "labels as given"
    if form == "st-scores":  # graded 0-5 scores: scaled to [0, 1] by their range, as for a twin tower
        data: object = {"sentence1": a, "sentence2": b, "score": [5.0 * v if i % 3 else 2.5 for i, v in enumerate(y)]}
        expected = "labels scaled to [0, 1]"
    elif form == "st-duplicates":
        data = {"question1": a, "question2": b, "is_duplicate": y}
    elif form == "dataframe":
        data = pd.DataFrame({"sentence1": a, "sentence2": b, "label": y})
    elif form == "dataset":
        data = datasets.Dataset.from_dict({"text_a": a, "text_b": b, "label": y})
    else:
        data = tmp_path / "pairs.csv"
        pd.DataFrame({"text_a": a, "text_b": b, "label": y}).to_csv(data, index=False)
    result = textsiam.fit(tiny_ce, data, max_steps=1, **_settings())
    assert result.global_step == 1 and result.config.loss == "binary_cross_entropy"
    assert expected in result.examples


def test_class_labels_give_a_new_head_one_output_per_class(tiny_ce):
    """NLI's premise / hypothesis / label columns: cross_entropy, a new head of 3 outputs, the argmax class on dev."""
    rows = class_rows(60, 1)
    data = {"premise": [r[0] for r in rows], "hypothesis": [r[1] for r in rows], "label": [r[2] for r in rows]}
    dev = class_rows(30, 2)
    model = fresh_head(tiny_ce)
    result = textsiam.fit(model, data, dev=dev, **_settings(epochs=6, learning_rate=5e-3, n_resamples=20))
    assert result.config.loss == "cross_entropy"
    assert model.num_labels == 3 and isinstance(model.activation_fn, torch.nn.Identity)
    assert result.metric_name == "cross_encoder_class_accuracy"
    record = result.evaluation.results[0]
    assert record["primary_metric"] == "cross_encoder_class_accuracy" and record["ci"]
    assert record["primary_value"] == pytest.approx(result.best_metric) and result.best_metric > 50
    assert model.predict(("a b", "c d")).shape == (3,)


def test_a_trained_head_that_does_not_fit_the_loss_is_refused(tiny_ce, default_tokenizer):
    data = {"premise": ["a", "b", "c"], "hypothesis": ["x", "y", "z"], "label": [0, 1, 2]}
    with pytest.raises(ConfigError, match="needs a cross-encoder with one output per class: the training data has 3"):
        textsiam.fit(tiny_ce, data, **_settings(max_steps=1))
    three = make_tiny_cross_encoder(default_tokenizer, num_labels=3)
    with pytest.raises(
        ConfigError, match=r"needs a cross-encoder with one output \(num_labels=1\).*use loss 'cross_entropy'"
    ):
        textsiam.fit(three, marker_rows(8, 1), loss="binary_cross_entropy", **_settings(max_steps=1))
    result = textsiam.fit(three, data, **_settings(max_steps=1))  # no loss given: cross_entropy for several labels
    assert result.config.loss == "cross_entropy" and three.num_labels == 3


def test_fit_without_output_dir_writes_nothing(tiny_ce, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tmp_root = tmp_path / "tmp"
    tmp_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_root))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    textsiam.fit(tiny_ce, marker_rows(16, 1), dev=marker_rows(16, 2), **_settings(epochs=1))
    assert [p for p in tmp_path.rglob("*") if p != tmp_root] == []
    assert list(tmp_root.iterdir()) == []


class StopAt(TrainerCallback):
    """Simulate a crash: stop training after optimiser step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True
        return control


def test_resume_continues_exactly(tmp_path, tiny_ce_dir):
    """8 steps straight, or 3 steps, a stop (in mid-epoch) and a resume: the same weights and the same dev choice."""
    rows, dev = marker_rows(32, 1), marker_rows(16, 2)
    kw = _settings(save_total_limit=None)
    full = textsiam.fit(CrossEncoder(tiny_ce_dir, device="cpu"), rows, dev=dev, output_dir=tmp_path / "full", **kw)
    assert full.global_step == 8
    first = textsiam.fit(
        CrossEncoder(tiny_ce_dir, device="cpu"),
        rows,
        dev=dev,
        output_dir=tmp_path / "part",
        callbacks=[StopAt(3)],
        **kw,
    )
    assert first.global_step == 3 and (tmp_path / "part/checkpoints/checkpoint-3").is_dir()
    again = CrossEncoder(tiny_ce_dir, device="cpu")
    second = textsiam.fit(again, rows, dev=dev, output_dir=tmp_path / "part", resume=True, **kw)
    assert second.global_step == 8 and second.best_metric == pytest.approx(full.best_metric)
    name = "checkpoints/checkpoint-8/model.safetensors"
    assert _same(_weights(tmp_path / "full" / name), _weights(tmp_path / "part" / name))
    assert _same(
        _weights(tmp_path / "full/model/model.safetensors"), _weights(tmp_path / "part/model/model.safetensors")
    )


def test_a_recipe_and_fit_give_bit_identical_weights_and_the_run_folder(tmp_path, tiny_ce_dir):
    from textsiam.cli import main

    train_file = tmp_path / "train.csv"
    pd.DataFrame(marker_rows(32, 1), columns=["sentence1", "sentence2", "label"]).to_csv(train_file, index=False)
    dev_file = tmp_path / "dev.csv"
    pd.DataFrame(marker_rows(20, 2), columns=["sentence1", "sentence2", "label"]).to_csv(dev_file, index=False)
    recipe = tmp_path / "recipe.yaml"
    lines = [f"model: {tiny_ce_dir}", "model_type: cross_encoder", f"train_dataset: {train_file}"]
    lines += [f"dev_dataset: {dev_file}", "epochs: 2", "batch_size: 8", "learning_rate: 1.0e-3", "seed: 7"]
    recipe.write_text("\n".join([*lines, "n_resamples: 0", "test_datasets: []"]) + "\n", encoding="utf-8")
    assert main(["train", "--config", str(recipe), "--output-dir", str(tmp_path / "cli"), "-q"]) == 0
    model = CrossEncoder(tiny_ce_dir, device="cpu")
    textsiam.fit(model, train_file, dev=str(dev_file), output_dir=tmp_path / "py", **_settings())
    cli, py = tmp_path / "cli", tmp_path / "py"
    assert _same(_weights(cli / "model/model.safetensors"), _weights(py / "model/model.safetensors"))
    assert not _same(_weights(cli / "model/model.safetensors"), _weights(tiny_ce_dir / "model.safetensors"))
    # the run folder: the model (a CrossEncoder folder), its evaluation, the recipe that ran, a model card
    saved = CrossEncoder(cli / "model", device="cpu")
    assert np.allclose(saved.predict(marker_rows(4, 5)[0][:2]), model.predict(marker_rows(4, 5)[0][:2]), atol=1e-6)
    evaluation = json.loads((cli / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["results"][0]["primary_metric"] == "cross_encoder_accuracy"
    ran = TrainConfig.from_file(cli / "train_config.yaml")
    assert ran.model_type == "cross_encoder" and ran.loss == "binary_cross_entropy"
    card = (cli / "model" / "README.md").read_text(encoding="utf-8")
    assert "A cross-encoder fine-tuned with textsiam" in card and "CrossEncoder(" in card
    assert sorted(os.listdir(cli / "checkpoints")) == ["checkpoint-4", "checkpoint-8"]


def test_a_recipe_and_fit_start_a_new_head_from_the_seed_alone(tmp_path, tiny_model_dir):
    """An encoder without a head gets a random head when it loads; the run draws it again from its seed, so that
    fit(CrossEncoder(encoder)) and the recipe of the same encoder train the same weights whatever the random state
    was when the model was built. A resume loads the checkpoint over the new head and continues exactly."""
    train_file = tmp_path / "train.csv"
    pd.DataFrame(marker_rows(24, 1), columns=["sentence1", "sentence2", "label"]).to_csv(train_file, index=False)
    kw = {"epochs": 2, "batch_size": 8, "learning_rate": 1e-3, "seed": 7, "n_resamples": 0, "test_datasets": []}
    base = {"model": str(tiny_model_dir), "model_type": "cross_encoder", "train_dataset": str(train_file)}
    train(TrainConfig(**base, **kw, dev_dataset=None, output_dir=str(tmp_path / "recipe")), show_progress=False)
    torch.manual_seed(123)  # any use of the random state before the model is built
    model = CrossEncoder(tiny_model_dir, device="cpu")
    textsiam.fit(model, train_file, output_dir=tmp_path / "fit", show_progress=False, **kw)
    recipe = _weights(tmp_path / "recipe/model/model.safetensors")
    assert _same(recipe, _weights(tmp_path / "fit/model/model.safetensors"))
    stopped = tmp_path / "stopped"
    textsiam.fit(
        CrossEncoder(tiny_model_dir, device="cpu"), train_file, output_dir=stopped, show_progress=False,
        callbacks=[StopAt(2)], **kw,
    )  # fmt: skip
    assert (stopped / "checkpoints/checkpoint-2").is_dir()  # in mid-epoch (3 steps an epoch)
    torch.manual_seed(321)
    again = CrossEncoder(tiny_model_dir, device="cpu")
    textsiam.fit(again, train_file, output_dir=stopped, resume=True, show_progress=False, **kw)
    assert _same(recipe, _weights(stopped / "model/model.safetensors"))


def test_a_recipe_chooses_cross_entropy_for_a_trained_head_of_several_labels(tmp_path, default_tokenizer):
    """The model's head decides the default loss before it loads (from its config.json), as fit does by the model in
    hand: a trained head of two labels and 0/1 labels train with cross_entropy both ways, to the same weights."""
    from textsiam.model.cross_encoder_layout import head_num_labels

    folder = tmp_path / "two"
    make_tiny_cross_encoder(default_tokenizer, num_labels=2).save(folder)
    assert head_num_labels(folder) == 2 and head_num_labels(tmp_path / "missing") is None
    train_file = tmp_path / "train.csv"
    pd.DataFrame(marker_rows(16, 1), columns=["sentence1", "sentence2", "label"]).to_csv(train_file, index=False)
    kw = {"max_steps": 2, "batch_size": 8, "seed": 7, "n_resamples": 0, "test_datasets": []}
    base = {"model": str(folder), "model_type": "cross_encoder", "train_dataset": str(train_file)}
    recipe = train(TrainConfig(**base, **kw, dev_dataset=None, output_dir=str(tmp_path / "r")), show_progress=False)
    model = CrossEncoder(folder, device="cpu")
    fitted = textsiam.fit(model, train_file, output_dir=tmp_path / "f", show_progress=False, **kw)
    assert recipe.config.loss == fitted.config.loss == "cross_entropy" and recipe.model.num_labels == 2
    assert TrainConfig.from_file(tmp_path / "r/train_config.yaml").loss == "cross_entropy"
    assert _same(_weights(tmp_path / "r/model/model.safetensors"), _weights(tmp_path / "f/model/model.safetensors"))


def test_a_sick_e_recipe_trains_three_classes_on_a_new_head(tmp_path, tiny_model_dir, data_dir):
    """SICK-E's 3-way label: cross_entropy chosen, a new head of 3 outputs on an encoder folder, the argmax class
    accuracy on dev picks the checkpoint and fills evaluation.json; the benchmarks' test sets are refused for it."""
    base = {"model": str(tiny_model_dir), "model_type": "cross_encoder", "train_dataset": "sick-e"}
    base.update(dev_dataset="sick-e", label_column="label3", max_train_pairs=24, max_dev_pairs=20, max_steps=3)
    base.update(batch_size=8, n_resamples=0, output_dir=str(tmp_path / "run"), data_dir=data_dir)
    result = train(TrainConfig(**base, test_datasets=[]))
    assert result.config.loss == "cross_entropy" and result.model.num_labels == 3
    assert result.metric_name == "cross_encoder_class_accuracy"
    record = json.loads((tmp_path / "run/evaluation.json").read_text(encoding="utf-8"))["results"][0]
    assert record["primary_metric"] == "cross_encoder_class_accuracy" and record["n_pairs"] == 20
    assert CrossEncoder(tmp_path / "run/model", device="cpu").num_labels == 3
    with pytest.raises(ConfigError, match="test_datasets: the benchmarks score a pair with one number"):
        train(TrainConfig(**{**base, "output_dir": str(tmp_path / "again")}, test_datasets=["sick-e"]))


def test_a_recipe_without_a_model_puts_a_new_head_on_the_embedded_model():
    """``model: null``: all-MiniLM-L6-v2 with a new head of one output; ``max_seq_length`` sets its ``max_length``."""
    from textsiam.training.cross_encoder_parts import build_cross_encoder, head_is_trained

    model = build_cross_encoder(TrainConfig(model_type="cross_encoder", max_seq_length=64))
    assert model.num_labels == 1 and model.max_length == 64 and model.config.hidden_size == 384
    assert not head_is_trained(model)


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.csv"
    pd.DataFrame(marker_rows(8, 1), columns=["text_a", "text_b", "label"]).to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------------------------- refused
@pytest.fixture
def no_model_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the config was rejected")

    monkeypatch.setattr(CrossEncoder, "__init__", refuse)
    monkeypatch.setattr(textsiam.SiameseModel, "from_pretrained", classmethod(refuse))


def test_a_loss_of_the_other_model_type_fails_before_any_model_loads(tmp_path, tiny_ce, tiny_model, no_model_load):
    pairs = _csv(tmp_path)
    for run in (
        lambda: train(
            TrainConfig(model_type="cross_encoder", loss="cosent", train_dataset=str(pairs), dev_dataset=None)
        ),
        lambda: textsiam.fit(tiny_ce, marker_rows(8, 1), loss="cosent", show_progress=False),
    ):
        with pytest.raises(ConfigError, match="loss 'cosent' trains a twin tower") as err:
            run()
        assert (
            "not a cross-encoder (CrossEncoder) (model_type: cross_encoder); the losses for a cross_encoder model: "
            "binary_cross_entropy, cross_entropy, cross_encoder_mse" in str(err.value)
        )
    with pytest.raises(ConfigError, match=r"loss 'cross_entropy' trains a cross-encoder \(CrossEncoder\), not a twin"):
        textsiam.fit(tiny_model, marker_rows(8, 1), loss="cross_entropy", show_progress=False)
    with pytest.raises(ConfigError, match="the losses for a siamese model: contrastive, online_contrastive"):
        train(TrainConfig(loss="binary_cross_entropy", train_dataset=str(pairs), dev_dataset=None))


def test_twin_tower_settings_and_tasks_are_refused_for_a_cross_encoder(tmp_path, tiny_ce, no_model_load):
    pairs = str(_csv(tmp_path))
    config = TrainConfig(
        model_type="cross_encoder",
        train_dataset=pairs,
        dev_dataset=None,
        pooling="cls",
        similarity="dot",
        prompts="q: ",
    )
    with pytest.raises(
        ConfigError, match="pooling, similarity, prompts: setting.s. of a twin tower, which a cross-enc"
    ):
        config.validate()
    with pytest.raises(ConfigError, match="hard_negatives: setting"):
        textsiam.fit(tiny_ce, marker_rows(8, 1), hard_negatives=True, show_progress=False)
    with pytest.raises(ConfigError, match="unknown model_type 'bert'; choose one of"):
        TrainConfig(model_type="bert").validate()
    tasks = {"one": {"dataset": pairs}, "two": {"dataset": pairs}}
    with pytest.raises(ConfigError, match="train_datasets: multi-task training is for twin towers"):
        TrainConfig(model_type="cross_encoder", train_datasets=tasks).validate()
    with pytest.raises(ValueError, match="a cross-encoder trains on one dataset"):
        textsiam.fit(tiny_ce, {"one": marker_rows(8, 1), "two": marker_rows(8, 2)}, show_progress=False)
    with pytest.raises(ConfigError, match="a cross-encoder learns from labelled pairs"):
        textsiam.fit(tiny_ce, [("q1", "p1"), ("q2", "p2")], show_progress=False)
    with pytest.raises(ValueError, match="model_type='siamese', but the model is a CrossEncoder"):
        textsiam.fit(tiny_ce, marker_rows(8, 1), model_type="siamese", show_progress=False)


# ------------------------------------------------------------------------------------------ vs sentence-transformers
@pytest.mark.slow
def test_the_loss_trajectory_matches_sentence_transformers_cross_encoder_trainer(tmp_path, default_tokenizer):
    """The same tiny cross-encoder (dropout off), data, seed, batch size, learning rate and schedule: the same data
    order (each epoch a permutation by a generator seeded with seed + epoch, as accelerate's seedable sampler) and
    the same AdamW steps, so the same loss at every step and the same model at the end."""
    st = pytest.importorskip("sentence_transformers")
    import datasets
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss as STBinaryCrossEntropyLoss

    start = make_tiny_cross_encoder(default_tokenizer)
    start.config.hidden_dropout_prob = start.config.attention_probs_dropout_prob = 0.0
    for module in start.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    start.save(tmp_path / "start")
    rows = marker_rows(40, 1)
    settings = {"epochs": 4, "batch_size": 8, "learning_rate": 1e-2, "seed": 11, "warmup_ratio": 0.0}
    ours = textsiam.fit(
        CrossEncoder(tmp_path / "start", device="cpu"), rows, loss="binary_cross_entropy", logging_steps=1,
        weight_decay=0.01, show_progress=False, n_resamples=0, **settings,
    )  # fmt: skip
    model = st.CrossEncoder(str(tmp_path / "start"), device="cpu")
    args = CrossEncoderTrainingArguments(
        output_dir=str(tmp_path / "st"), num_train_epochs=4, per_device_train_batch_size=8, learning_rate=1e-2,
        seed=11, weight_decay=0.01, logging_steps=1, save_strategy="no", report_to="none",
        use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    table = datasets.Dataset.from_dict(
        {"sentence1": [r[0] for r in rows], "sentence2": [r[1] for r in rows], "label": [float(r[2]) for r in rows]}
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=table, loss=STBinaryCrossEntropyLoss(model))
    trainer.train()
    theirs = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    mine = [e["loss"] for e in ours.log_history if "loss" in e]
    assert len(mine) == len(theirs) == 20  # 4 epochs: each epoch's order (seed + epoch) is theirs too
    assert np.allclose(mine, theirs, rtol=1e-5, atol=1e-6), (mine, theirs)
    pairs = [(a, b) for a, b, _ in marker_rows(8, 9)]
    assert np.allclose(ours.model.predict(pairs), model.predict(pairs), atol=1e-5)  # the same weights at the end
