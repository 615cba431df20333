"""``textsiam.fit``: the model in hand, data in hand, a loss name or object, dev data or an evaluator; the same
weights as ``textsiam train`` for the same recipe; nothing on disk without ``output_dir``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import textsiam
from textsiam.losses import CoSENTLoss
from textsiam.training import ConfigError

from .helpers import make_clf_rows, make_sts_rows


def _settings(**extra):
    return {"epochs": 2, "batch_size": 8, "learning_rate": 1e-3, "seed": 7, "show_progress": False, **extra}


def test_fit_trains_the_model_in_hand_and_keeps_the_best_dev_weights(tiny_model):
    train, dev = make_sts_rows(40, 1), make_sts_rows(40, 2)
    result = textsiam.fit(tiny_model, train, loss="cosent", dev=dev, eval_steps=2, **_settings())
    assert result.model is tiny_model and not tiny_model.training
    assert result.metric_name == "cosine_spearman"
    best = max(h["cosine_spearman"] for h in result.dev_history)
    assert result.best_metric == pytest.approx(best)
    # the weights in hand are those of the best evaluation, not of the last step
    assert result.evaluation.results[0]["primary_value"] == pytest.approx(best, abs=1e-6)


def test_fit_without_output_dir_writes_nothing(tiny_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tmp_root = tmp_path / "tmp"
    tmp_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_root))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    textsiam.fit(tiny_model, make_sts_rows(16, 1), dev=make_sts_rows(16, 2), **_settings(epochs=1))
    leftovers = [p for p in tmp_path.rglob("*") if p != tmp_root]
    assert leftovers == []
    assert list(tmp_root.iterdir()) == []


def test_fit_takes_a_loss_object_and_an_evaluator(tiny_model):
    from textsiam.evaluation import STSEvaluator

    dev = {"sentence1": [r[0] for r in make_sts_rows(30, 2)], "sentence2": [r[1] for r in make_sts_rows(30, 2)]}
    dev["score"] = [r[2] for r in make_sts_rows(30, 2)]
    evaluator = STSEvaluator(dev, name="my-dev", n_resamples=0)
    loss = CoSENTLoss(scale=10.0)
    result = textsiam.fit(tiny_model, make_sts_rows(40, 1), loss=loss, dev=evaluator, **_settings())
    assert result.config.loss == "cosent"
    assert result.metric_name == evaluator.primary_metric
    assert result.evaluation.results[0]["dataset"] == "my-dev"


def test_a_loss_that_is_not_a_textsiam_loss_is_refused(tiny_model):
    with pytest.raises(TypeError, match="instance of a textsiam.losses class"):
        textsiam.fit(tiny_model, make_sts_rows(8, 1), loss=torch.nn.MSELoss(), **_settings())


def test_fit_refuses_settings_that_are_its_own_arguments(tiny_model):
    with pytest.raises(ConfigError, match="give it as the dev argument"):
        textsiam.fit(tiny_model, make_sts_rows(8, 1), dev_dataset="stsb", **_settings())
    with pytest.raises(ConfigError, match="unknown config key 'epoch'"):
        textsiam.fit(tiny_model, make_sts_rows(8, 1), epoch=3, show_progress=False)
    with pytest.raises(ValueError, match="need the run's checkpoints: give output_dir"):
        textsiam.fit(tiny_model, make_sts_rows(8, 1), checkpoint_soup=True, show_progress=False)
    with pytest.raises(TypeError, match="model must be a SiameseModel"):
        textsiam.fit(object(), make_sts_rows(8, 1))


def test_columns_map_every_split(tiny_model):
    rows = make_sts_rows(24, 3)
    data = {"q": [r[0] for r in rows], "c": [r[1] for r in rows], "rel": [r[2] for r in rows], "id": list(range(24))}
    result = textsiam.fit(
        tiny_model, data, dev=data, columns={"text_a": "q", "text_b": "c", "label": "rel"}, **_settings(epochs=1)
    )
    assert result.config.text_a_column == "q" and result.config.label_column == "rel"
    assert result.evaluation.results[0]["n_pairs"] == 24
    with pytest.raises(ValueError, match="only 'label' can be None"):
        textsiam.fit(tiny_model, data, columns={"text_b": None}, show_progress=False)


def test_the_cli_and_fit_give_bit_identical_weights(tmp_path, tiny_model_dir, sts_files):
    from textsiam.cli import main
    from textsiam.model.siamese import SiameseModel

    train_file, dev_file = sts_files
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "\n".join(
            [
                f"model: {tiny_model_dir}",
                f"train_dataset: {train_file}",
                f"dev_dataset: {dev_file}",
                "loss: cosent",
                "epochs: 2",
                "batch_size: 8",
                "learning_rate: 1.0e-3",
                "seed: 7",
                "n_resamples: 0",
                "test_datasets: []",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    rc = main(["train", "--config", str(recipe), "--output-dir", str(tmp_path / "cli"), "-q"])
    assert rc == 0
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    textsiam.fit(
        model,
        Path(train_file),
        loss="cosent",
        dev=str(dev_file),
        output_dir=tmp_path / "py",
        n_resamples=0,
        **_settings(),
    )
    cli = load_file(str(tmp_path / "cli" / "model" / "model.safetensors"))
    py = load_file(str(tmp_path / "py" / "model" / "model.safetensors"))
    assert cli.keys() == py.keys()
    assert all(torch.equal(cli[k], py[k]) for k in cli)
    start = load_file(str(Path(tiny_model_dir) / "model.safetensors"))
    assert any(not torch.equal(cli[k], start[k]) for k in cli)  # it did train


def test_in_memory_best_weights_equal_the_saved_run(tmp_path, tiny_model_dir):
    from textsiam.model.siamese import SiameseModel

    train, dev = make_sts_rows(40, 1), make_sts_rows(40, 2)
    a = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    b = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    textsiam.fit(a, train, dev=dev, eval_steps=3, **_settings())
    textsiam.fit(b, train, dev=dev, eval_steps=3, output_dir=tmp_path / "run", **_settings())
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_fit_resumes_a_run_folder(tmp_path, tiny_model_dir):
    from textsiam.model.siamese import SiameseModel

    train = make_clf_rows(40, 1)
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    out = tmp_path / "run"
    textsiam.fit(model, train, loss="online_contrastive", output_dir=out, max_steps=3, **_settings())
    assert (out / "checkpoints" / "checkpoint-3").is_dir()
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    result = textsiam.fit(
        model, train, loss="online_contrastive", output_dir=out, resume=True, max_steps=6, **_settings()
    )
    assert result.global_step == 6
    assert sorted(os.listdir(out / "checkpoints"))[-1] == "checkpoint-6"
