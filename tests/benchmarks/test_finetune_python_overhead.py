"""``python -m benchmarks.finetune_python_overhead``: its summary and report, and a smoke run on a tiny random BERT
(once ``textsiam.fit`` exists)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("finetune_python_overhead")


def result(train_s: float, best: float | None = 80.0) -> SimpleNamespace:
    return SimpleNamespace(train_wall_time_s=train_s, best_metric=best, global_step=13)


def test_summary_and_report(bench: Any) -> None:
    times = {"cli": [10.0, 12.0, 11.0], "python": [11.0, 13.0, 12.0]}
    results = {"cli": [result(8.0), result(9.0), result(10.0)], "python": [result(9.0), result(9.0), result(12.0)]}
    s = bench.summary(times, results)
    assert s["median_total_s"] == {"cli": 11.0, "python": 12.0}
    assert s["median_train_wall_time_s"] == {"cli": 9.0, "python": 9.0}
    assert s["ratio_total_python_over_cli"] == pytest.approx(12.0 / 11.0)
    assert s["ratio_train_python_over_cli"] == pytest.approx(1.0)
    assert s["same_dev_metric"] is True
    results["python"][1] = result(9.0, best=79.0)
    assert bench.summary(times, results)["same_dev_metric"] is False
    payload = {
        "smoke": True,
        "n_train_pairs": 200,
        "n_dev_pairs": 200,
        "epochs": 1.0,
        "batch_size": 16,
        "learning_rate": 5e-5,
        "global_step": 13,
        "rounds": 3,
        "warmup": 1,
        "summary": s,
    }
    md = bench.render(payload)
    assert "Ratio Python / CLI: **1.000** (train), **1.091** (total)" in md
    assert "| CLI path: `train(TrainConfig)` | 9.00 | 11.00 | 8.00, 9.00, 10.00 |" in md
    assert "Smoke run" in md


def test_settings_are_config_fields(bench: Any) -> None:
    from textsiam.training import TrainConfig

    config = TrainConfig()
    assert all(hasattr(config, key) for key in bench.SETTINGS)


@pytest.mark.slow
def test_smoke_run(bench: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path, one_torch_thread: None) -> None:
    import textsiam

    if not hasattr(textsiam, "fit"):
        pytest.skip("textsiam.fit (the Python training API) is not there yet")
    results = tmp_path / "results"
    argv = ["--model", str(tiny_model_dir), "--data-dir", data_dir, "--work-dir", str(tmp_path / "work")]
    argv += ["--pairs", "16", "--dev-pairs", "30", "--rounds", "1", "--warmup", "0", "--results-dir", str(results)]
    payload = bench.main(argv)
    saved = json.loads((results / "python_overhead.json").read_text(encoding="utf-8"))
    assert {"date", "command", "machine", "versions", "summary"} <= set(saved)
    s = saved["summary"]
    assert len(s["total_s"]["cli"]) == len(s["total_s"]["python"]) == 1
    assert s["ratio_total_python_over_cli"] > 0 and s["global_step"]["cli"] == s["global_step"]["python"]
    assert s["same_dev_metric"], f"the two paths chose different dev metrics: {s['best_dev']}"
    assert payload["summary"] == s
    assert "Ratio Python / CLI" in (results / "python_overhead.md").read_text(encoding="utf-8")
