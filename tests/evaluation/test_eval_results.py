from __future__ import annotations

import json
import math
import stat

import pandas as pd

from textsiam.evaluation import EvaluationResults


def _results() -> EvaluationResults:
    sts = {
        "dataset": "stsb",
        "split": "test",
        "task": "sts",
        "primary_metric": "cosine_spearman",
        "primary_value": 81.234,
        "metrics": {"cosine_spearman": 81.234, "cosine_pearson": 80.0, "dot_spearman": float("nan")},
        "ci": {"cosine_spearman": {"low": 79.5, "high": 83.0}},
        "main_metrics": ["cosine_spearman", "cosine_pearson"],
        "wall_time_s": 1.5,
    }
    mrpc = {
        "dataset": "mrpc",
        "split": "test",
        "task": "classification",
        "primary_metric": "cosine_accuracy",
        "primary_value": 70.0,
        "metrics": {"cosine_accuracy": 70.0, "cosine_f1": 80.0},
        "ci": {"cosine_accuracy": {"low": 68.0, "high": 72.0}},
        "main_metrics": ["cosine_accuracy", "cosine_f1"],
        "thresholds": {"cosine": {"accuracy": 0.71, "f1": 0.5}},
        "wall_time_s": 2.0,
    }
    return EvaluationResults([sts, mrpc], model="my-model", split="test", seed=0, n_resamples=1000)


def test_markdown():
    md = _results().to_markdown()
    assert "| dataset | split | metric | value | 95% CI |" in md
    assert "| stsb | test | **cosine_spearman** | **81.23** | [79.50, 83.00] |" in md
    assert "| mrpc | test | cosine_f1 | 80.00 |  |" in md
    assert "dot_spearman" not in md  # not a main metric
    assert "my-model" in md
    full = _results().to_markdown(all_metrics=True, header=False)
    assert "| stsb | test | dot_spearman | n/a |  |" in full and not full.startswith("**Model")
    assert _results()._repr_markdown_() == md


def test_json_roundtrip_and_nan():
    r = _results()
    d = json.loads(r.to_json())
    assert d["results"][0]["metrics"]["dot_spearman"] is None
    assert d["model"] == "my-model" and d["seed"] == 0 and d["n_resamples"] == 1000
    assert {"textsiam", "torch", "scipy"} <= set(d["versions"]) and "protocol" in d
    again = EvaluationResults.from_dict(d)
    assert again.to_dict() == r.to_dict()
    assert r.primary == {"stsb": 81.234, "mrpc": 70.0}


def test_save_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "sub" / "results.json"
    _results().save(path)
    path.write_text("stale")
    written = _results().save(path)
    assert written == path
    assert EvaluationResults.load(path).to_dict() == _results().to_dict() | {
        "created": json.loads(path.read_text())["created"]
    }
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.json"]  # no temp files left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_dataframe():
    df = _results().to_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["dataset", "split", "task", "metric", "value", "ci_low", "ci_high", "primary"]
    assert len(df) == 5
    first = df.iloc[0]
    assert first["metric"] == "cosine_spearman" and bool(first["primary"]) and first["ci_low"] == 79.5
    assert math.isnan(df.set_index("metric").loc["dot_spearman", "value"])
    assert len(_results().to_dataframe(all_metrics=False)) == 4
