"""``python -m benchmarks.trainer_trace``: the deterministic recipe, the step comparison and its verdict, the report,
and a smoke run of both trainers on a tiny random BERT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("trainer_trace")


def steps(*losses: float, grad: float = 1.0) -> list[dict[str, float]]:
    return [{"step": i + 1, "loss": x, "grad_norm": grad, "learning_rate": 1e-5} for i, x in enumerate(losses)]


def test_recipe_takes_chance_out(bench: Any, tmp_path: Path) -> None:
    data = bench.recipe(bench.CONFIGS / "multitask_all4_prompts.yaml", tmp_path / "start", 7, tmp_path / "run", "D")
    assert data["max_steps"] == 7 and data["logging_steps"] == 1 and data["test_datasets"] == []
    assert data["multi_dataset_batch_sampler"] == "round_robin"
    assert data["model"] == str(tmp_path / "start") and data["data_dir"] == "D"
    assert set(data["train_datasets"]) == {"stsb", "sick", "mrpc", "quora"}
    assert all(entry["dev_dataset"] is None for entry in data["train_datasets"].values())
    assert data["prompts"]["quora"] == "duplicate question: "  # the rest of the recipe is kept
    single = tmp_path / "single.yaml"
    single.write_text(yaml.safe_dump({"train_dataset": "stsb"}), encoding="utf-8")
    with pytest.raises(SystemExit, match="has no train_datasets: the trace needs a multi-task recipe"):
        bench.recipe(single, tmp_path / "start", 7, tmp_path / "run")


def test_compare_finds_the_first_step_that_differs(bench: Any) -> None:
    same = bench.compare(steps(1.0, 0.5, 0.25), steps(1.0, 0.5 + 1e-7, 0.25))
    assert same["first_disagreeing_step"] is None and same["max_abs_loss_difference"] == pytest.approx(1e-7)
    apart = bench.compare(steps(1.0, 0.5, 0.25), steps(1.0, 0.5, 0.26))
    assert apart["first_disagreeing_step"] == 3 and apart["max_abs_loss_difference"] == pytest.approx(0.01)
    grads = bench.compare(steps(1.0, grad=2.0), steps(1.0, grad=2.01))
    assert grads["first_disagreeing_step"] == 1
    with pytest.raises(SystemExit, match="the two sides logged different steps"):
        bench.compare(steps(1.0, 2.0), steps(1.0))


def test_verdict_needs_every_step_and_the_weights(bench: Any) -> None:
    summary = {"first_disagreeing_step": None, "relative_l2_difference": 2e-4}
    assert bench.verdict(summary) is True
    assert bench.verdict({**summary, "relative_l2_difference": 0.05}) is False
    assert bench.verdict({**summary, "first_disagreeing_step": 12}) is False


def test_report(bench: Any) -> None:
    a, b = steps(1.5, 0.5), steps(1.5, 0.5000001)
    summary = {
        **bench.compare(a, b),
        "max_abs_weight_difference": 2e-5,
        "max_abs_weight_change": 8e-4,
        "relative_l2_difference": 2.3e-4,
    }
    payload = {"config": "c.yaml", "steps": 2, "same_steps": bench.verdict(summary), "summary": summary}
    md = bench.render({**payload, "textsiam": a, "st": b})
    assert "- **Same steps: yes**" in md
    assert "the difference is 2.30e-04 of the change from the start" in md
    assert "| 2 | 0.500000 | 0.500000 | 1.00000 | 1.00000 | 1e-05 |" in md
    summary["first_disagreeing_step"] = 2
    payload["same_steps"] = bench.verdict(summary)
    assert "- **Same steps: no** (first disagreement at step 2)" in bench.render({**payload, "textsiam": a, "st": b})


@pytest.mark.slow
def test_smoke_run(bench: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path) -> None:
    """Both trainers, 4 steps of the prompted four-task recipe on a tiny random BERT: the same steps."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    work, results = tmp_path / "work", tmp_path / "results"
    cmd = [sys.executable, "-m", "benchmarks.trainer_trace", "--work-dir", str(work), "--steps", "4"]
    cmd += ["--model", str(tiny_model_dir), "--data-dir", data_dir, "--results-dir", str(results)]
    done = subprocess.run(cmd, cwd=bench.ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads((results / "trainer_trace.json").read_text(encoding="utf-8"))
    assert [s["step"] for s in payload["textsiam"]] == [1, 2, 3, 4]
    assert payload["same_steps"] is True, payload["summary"]
    assert payload["summary"]["max_abs_loss_difference"] < 1e-4
    assert json.loads((work / "start" / "config.json").read_text())["hidden_dropout_prob"] == 0.0
