"""Numbers and booleans are checked at the edge: command-line arguments and the training config."""

from __future__ import annotations

import json
import math
from dataclasses import fields

import pytest

from textsiam.cli import main
from textsiam.training import ConfigError, TrainConfig
from textsiam.training.config import field_types
from textsiam.training.config_values import strip_optional


# ---------------------------------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["score", "a", "b", "--chunk-size", "0"], "--chunk-size"),
        (["score", "a", "b", "--batch-size", "-1"], "--batch-size"),
        (["score", "a", "b", "--batch-size", "2.5"], "--batch-size"),
        (["score", "a", "b", "--max-seq-length", "0"], "--max-seq-length"),
        (["score", "a", "b", "--ray-actors", "0"], "--ray-actors"),
        (["score", "a", "b", "--ray-cpus-per-actor", "nan"], "--ray-cpus-per-actor"),
        (["encode", "in.txt", "-o", "x.npy", "--chunk-size", "-5"], "--chunk-size"),
        (["mine", "in.txt", "-o", "x.tsv", "--top-k", "0"], "--top-k"),
        (["mine", "in.txt", "-o", "x.tsv", "--threshold", "nan"], "--threshold"),
        (["mine", "in.txt", "-o", "x.tsv", "--threshold", "inf"], "--threshold"),
        (["mine", "in.txt", "-o", "x.tsv", "--ef-search", "0"], "--ef-search"),
        (["mine", "in.txt", "-o", "x.tsv", "--nprobe", "0"], "--nprobe"),
        (["evaluate", "--n-resamples", "-1"], "--n-resamples"),
        (["evaluate", "--n-resamples", "abc"], "--n-resamples"),
        (["evaluate", "--seed", "-1"], "--seed"),
        (["soup", "a", "b", "-d", "sick", "-o", "out", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_bad_numbers_are_argparse_errors(argv, option, capsys):
    with pytest.raises(SystemExit, match="^2$") as info:  # argparse's usage error; the message is on stderr
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "expected" in err
    assert "Traceback" not in err


def test_good_numbers_parse():
    from textsiam.cli import build_parser

    args = build_parser().parse_args(
        ["mine", "in.txt", "-o", "x.tsv", "--top-k", "5", "--chunk-size", "1_000", "-t", "0.5", "--max-seq-length", "8"]
    )
    assert (args.top_k, args.chunk_size, args.threshold, args.max_seq_length) == (5, 1000, 0.5, 8)
    assert build_parser().parse_args(["evaluate", "--n-resamples", "0"]).n_resamples == 0  # 0 = no CIs


# ---------------------------------------------------------------------------------------------- TrainConfig numbers
FLOAT_FIELDS = [f.name for f in fields(TrainConfig) if strip_optional(field_types(TrainConfig)[f.name])[0] is float]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 0.0, -1.0])
def test_learning_rate_must_be_finite_and_positive(value):
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig(learning_rate=value).validate()
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig.from_dict({"lr": value}).validate()
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig().with_overrides([f"lr={value}"]).validate()


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1"])
def test_learning_rate_on_the_command_line(value, tmp_path, capsys):
    code = main(["train", "--set", f"lr={value}", "--output-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("textsiam train: error:") and "learning_rate" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_every_float_field_is_finite(name, value):
    assert FLOAT_FIELDS, "no float fields found"
    with pytest.raises(ConfigError, match=name):
        TrainConfig(**{name: value}).validate()


def test_non_finite_items_in_lists():
    with pytest.raises(ConfigError, match="wise_alphas"):
        TrainConfig(wise_alphas=[0.5, math.nan]).validate()


def test_huge_integers_are_config_errors_not_overflow():
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig.from_dict({"epochs": 10**400})
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=10**400).validate()
    with pytest.raises(ConfigError, match="wise_alphas"):
        TrainConfig.from_dict({"wise_alphas": [10**400]})


# ---------------------------------------------------------------------------------------------- TrainConfig types
def test_booleans_must_be_booleans():
    for value in ("false", "False", 0, 1, None):
        with pytest.raises(ConfigError, match="bf16"):
            TrainConfig(bf16=value).validate()  # bool("false") would be True
    with pytest.raises(ConfigError, match="no_duplicates_in_batch"):
        TrainConfig(no_duplicates_in_batch="no").validate()
    TrainConfig(no_duplicates_in_batch=None).validate()  # optional: None = automatic


def test_boolean_words_are_parsed_strictly():
    assert TrainConfig.from_dict({"bf16": "false"}).bf16 is False
    assert TrainConfig.from_dict({"bf16": " TRUE "}).bf16 is True
    assert TrainConfig().with_overrides(["bf16=false"]).bf16 is False
    assert TrainConfig().with_overrides(["bf16=yes"]).bf16 is True
    for value in ("maybe", "flase", 2, -1, 0.5, [], {}):
        with pytest.raises(ConfigError, match="bf16: expected a boolean"):
            TrainConfig.from_dict({"bf16": value})


def test_boolean_strings_in_a_json_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"bf16": "false", "checkpoint_soup": False}))
    cfg = TrainConfig.from_file(path)
    assert cfg.bf16 is False and cfg.checkpoint_soup is False
    path.write_text(json.dumps({"bf16": "nope"}))
    with pytest.raises(ConfigError, match=r"c\.json: bf16: expected a boolean, got 'nope'") as info:
        TrainConfig.from_file(path)
    assert str(path) in str(info.value) and "bf16" in str(info.value)


def test_integers_must_be_integers():
    for name in ("dataloader_num_workers", "batch_size", "seed"):
        with pytest.raises(ConfigError, match=name):
            TrainConfig(**{name: True}).validate()  # bool is an int subclass
        with pytest.raises(ConfigError, match=name):
            TrainConfig.from_dict({name: True})
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size="16").validate()
    with pytest.raises(ConfigError, match="max_steps"):
        TrainConfig(max_steps=2.0).validate()


def test_strings_lists_and_mappings():
    with pytest.raises(ConfigError, match="loss: expected a string"):
        TrainConfig(loss=3).validate()
    with pytest.raises(ConfigError, match="test_datasets: expected a list"):
        TrainConfig(test_datasets="stsb").validate()
    with pytest.raises(ConfigError, match="loss_kwargs: expected a mapping"):
        TrainConfig(loss_kwargs=[1]).validate()
    from pathlib import Path

    TrainConfig(output_dir=Path("runs/x")).validate()  # a Path where a string is expected is fine


def test_tower_normalize_must_be_a_boolean():
    base = dict(encoder="lstm", train_dataset="stsb")
    with pytest.raises(ConfigError, match=r"encoder_args\.normalize"):
        TrainConfig(**base, encoder_args={"normalize": "false"}).validate()
    with pytest.raises(ConfigError, match=r"encoder_args\.projection_dim"):
        TrainConfig(**base, encoder_args={"projection_dim": True}).validate()
    cfg = TrainConfig(**base).with_overrides(["encoder_args.normalize=false"])
    assert cfg.encoder_args == {"normalize": False}
    cfg.validate()
    cfg = TrainConfig.from_dict({**base, "encoder_args": {"normalize": True, "projection_dim": 16}})
    cfg.validate()


def test_config_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"lr: 3e-5\nepochs: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not valid UTF-8") as info:
        TrainConfig.from_file(path)
    assert str(path) in str(info.value)
    assert main(["train", "--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith("textsiam train: error: invalid training config")


def test_config_file_nested_too_deeply(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("[" * 100_000)
    with pytest.raises(ConfigError, match="invalid JSON"):
        TrainConfig.from_file(path)


def test_the_defaults_validate():
    TrainConfig().validate()
