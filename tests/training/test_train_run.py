"""train() and `textsiam train` end to end on the tiny model."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from textsiam import SiameseModel
from textsiam.cli import main
from textsiam.evaluation import make_dev_metric
from textsiam.training import ConfigError, TrainConfig, latest_checkpoint, train


def _weights(path):
    return load_file(str(path))


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert set(wa) == set(wb)
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def test_cli_train_end_to_end(tmp_path, tiny_config, capsys):
    cfg_file = tiny_config(epochs=3).to_file(tmp_path / "tiny.yaml")
    out = tmp_path / "cli_run"
    argv = ["train", "--config", str(cfg_file), "--set", "epochs=1", "lr=5e-4", "--output-dir", str(out), "-q"]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "cosine_spearman" in stdout and "model saved to" in stdout
    model_dir = out / "model"
    for name in ("model.safetensors", "config.json", "textsiam.json", "README.md", "tokenizer.json"):
        assert (model_dir / name).is_file(), name
    assert (out / "evaluation.json").is_file() and (out / "evaluation.md").is_file()
    assert TrainConfig.from_file(out / "train_config.yaml").learning_rate == 5e-4
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["results"][0]["split"] == "dev"
    assert evaluation["results"][0]["model"] == str(out / "model")  # the fine-tuned model, not the start model
    card = (model_dir / "README.md").read_text()
    for needle in ("Base model", "cosent", "learning_rate", "Training wall time", "textsiam train --config", "95%"):
        assert needle in card, needle
    loaded = SiameseModel.from_pretrained(model_dir, device="cpu")
    assert loaded.encode("a b c").shape == (32,)
    from transformers import AutoModel

    assert AutoModel.from_pretrained(model_dir).config.hidden_size == 32
    ckpt = latest_checkpoint(out / "checkpoints")
    assert ckpt is not None and (ckpt / "model.safetensors").is_file() and not list(ckpt.glob("pytorch_model*"))

    # a second run into the same folder needs --overwrite
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


def test_cli_reports_config_errors(tmp_path, capsys):
    assert main(["train", "--set", "loss=nope", "--output-dir", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown loss 'nope'" in err and "cosent" in err
    assert main(["train", "--set", "epochz=1"]) == 2
    assert "unknown config key 'epochz'" in capsys.readouterr().err
    assert main(["train", "--list-options"]) == 0
    assert "fgm_epsilon" in capsys.readouterr().out


def test_same_seed_same_weights(tmp_path, tiny_config):
    a = train(tiny_config(output_dir=str(tmp_path / "a"), epochs=1))
    b = train(tiny_config(output_dir=str(tmp_path / "b"), epochs=1))
    _assert_same_weights(a.model_dir / "model.safetensors", b.model_dir / "model.safetensors")
    c = train(tiny_config(output_dir=str(tmp_path / "c"), epochs=1, seed=7))
    wa, wc = _weights(a.model_dir / "model.safetensors"), _weights(c.model_dir / "model.safetensors")
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


class StopAt(TrainerCallback):
    """Simulate a crash: stop training after optimiser step ``step`` (the epoch-end save still runs)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True
        return control


def test_resume_reproduces_the_uninterrupted_run(tmp_path, tiny_config):
    # 40 pairs / batch 8 = 5 steps per epoch, 2 epochs; no_duplicates exercises the custom sampler on resume
    kw = dict(no_duplicates_in_batch=True, augment="delete", augment_prob=0.1)
    full = train(tiny_config(output_dir=str(tmp_path / "full"), **kw))
    assert full.global_step == 10
    cfg = tiny_config(output_dir=str(tmp_path / "resumed"), **kw)
    first = train(cfg, callbacks=[StopAt(7)])
    assert first.global_step == 7 and latest_checkpoint(tmp_path / "resumed" / "checkpoints").name == "checkpoint-7"
    second = train(cfg, resume=True)
    assert second.global_step == 10
    name = "checkpoints/checkpoint-10/model.safetensors"
    _assert_same_weights(tmp_path / "full" / name, tmp_path / "resumed" / name)
    assert second.best_metric == pytest.approx(full.best_metric)


def test_resume_and_overwrite_errors(tmp_path, tiny_config):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(tiny_config(output_dir=str(tmp_path / "empty")), resume=True)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="--overwrite"):
        train(tiny_config(output_dir=str(tmp_path / "busy")))


@pytest.fixture
def no_model_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the config was rejected")

    monkeypatch.setattr(SiameseModel, "from_pretrained", classmethod(refuse))


