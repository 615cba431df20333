"""``python -m benchmarks.augsbert_cross_encoder``: the run plan, the dev choice of the settings, the goal, the
cross-encoder's bootstrap inputs, and a smoke run (both sides train a tiny random BERT cross-encoder for a few steps on
STS-B, Quora and MRPC) through the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_cross_encoder")


@pytest.fixture
def report(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_cross_encoder_report")


def test_run_plan_and_recipe(bench: Any) -> None:
    args = bench.parse_args(["--work-dir", "w", "--smoke", "--lr", "5e-5", "2e-5", "--only", "mrpc"])
    assert args.max_test_pairs == bench.SMOKE_EVAL_PAIRS
    assert bench.grid(args) == [(2e-5, 1.0), (5e-5, 1.0)]
    names = [run.name for run in bench.runs_of(args)]
    assert names == [f"mrpc_{side}_lr{lr}_ep1" for lr in ("2e-05", "5e-05") for side in ("textsiam", "st")]
    args = bench.parse_args(["--work-dir", "w", "--smoke", "--set", "batch_size=8", "max_train_pairs=10"])
    config, overrides = bench.recipe(bench.Run("stsb", "st", 2e-5, 1.0), args)
    assert config.model_type == "cross_encoder" and config.loss == "binary_cross_entropy"
    assert config.learning_rate == pytest.approx(2e-5) and config.epochs == 1.0 and config.batch_size == 8
    assert config.max_train_pairs == 10 and config.max_dev_pairs == 200  # --set comes after --smoke
    assert config.train_dataset == config.dev_dataset == "stsb" and config.test_datasets == []
    assert overrides[-2:] == ["batch_size=8", "max_train_pairs=10"]
    assert set(bench.FIT_FIELDS) <= set(config.to_dict())


def test_the_setting_is_chosen_on_the_mean_dev_of_both_sides(report: Any) -> None:
    def setting(lr: float, epochs: float, ours: float | None, theirs: float | None) -> dict[str, Any]:
        side = {"textsiam": ours, "st": theirs}
        return {"lr": lr, "epochs": epochs, **{k: None if v is None else {"best_dev": v} for k, v in side.items()}}

    sel = report.choose([setting(2e-5, 1, 80.0, 82.0), setting(5e-5, 1, 83.0, 80.0), setting(2e-5, 2, 90.0, None)])
    assert sel["chosen"] == 1 and sel["rows"][2]["mean"] is None  # 81.5 > 81.0; a setting missing a side is out
    assert "lr 5e-05, 1 epoch(s)" in sel["why"] and "sentence-transformers' dev alone would pick lr 2e-05" in sel["why"]
    tie = report.choose([setting(2e-5, 1, 80.0, 80.0), setting(5e-5, 1, 80.0, 80.0)])
    assert tie["chosen"] == 0  # a tie keeps the first (cheaper) setting
    assert report.choose([setting(2e-5, 1, None, 80.0)])["chosen"] is None


def test_the_goal_is_computed_from_the_paired_bootstraps(report: Any) -> None:
    def comp(metric: str, difference: float, p: float) -> dict[str, Any]:
        ci = {"low": difference - 1, "high": difference + 1}
        return {"metric": metric, "difference": difference, "ci": ci, "p_value": p}

    comps = {"stsb": [comp("cross_encoder_spearman", 0.3, 0.40)]}
    comps["mrpc"] = [comp("cross_encoder_accuracy", -0.5, 0.20), comp("cross_encoder_f1", 0.1, 0.9)]
    (goal,) = report.goals(comps, ["stsb", "mrpc"])
    assert goal["id"] == "matches_st" and goal["met"] is True and len(goal["checks"]) == 3
    comps["mrpc"][1] = comp("cross_encoder_f1", 1.5, 0.01)  # significant either way: not a match
    assert report.goals(comps, ["stsb", "mrpc"])[0]["met"] is False
    partial = report.goals({"stsb": comps["stsb"]}, ["stsb", "quora"])[0]
    assert partial["met"] is None and [c["met"] for c in partial["checks"]] == [True, None, None, None]


def test_cross_encoder_scores_give_the_metrics(report: Any) -> None:
    rng = np.random.default_rng(0)
    gold = np.array([0, 1] * 20)
    scores = gold * 0.3 + rng.normal(0, 0.2, size=40)
    scored = report.CrossScored({}, gold, scores, {"accuracy": 0.2, "f1": 0.1})
    fn, values = scored.inputs("cross_encoder_accuracy")
    assert fn(gold, values) == pytest.approx(100 * np.mean((scores >= 0.2) == gold))
    same = report.paired(scored, scored, "cross_encoder_ap", 50, 0)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0


def test_twin_tower_context_is_read_from_the_result_files(report: Any) -> None:
    context = report.twin_tower_context()
    assert set(context) <= set(report.DATASETS)
    for name, entry in context.items():
        metrics = [m for d, m, _ in report.METRICS if d == name]
        assert set(metrics) <= set(entry["test"]), (name, entry)
        assert all(50 < entry["test"][m]["value"] < 100 for m in metrics)
        assert (ROOT / "benchmarks" / "results" / "finetune" / Path(entry["link"]).name).is_file()
        assert entry["link"].startswith("../finetune/") and entry["link"].endswith(".md")


@pytest.mark.slow
def test_smoke_run(
    bench: Any, report: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path, one_torch_thread: None
) -> None:
    work, results = tmp_path / "work", tmp_path / "results"
    argv = ["--work-dir", str(work), "--model", str(tiny_model_dir), "--data-dir", data_dir, "--smoke"]
    argv += ["--results-dir", str(results), "--max-train-pairs", "32", "--max-dev-pairs", "30"]
    argv += ["--max-test-pairs", "60", "--n-resamples", "20", "--lr", "2e-5", "1e-3"]
    assert bench.main([*argv, "--side", "st"]) is None
    mtime = (work / "stsb_st_lr2e-05_ep1.json").stat().st_mtime_ns
    payload = bench.main(argv)  # textsiam trains; sentence-transformers' runs are complete: skipped
    assert (work / "stsb_st_lr2e-05_ep1.json").stat().st_mtime_ns == mtime
    assert payload is not None and payload["not_run"] == []

    saved = json.loads((results / "cross_encoder_smoke.json").read_text(encoding="utf-8"))
    assert {"date", "command", "machine", "versions", "selection", "test", "comparisons", "goals"} <= set(saved)
    assert saved["machine"]["cpu"] and saved["versions"]["sentence-transformers"]
    for name in report.DATASETS:
        ours, theirs = (saved["runs"][saved["test"][name][side]["run"]] for side in ("textsiam", "st"))
        assert ours["side"] == "textsiam" and theirs["side"] == "st"
        assert (ours["lr"], ours["epochs"]) == (theirs["lr"], theirs["epochs"])
        assert f"{theirs['n_train_pairs']} pairs" in ours["examples"] and ours["n_dev_pairs"] == theirs["n_dev_pairs"]
        assert ours["global_step"] == theirs["global_step"] == 2 and ours["dev_metric"] == theirs["dev_metric"]
        assert ours["run_cpu_s"] > 0 and theirs["run_wall_s"] > 0 and theirs["train_wall_time_s"] > 0
        assert saved["selection"][name]["chosen"] in (0, 1) and "mean" in saved["selection"][name]["rows"][0]
        for side in ("textsiam", "st"):
            figs = saved["test"][name][side]
            assert figs["n_pairs"] == 60
            for dataset, metric, _ in report.METRICS:
                if dataset == name:
                    e = figs[metric]
                    assert np.isfinite(e["value"]) and e["low"] <= e["value"] <= e["high"], (name, metric, e)
        comps = saved["comparisons"][name]
        assert [c["metric"] for c in comps] == [m for d, m, _ in report.METRICS if d == name]
        for c in comps:
            assert c["value_b"] == pytest.approx(saved["test"][name]["textsiam"][c["metric"]]["value"])
            assert c["value_a"] == pytest.approx(saved["test"][name]["st"][c["metric"]]["value"])
            assert 0.0 <= c["p_value"] <= 1.0
    (goal,) = saved["goals"]
    assert goal["id"] == "matches_st" and isinstance(goal["met"], bool) and len(goal["checks"]) == 6
    assert set(saved["twin_towers"]) <= set(report.DATASETS)
    md = (results / "cross_encoder_smoke.md").read_text(encoding="utf-8")
    assert "**Goal**" in md and "**Settings chosen on dev**" in md and "Training commands:" in md
    assert "| stsb_st_lr2e-05_ep1 | st |" in md and payload["markdown"] in md
