"""TrainConfig: file round trips, --set coercion, validation before anything is loaded."""

from __future__ import annotations

import json

import pytest

from textsiam.training import ConfigError, TrainConfig
from textsiam.training.config import describe_fields, field_help


def test_every_field_has_a_comment():
    helps = field_help()
    missing = [f for f in TrainConfig.__dataclass_fields__ if not helps.get(f)]
    assert not missing
    assert "learning_rate" in describe_fields()


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path, suffix):
    cfg = TrainConfig(
        loss="mnrl",
        loss_kwargs={"scale": 30.0, "symmetric": True},
        test_datasets=["stsb", "sick"],
        learning_rate=3e-5,
        epochs=1.5,
        eval_steps=10,
        binarize_threshold=4.0,
        no_duplicates_in_batch=False,
        model=None,
    )
    path = cfg.to_file(tmp_path / f"cfg{suffix}")
    assert TrainConfig.from_file(path) == cfg
    if suffix == ".json":
        assert json.loads(path.read_text())["loss_kwargs"] == {"scale": 30.0, "symmetric": True}


def test_yaml_strings_are_coerced(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 3e-5\nepochs: 2\ntest_datasets: stsb, sick\nbf16: 'no'\nloss_kwargs: {scale: '25'}\n")
    cfg = TrainConfig.from_file(path)
    assert cfg.learning_rate == 3e-5 and isinstance(cfg.learning_rate, float)
    assert cfg.epochs == 2.0
    assert cfg.test_datasets == ["stsb", "sick"]
    assert cfg.bf16 is False
    assert cfg.loss_kwargs == {"scale": 25}


def test_set_overrides_are_typed():
    cfg = TrainConfig().with_overrides(
        [
            "lr=3e-5",
            "epochs=2",
            "batch_size=32",
            "bf16=true",
            "max_train_pairs=none",
            "eval_steps=100",
            "test_datasets=stsb,sick",
            "dev_dataset=null",
            "loss_kwargs.scale=30",
            "loss_kwargs.similarity=dot",
            "no-duplicates-in-batch=yes",
        ]
    )
    assert cfg.learning_rate == 3e-5
    assert cfg.epochs == 2.0
    assert cfg.batch_size == 32 and isinstance(cfg.batch_size, int)
    assert cfg.bf16 is True
    assert cfg.max_train_pairs is None
    assert cfg.eval_steps == 100
    assert cfg.test_datasets == ["stsb", "sick"]
    assert cfg.dev_dataset is None
    assert cfg.loss_kwargs == {"scale": 30, "similarity": "dot"}
    assert cfg.no_duplicates_in_batch is True
    assert TrainConfig().with_overrides(['test_datasets=["mrpc"]', 'loss_kwargs={"margin": 0.3}']).loss_kwargs == {
        "margin": 0.3
    }


def test_unknown_key_and_bad_values():
    with pytest.raises(ConfigError, match="unknown config key 'learnign_rate'.*valid keys"):
        TrainConfig().with_overrides(["learnign_rate=1"])
    with pytest.raises(ConfigError, match="batch_size: expected an integer"):
        TrainConfig().with_overrides(["batch_size=abc"])
    with pytest.raises(ConfigError, match="expects key=value"):
        TrainConfig().with_overrides(["epochs"])
    with pytest.raises(ConfigError, match="batch_size: expected an integer, got 2.5"):
        TrainConfig.from_dict({"batch_size": 2.5})
    with pytest.raises(ConfigError, match="unknown config key 'nope'"):
        TrainConfig.from_dict({"nope": 1})


def test_validate_unknown_loss_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        TrainConfig(loss="cosnet").validate()
    assert "unknown loss 'cosnet'" in str(err.value)
    assert "cosent" in str(err.value) and "mnrl" in str(err.value)


def test_validate_label_kinds():
    TrainConfig(loss="cosent", train_dataset="stsb").validate()
    TrainConfig(loss="cosent", train_dataset="mrpc", dev_dataset="mrpc").validate()  # 0/1 labels are fine
    TrainConfig(loss="online_contrastive", train_dataset="quora", dev_dataset="quora").validate()
    TrainConfig(loss="contrastive", label_transform="binarize", binarize_threshold=4.0).validate()
    TrainConfig(loss="triplet", train_dataset="quora", dev_dataset="quora").validate()
    TrainConfig(loss="simcse").validate()
    with pytest.raises(ConfigError, match="needs 0/1 labels.*binarize_threshold"):
        TrainConfig(loss="contrastive", train_dataset="stsb").validate()
    with pytest.raises(ConfigError, match="triplet"):
        TrainConfig(loss="triplet", train_dataset="stsb").validate()
    with pytest.raises(ConfigError, match="mnrl"):
        TrainConfig(loss="mnrl", train_dataset="sick").validate()
    with pytest.raises(ConfigError, match="scale"):
        TrainConfig(loss="contrastive", train_dataset="mrpc", label_transform="scale").validate()


def test_validate_numbers_and_choices_all_reported():
    cfg = TrainConfig(
        epochs=0,
        batch_size=0,
        learning_rate=-1.0,
        warmup_ratio=1.5,
        lr_scheduler="exp",
        augment="shuffle",
        early_stopping_patience=2,
        dev_dataset=None,
        loss_kwargs={"bogus": 1},
        train_split="nope",
        test_datasets=["imdb"],
        label_transform="binarize",
    )
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    text = str(err.value)
    for needle in (
        "epochs must be > 0",
        "batch_size must be >= 1",
        "learning_rate must be > 0",
        "warmup_ratio",
        "lr_scheduler",
        "augment",
        "early_stopping_patience needs a dev_dataset",
        "has no argument 'bogus'",
        "no split 'nope'",
        "unknown dataset 'imdb'",
        "binarize needs binarize_threshold",
    ):
        assert needle in text, needle
    assert len(err.value.problems) >= 11


def test_derived_properties():
    assert TrainConfig(loss="mnrl", train_dataset="quora", dev_dataset="quora").use_no_duplicates
    assert not TrainConfig(loss="cosent").use_no_duplicates
    assert not TrainConfig(loss="mnrl", no_duplicates_in_batch=False).use_no_duplicates
    assert TrainConfig(loss="contrastive").label_kind == "binary"