def test_bad_configs_fail_before_any_model_is_loaded(tmp_path, tiny_config, clf_file, no_model_load):
    with pytest.raises(ConfigError, match="unknown loss 'cosnet'"):
        train(tiny_config(loss="cosnet"))
    with pytest.raises(ConfigError, match="binarize"):  # graded STS scores with a 0/1 loss
        train(tiny_config(loss="contrastive"))
    with pytest.raises(ConfigError, match="binarize"):
        train(tiny_config(loss="contrastive", train_dataset="stsb", data_dir=str(tmp_path)))
    with pytest.raises(ConfigError, match="scale"):
        train(tiny_config(loss="online_contrastive", train_dataset=str(clf_file), label_transform="scale"))
    with pytest.raises(ConfigError, match="learning_rate"):
        train(tiny_config(learning_rate=0.0))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"loss": "cosine_similarity", "fgm_epsilon": 0.5, "gradient_accumulation_steps": 2},
        {"loss": "contrastive", "label_transform": "binarize", "binarize_threshold": 2.5},
        {"loss": "online_contrastive", "train": "clf", "pos_neg_ratio": 1.0},
        {"loss": "mnrl", "train": "clf", "hard_negatives": True},
        {"loss": "triplet", "train": "clf"},
        {"loss": "batch_hard_triplet", "train": "clf"},
        {"loss": "softmax", "train": "clf"},
        {"loss": "simcse"},
        {"loss": "mse", "teacher": True},
    ],
    ids=lambda o: o["loss"],
)
def test_every_loss_kind_trains(tmp_path, tiny_config, clf_file, tiny_model_dir, overrides):
    overrides = dict(overrides)
    if overrides.pop("train", None) == "clf":
        overrides.update(train_dataset=str(clf_file), dev_dataset=str(clf_file))
    if overrides.pop("teacher", False):
        overrides["teacher_model"] = str(tiny_model_dir)
    result = train(tiny_config(max_steps=2, epochs=1, **overrides))
    assert result.global_step == 2
    assert (result.model_dir / "model.safetensors").is_file()
    assert result.evaluation is not None and len(result.evaluation) == 1


def test_early_stopping_on_a_flat_dev_metric(tiny_config, monkeypatch):
    from textsiam.evaluation import DevMetric

    monkeypatch.setattr(DevMetric, "__call__", lambda self, model: 50.0)
    result = train(tiny_config(eval_steps=1, early_stopping_patience=2, max_train_pairs=None))
    assert result.global_step == 3  # best at step 1, no improvement at steps 2 and 3
    assert [h["step"] for h in result.dev_history] == [1, 2, 3]
    assert result.best_checkpoint.endswith("checkpoint-1")


def test_label_column_and_softmax_classes(tmp_path, tiny_config):
    import csv

    path = tmp_path / "three_way.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text_a", "text_b", "label", "label3"])
        for i in range(24):
            writer.writerow([f"w{i} w{i + 1} w{i + 2}", f"w{i} w{i + 3}", i % 2, i % 3])
    cfg = tiny_config(train_dataset=str(path), label_column="label3", loss="softmax", max_steps=2, dev_dataset=None)
    result = train(cfg)
    assert "3 classes" in result.examples
    assert result.evaluation is None and (result.model_dir / "README.md").is_file()
    with pytest.raises(ConfigError, match="multi-class"):
        cfg = tiny_config(train_dataset=str(path), label_column="label3", loss="contrastive")
        train(cfg.with_overrides([f"output_dir={tmp_path / 'x'}"]))


def _mean(values):
    return sum(values) / len(values)


def test_training_lowers_loss_and_raises_dev_spearman(tmp_path, word_vector_tiny_model_dir, data_dir):
    """20 steps of CoSENT on 200 STS-B train pairs: the loss falls and dev Spearman (200 pairs) rises."""
    cfg = TrainConfig(
        model=str(word_vector_tiny_model_dir),
        train_dataset="stsb",
        dev_dataset="stsb",
        data_dir=data_dir,
        max_train_pairs=200,
        max_dev_pairs=200,
        loss="cosent",
        epochs=2,
        batch_size=20,
        learning_rate=1e-2,
        warmup_ratio=0.1,
        logging_steps=1,
        n_resamples=0,
        output_dir=str(tmp_path / "stsb"),
    )
    from textsiam.data import load_pairs
    from textsiam.training.examples import subsample

    dev = subsample(load_pairs("stsb", "dev", data_dir), 200, cfg.seed)
    metric = make_dev_metric("stsb", pairs=dev)
    before = metric(SiameseModel.from_pretrained(word_vector_tiny_model_dir, device="cpu"))
    result = train(cfg)
    losses = [h["loss"] for h in result.log_history if "loss" in h and "train_loss" not in h]
    assert len(losses) == 20
    assert _mean(losses[-5:]) < _mean(losses[:5]) - 0.3
    after = metric(SiameseModel.from_pretrained(result.model_dir, device="cpu"))
    assert after > before + 5.0, (before, after)
    assert result.best_metric == pytest.approx(after, abs=1e-6)
    assert result.evaluation["stsb"]["primary_value"] == pytest.approx(after, abs=1e-6)
