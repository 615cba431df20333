"""``benchmarks.stsb_by_source``: Spearman per source of the STS-B pairs, with a paired bootstrap against the first
model per source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_tiny_model
from scipy.stats import spearmanr


@pytest.fixture
def by_source(import_benchmark: Any) -> Any:
    return import_benchmark("stsb_by_source")


def test_the_source_is_the_file_name_before_year_and_id(by_source: Any) -> None:
    assert by_source.source_of("track5.en-en-2017-0001") == "track5.en-en"
    assert by_source.source_of("answer-answer-2016-0042") == "answer-answer"
    assert by_source.source_of("MSRvid-2012test-0024") == "MSRvid"


def test_each_source_and_all_get_each_models_spearman_and_a_paired_difference(by_source: Any) -> None:
    rng = np.random.default_rng(0)
    gold = rng.uniform(0, 5, 60)
    sources = ["a"] * 30 + ["b"] * 30
    good = gold + rng.normal(0, 0.3, 60)
    bad_on_b = np.concatenate([good[:30], rng.uniform(0, 5, 30)])  # the same on a, noise on b
    rows = by_source.by_source(gold, sources, {"ref": [good], "other": [bad_on_b]}, n_resamples=200)
    assert [r["source"] for r in rows] == ["a", "b", "all"] and [r["pairs"] for r in rows] == [30, 30, 60]
    a, b, every = rows
    assert b["spearman"]["other"] == pytest.approx(spearmanr(gold[30:], bad_on_b[30:]).statistic * 100)
    assert a["vs_reference"]["other"]["difference"] == pytest.approx(0.0) and a["vs_reference"]["other"]["p_value"] == 1
    d = b["vs_reference"]["other"]
    assert d["difference"] == pytest.approx(b["spearman"]["other"] - b["spearman"]["ref"])
    assert d["high"] < 0 and d["p_value"] < 0.05
    assert every["spearman"]["ref"] == pytest.approx(spearmanr(gold, good).statistic * 100)


def test_the_models_are_named_and_the_first_is_the_reference(
    by_source: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [
        (["only=x"], "give at least two models"),
        (["a=x", "no_path"], "write NAME=MODEL_DIR[,MODEL_DIR...], got 'no_path'"),
        (["a=x", "b="], "write NAME=MODEL_DIR[,MODEL_DIR...], got 'b='"),
        (["a=x", "a=y"], "'a' given twice"),
    ]
    for models, message in bad:
        with pytest.raises(SystemExit, match="^2$"):
            by_source.parse_args(["--models", *models])
        assert message in capsys.readouterr().err
    args = by_source.parse_args(["--models", "b=x", "a=y", "--results-dir", str(tmp_path)])
    assert args.models == {"b": ["x"], "a": ["y"]}
    assert by_source.parse_args(["--models", "b=x,z", "a=y"]).models["b"] == ["x", "z"]


def test_a_recipe_of_several_runs_is_their_mean_and_its_interval_carries_their_spread(by_source: Any) -> None:
    rng = np.random.default_rng(1)
    gold = rng.uniform(0, 5, 200)
    runs = [gold + rng.normal(0, s, 200) for s in (0.5, 1.5)]  # one good run, one poor run of a recipe
    ref = gold + rng.normal(0, 1.0, 200)
    rows = by_source.by_source(gold, ["s"] * 200, {"ref": [ref], "recipe": runs}, n_resamples=300)
    every = rows[-1]
    mean = np.mean([spearmanr(gold, r).statistic for r in runs]) * 100
    assert every["spearman"]["recipe"] == pytest.approx(mean)
    one = by_source.by_source(gold, ["s"] * 200, {"ref": [ref], "recipe": runs[:1]}, n_resamples=300)[-1]
    width = lambda d: d["high"] - d["low"]  # noqa: E731
    assert width(every["vs_reference"]["recipe"]) > width(one["vs_reference"]["recipe"])  # the runs' spread counts


@pytest.mark.slow
def test_a_run_on_stsb_writes_every_source_of_dev_and_test(
    by_source: Any, data_dir: Path, tmp_path: Path, default_tokenizer: Any
) -> None:
    for seed in (1, 2):
        make_tiny_model(default_tokenizer, seed=seed).save(tmp_path / f"m{seed}")
    argv = ["--models", f"one={tmp_path / 'm1'}", f"two={tmp_path / 'm2'},{tmp_path / 'm1'}", "--n-resamples", "50"]
    payload = by_source.main([*argv, "--data-dir", str(data_dir), "--results-dir", str(tmp_path)])
    test_sources = [r["source"] for r in payload["splits"]["test"]]
    assert test_sources[-1] == "all" and "answer-answer" in test_sources and "track5.en-en" in test_sources
    assert payload["splits"]["test"][-1]["pairs"] == 1379 and payload["splits"]["dev"][-1]["pairs"] == 1500
    saved = json.loads((tmp_path / "stsb_by_source.json").read_text(encoding="utf-8"))
    assert saved["reference"] == "one" and "command" in saved
    assert "answers-forums" in (tmp_path / "stsb_by_source.md").read_text(encoding="utf-8")
