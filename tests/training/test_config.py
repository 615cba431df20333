"""TrainConfig: file round trips, --set coercion, validation before anything is loaded."""

from __future__ import annotations

import ast
import json
from dataclasses import fields
from pathlib import Path

import pytest

import textsiam
from textsiam.losses import LOSSES
from textsiam.losses.base import SiameseLoss
from textsiam.training import ConfigError, TrainConfig
from textsiam.training.config import describe_fields, field_help


def test_every_field_has_help_in_its_metadata():
    missing = [f.name for f in fields(TrainConfig) if not str(f.metadata.get("help", "")).strip()]
    assert not missing
    assert field_help() == {f.name: f.metadata["help"] for f in fields(TrainConfig)}
    text = describe_fields()
    for f in fields(TrainConfig):
        assert f"{f.name:<28} " in text and f.metadata["help"] in text
    assert "learning_rate                an integer" not in text and "learning_rate                a number" in text
    yaml_lines = TrainConfig().to_yaml().splitlines()
    assert yaml_lines[0].startswith("model: null  # start model")
    assert len(yaml_lines) == len(fields(TrainConfig))


# ---------------------------------------------------------------------------------------------- module structure
TRAINING = Path(textsiam.__file__).parent / "training"


def _training_imports(module: str) -> set[str]:
    """The ``textsiam.training`` modules that ``module`` imports anywhere (``TYPE_CHECKING`` blocks included)."""
    tree = ast.parse((TRAINING / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            # ``from textsiam.training import pairs`` imports the module textsiam.training.pairs
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["textsiam", "training"] and len(parts) >= 3 and (TRAINING / f"{parts[2]}.py").exists():
                found.add(parts[2])
    return found - {module}


def _reachable(module: str) -> set[str]:
    seen: set[str] = set()
    todo = [module]
    while todo:
        for name in _training_imports(todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


CONFIG_MODULES = ("config", "config_fields", "config_checks", "config_values", "config_assignments")


def test_config_and_examples_do_not_import_each_other():
    """The label logic both need lives in labels.py; neither module imports the other, even for type hints."""
    assert "examples" not in _reachable("config")
    assert not {*CONFIG_MODULES} & _reachable("examples")
    assert "labels" in _training_imports("examples") and "labels" in _reachable("config")


def test_config_modules_have_no_cycle():
    for module in (*CONFIG_MODULES, "labels", "examples"):
        assert module not in _reachable(module), module


def test_config_modules_stay_small_and_read_no_source():
    for module in (*CONFIG_MODULES, "labels", "examples"):
        text = (TRAINING / f"{module}.py").read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 450, module
        assert "inspect.getsource" not in text, module  # help lives in the field metadata, not in comments


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


def test_set_quoted_values_lose_their_quotes():
    # the quotes delimit the text (a prompt's trailing space, a path with a comma); they are not part of it
    cfg = TrainConfig().with_overrides(
        ['model="/m/a b"', "prompts='query: '", 'silver_teacher="/runs/a,b/model"', 'test_datasets="stsb"']
    )
    assert cfg.model == "/m/a b" and cfg.prompts == "query: "
    assert cfg.silver_teacher == ["/runs/a,b/model"] and cfg.test_datasets == ["stsb"]
    assert TrainConfig().with_overrides(['prompts.quora="dq: "']).prompts == {"quora": "dq: "}
    assert TrainConfig().with_overrides(['loss_kwargs.similarity="dot"']).loss_kwargs == {"similarity": "dot"}
    assert TrainConfig().with_overrides(['model="a", "b"']).model == '"a", "b"'  # not one quoted text: as written


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
    with pytest.raises(ConfigError, match="unknown loss 'cosnet'; valid losses: ") as err:
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
        loss="cosent",
        loss_kwargs={"bogus": 1},
        train_split="nope",
        test_datasets=["imdb"],
        label_transform="binarize",
    )
    with pytest.raises(ConfigError, match=r"invalid training config \(\d+ problem\(s\)\):\n  - ") as err:
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


def test_set_lists_of_numbers_and_entries():
    cfg = TrainConfig().with_overrides(["wise_alphas=0.5,0.7", "loss_kwargs.scale=3e-5", "data_dir=none"])
    assert cfg.wise_alphas == [0.5, 0.7] and all(isinstance(a, float) for a in cfg.wise_alphas)
    assert cfg.loss_kwargs == {"scale": 3e-5}
    assert cfg.data_dir is None
    assert TrainConfig().with_overrides(["augment=none", "seed=010"]).augment == "none"  # a string, not None
    assert TrainConfig().with_overrides(["seed=010"]).seed == 10  # a number, not YAML 1.1 octal
    with pytest.raises(ConfigError, match="bf16 is not a mapping"):
        TrainConfig().with_overrides(["bf16.x=1"])
    with pytest.raises(ConfigError, match="wise_alphas: expected a list of finite numbers, got the item 'x'"):
        TrainConfig().with_overrides(["wise_alphas=0.5,x"])


class _WideBatchLoss(SiameseLoss):
    """A loss known only by its class attributes: the checks must not need its name."""

    label_kind = "anchor_positive"
    batch_mode = "in_batch"
    in_batch_negatives = True
    min_batch_size = 4
    accepts_hard_negatives = True


class _TeacherLoss(SiameseLoss):
    label_kind = "teacher"
    batch_mode = "teacher"
    label_free = True
    needs_teacher = True


def test_checks_read_the_loss_class_attributes(monkeypatch):
    monkeypatch.setitem(LOSSES, "wide", _WideBatchLoss)
    monkeypatch.setitem(LOSSES, "distil", _TeacherLoss)
    quora = dict(train_dataset="quora", dev_dataset="quora")
    with pytest.raises(ConfigError, match="loss 'wide' compares examples within a batch: batch_size must be >= 4"):
        TrainConfig(loss="wide", batch_size=3, **quora).validate()
    cfg = TrainConfig(loss="wide", batch_size=4, hard_negatives=True, **quora).validate()
    assert cfg.use_no_duplicates and cfg.label_kind == "anchor_positive"
    TrainConfig(loss="distil", teacher_model="some/teacher", batch_size=1).validate()
    assert not TrainConfig(loss="distil").use_no_duplicates
    with pytest.raises(ConfigError, match=r"invalid training config \(2 problem\(s\)\)") as err:
        TrainConfig(loss="cosent", teacher_model="some/teacher", hard_negatives=True).validate()
    text = str(err.value)
    assert "teacher_model is only used by losses that learn from a teacher" in text and "distil" in text
    assert "hard_negatives does not apply to loss 'cosent'" in text and "wide" in text and "triplet" in text
    with pytest.raises(ConfigError, match="pos_neg_ratio applies to pair losses"):
        TrainConfig(loss="distil", pos_neg_ratio=1.0).validate()


def test_derived_properties():
    assert TrainConfig(loss="mnrl", train_dataset="quora", dev_dataset="quora").use_no_duplicates
    assert not TrainConfig(loss="cosent").use_no_duplicates
    assert not TrainConfig(loss="mnrl", no_duplicates_in_batch=False).use_no_duplicates
    assert TrainConfig(loss="contrastive").label_kind == "binary"
    assert TrainConfig(loss="simcse").use_no_duplicates  # in-batch negatives, by its class attribute
    assert TrainConfig(loss="cosnet").label_kind == "unknown" and not TrainConfig(loss="cosnet").use_no_duplicates
