"""``python -m benchmarks.finetune_multitask``: the recipe of the sentence-transformers side, the goals, and a smoke
run (sentence-transformers trains a tiny random BERT for two steps; textsiam's runs are stand-ins: records that
point at the tiny model) through the report."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("finetune_multitask")


@pytest.fixture
def report(import_benchmark: Any) -> Any:
    return import_benchmark("finetune_multitask_report")


def test_runs_match_the_report_plan(bench: Any, report: Any) -> None:
    names = set(bench.RUN_NAMES)
    peers = {name for pair in report.PEERS for name in pair}
    assert set(report.SINGLE_TASK.values()) | set(report.MULTI_TASK) | peers <= names
    assert report.STSB_ONLY in names
    for run in bench.RUNS:
        assert (ROOT / "benchmarks" / "configs" / run.config).is_file()
    assert bench.parse_args(["--work-dir", "w", "--smoke"]).max_test_pairs == bench.SMOKE_EVAL_PAIRS


def test_st_recipe_mirrors_the_all4_config(import_benchmark: Any) -> None:
    st = import_benchmark("finetune_multitask_st")
    config_file = ROOT / "benchmarks" / "configs" / "multitask_all4.yaml"
    config, tasks, sampler = st.read_recipe(config_file, ["lr=3e-5", "train_datasets.quora.max_train_pairs=100"])
    assert sampler == "proportional"
    assert list(tasks) == ["stsb", "sick", "mrpc", "quora"]
    losses = [t["loss"] for t in tasks.values()]
    assert losses == ["cosent", "cosine_similarity", "online_contrastive", "online_contrastive"]
    assert tasks["quora"]["max_train_pairs"] == 100 and "max_train_pairs" not in tasks["mrpc"]
    assert config.learning_rate == pytest.approx(3e-5) and config.batch_size == 16 and config.seed == 42


def entry(value: float, low: float, high: float) -> dict[str, float]:
    return {"value": value, "low": low, "high": high}


def comparison(a: str, b: str, dataset: str, metric: str, difference: float, p: float) -> dict[str, Any]:
    ci = {"low": difference - 1.0, "high": difference + 1.0}
    return {"a": a, "b": b, "dataset": dataset, "metric": metric, "difference": difference, "ci": ci, "p_value": p}


def figures_of(value: float) -> dict[str, Any]:
    """Every report metric of one model at ``value`` with a CI of ±2."""
    out: dict[str, Any] = {}
    for dataset, metric, _ in (
        ("stsb", "cosine_spearman", ""),
        ("sick", "cosine_pearson", ""),
        ("mrpc", "cosine_accuracy", ""),
        ("mrpc", "cosine_f1", ""),
        ("quora", "cosine_accuracy", ""),
        ("quora", "cosine_ap", ""),
    ):
        out.setdefault(dataset, {})[metric] = entry(value, value - 2.0, value + 2.0)
    return out


def test_goals_are_computed_from_the_numbers(report: Any) -> None:
    test = {name: figures_of(80.0) for name in ("stsb", "sick", "mrpc", "quora", "stsb_sick", "all4", "st_all4")}
    comps = [comparison("st_all4", "all4", d, m, -0.5, 0.30) for d, m, _ in report.METRICS]
    comps += [comparison("stsb", name, "sick", "cosine_pearson", 5.0, 0.001) for name in ("stsb_sick", "all4")]
    every = {g["id"]: g for g in report.goals(test, comps)}  # every model of the plan: not run -> met None
    assert every["not_worse_than_st:all4_prompts"]["met"] is None and every["not_worse_than_st:all4"]["met"] is True
    goals = {g["id"]: g for g in report.goals(test, comps, list(test))}  # the report's models only
    assert set(goals) == {
        "as_good_as_single_task:stsb_sick",
        "beats_stsb_on_sick:stsb_sick",
        "as_good_as_single_task:all4",
        "beats_stsb_on_sick:all4",
        "not_worse_than_st:all4",
    }
    assert all(g["met"] is True for g in goals.values())
    assert len(goals["as_good_as_single_task:all4"]["checks"]) == 6
    assert len(goals["as_good_as_single_task:stsb_sick"]["checks"]) == 2

    worse = copy.deepcopy(test)
    worse["all4"]["mrpc"]["cosine_f1"]["value"] = 77.9  # below mrpc's CI low (78.0)
    flipped = {g["id"]: g for g in report.goals(worse, comps)}
    assert flipped["as_good_as_single_task:all4"]["met"] is False
    assert [c["met"] for c in flipped["as_good_as_single_task:all4"]["checks"]] == [True] * 3 + [False, True, True]
    assert flipped["as_good_as_single_task:stsb_sick"]["met"] is True
    worse["all4"]["mrpc"]["cosine_f1"]["value"] = 78.0  # at the CI low: within the CI
    assert {g["id"]: g for g in report.goals(worse, comps)}["as_good_as_single_task:all4"]["met"] is True

    significant = [dict(c, p_value=0.01) if c["a"] == "st_all4" and c["metric"] == "cosine_ap" else c for c in comps]
    assert {g["id"]: g for g in report.goals(test, significant)}["not_worse_than_st:all4"]["met"] is False
    tie = [dict(c, difference=0.0) if c["a"] == "stsb" else c for c in comps]
    assert {g["id"]: g for g in report.goals(test, tie)}["beats_stsb_on_sick:all4"]["met"] is False

    missing = {k: v for k, v in test.items() if k != "quora"}  # no Quora-only model: those checks cannot be made
    partial = {g["id"]: g for g in report.goals(missing, comps)}
    assert partial["as_good_as_single_task:all4"]["met"] is None
    assert partial["as_good_as_single_task:stsb_sick"]["met"] is True


def test_paired_inputs_give_the_metrics(report: Any) -> None:
    rng = np.random.default_rng(0)
    gold = np.array([0, 1] * 20)
    scores = gold * 0.3 + rng.normal(0, 0.2, size=40)
    scored = report.Scored({}, gold, scores, {"accuracy": 0.2, "f1": 0.1})
    fn, values = scored.inputs("cosine_accuracy")
    assert fn(gold, values) == pytest.approx(100 * np.mean((scores >= 0.2) == gold))
    fn, values = scored.inputs("cosine_ap")
    assert 50 < fn(gold, values) <= 100 and np.isnan(fn(np.zeros(4, dtype=int), values[:4]))
    same = report.paired(scored, scored, "cosine_f1", 50, 0)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0
    with pytest.raises(ValueError, match="no per-pair inputs for metric 'cosine_mrr@10'"):
        scored.inputs("cosine_mrr@10")


@pytest.mark.slow
def test_smoke_run(
    bench: Any, report: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path, one_torch_thread: None
) -> None:
    work, results = tmp_path / "work", tmp_path / "results"
    common = ["--work-dir", str(work), "--model", str(tiny_model_dir), "--data-dir", data_dir]
    common += ["--results-dir", str(results)]
    train = ["--max-train-pairs", "16", "--max-dev-pairs", "30", "--max-steps", "2"]
    assert bench.main([*common, "--side", "st", "--only", "st_all4", *train]) is None
    st = json.loads((work / "st_all4.json").read_text(encoding="utf-8"))
    assert st["global_step"] == 2 and st["best_dev"] is not None and Path(st["model_dir"]).is_dir()
    assert {t: v["n_train_pairs"] for t, v in st["tasks"].items()} == dict.fromkeys(
        ("stsb", "sick", "mrpc", "quora"), 16
    )
    assert st["dev_history"][-1]["step"] == 2 and "mean_dev" in st["dev_history"][-1]
    assert {t["label_transform"] for t in st["tasks"].values()} == {"scale", "none"}
    # textsiam's runs: stand-ins, the tiny start model itself (all4 then equals stsb exactly)
    args = bench.parse_args(common)
    for name in ("stsb", "all4"):
        run = next(r for r in bench.RUNS if r.name == name)
        fake = {"config": st["config"], "model_dir": str(tiny_model_dir), "train_wall_time_s": 1.0, "global_step": 2}
        bench.write_record(args.work_dir, run, [], {**fake, "dev_metric": "mean_dev", "best_dev": 1.0})
    mtime = (work / "st_all4.json").stat().st_mtime_ns
    assert bench.main([*common, "--side", "st", "--only", "st_all4", *train]) is None  # complete: skipped
    assert (work / "st_all4.json").stat().st_mtime_ns == mtime

    payload = bench.main([*common, "--side", "report", "--max-test-pairs", "60", "--n-resamples", "20"])
    saved = json.loads((results / "multitask.json").read_text(encoding="utf-8"))
    assert {"date", "command", "machine", "versions", "settings", "runs", "test", "comparisons", "goals"} <= set(saved)
    assert saved["machine"]["cpu"] and saved["versions"]["sentence-transformers"]
    assert saved["not_run"] == ["sick", "mrpc", "quora", "stsb_sick", *(r for r in bench.RUN_NAMES if "prompts" in r)]
    assert set(saved["test"]) == {"start", "stsb", "all4", "st_all4"}
    for figs in saved["test"].values():
        for dataset, metric, _ in report.METRICS:
            e = figs[dataset][metric]
            assert np.isfinite(e["value"]) and e["low"] <= e["value"] <= e["high"], (dataset, metric, e)
        assert figs["quora"]["n_pairs"] == 60
    assert saved["test"]["all4"] == saved["test"]["stsb"] == saved["test"]["start"]
    peers = [c for c in saved["comparisons"] if c["a"] == "st_all4"]
    assert [(c["dataset"], c["metric"]) for c in peers] == [(d, m) for d, m, _ in report.METRICS]
    for c in peers:
        assert c["value_b"] == pytest.approx(saved["test"]["all4"][c["dataset"]][c["metric"]]["value"])
        assert c["value_a"] == pytest.approx(saved["test"]["st_all4"][c["dataset"]][c["metric"]]["value"])
        assert 0.0 <= c["p_value"] <= 1.0
    goals = {g["id"]: g for g in saved["goals"]}
    assert goals["beats_stsb_on_sick:all4"]["met"] is False  # the same model: no difference
    assert goals["as_good_as_single_task:all4"]["met"] is None  # sick, mrpc and quora alone were not run
    assert goals["as_good_as_single_task:all4"]["checks"][0]["met"] is True  # STS-B: equal to the STS-B model
    assert goals["beats_stsb_on_sick:stsb_sick"]["met"] is None
    assert isinstance(goals["not_worse_than_st:all4"]["met"], bool)
    md = (results / "multitask.md").read_text(encoding="utf-8")
    assert "**Goals**" in md and "| st_all4 |" in md and "| sick | not run |" in md and "Training commands:" in md
    assert payload is not None and payload["markdown"] in md


@pytest.mark.slow
def test_textsiam_side_smoke(
    bench: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path, one_torch_thread: None
) -> None:
    """textsiam's single-task and four-task runs train (two steps) and leave the records the report reads; the
    four-task run trains on as many pairs per task as the sentence-transformers side and logs the same dev keys."""
    if not bench.has_multitask():
        pytest.skip("this textsiam has no multi-task training (TrainConfig.train_datasets)")
    work = tmp_path / "work"
    argv = ["--work-dir", str(work), "--model", str(tiny_model_dir), "--data-dir", data_dir]
    argv += ["--max-train-pairs", "16", "--max-dev-pairs", "30", "--max-steps", "2", "--results-dir", str(tmp_path)]
    assert bench.main([*argv, "--side", "textsiam", "--only", "stsb", "all4"]) is None
    assert bench.main([*argv, "--side", "st"]) is None
    stsb, all4, st = (bench.load_record(work, name) for name in ("stsb", "all4", "st_all4"))
    assert stsb is not None and all4 is not None and st is not None
    assert stsb["dev_metric"] == "cosine_spearman" and stsb["global_step"] == 2
    assert all4["dev_metric"] == st["dev_metric"] == "mean_dev" and all4["global_step"] == st["global_step"] == 2
    for task in ("stsb", "sick", "mrpc", "quora"):
        assert f"{task}: 16 pairs" in all4["examples"]
    assert set(all4["dev_history"][-1]) == set(st["dev_history"][-1])
    assert all4["best_dev"] is not None and Path(all4["model_dir"], "textsiam.json").is_file()
    assert all4["config"]["train_datasets"]["quora"]["loss"] == "online_contrastive"


def test_reference_figures_stand_in_for_single_task_models_not_run(bench: Any, report: Any, tmp_path: Path) -> None:
    earlier = {"date": "2026-12-06", "machine": {"cpu": "Some CPU"}, "test": {"stsb": figures_of(84.0)}}
    earlier["test"]["sick"] = figures_of(88.0)
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps(earlier), encoding="utf-8")
    test = {"sick": figures_of(70.0), "all4_prompts_2ep": figures_of(87.0)}
    taken = bench.reference_figures(path, test)
    assert taken == {"file": str(path), "date": "2026-12-06", "cpu": "Some CPU", "models": ["stsb"]}
    assert test["stsb"] == earlier["test"]["stsb"] and test["sick"]["sick"]["cosine_pearson"]["value"] == 70.0
    # no paired test against STS-B alone: the CIs are compared (87 [85, 89] against 84 [82, 86] overlap)
    goal = {g["id"]: g for g in report.goals(test, [], ["all4_prompts_2ep"])}["beats_stsb_on_sick:all4_prompts_2ep"]
    assert goal["met"] is False and "95% CIs compared" in goal["checks"][0]["detail"]
    test["stsb"] = {"sick": {"cosine_pearson": entry(80.0, 79.0, 84.9)}}
    goal = {g["id"]: g for g in report.goals(test, [], ["all4_prompts_2ep"])}["beats_stsb_on_sick:all4_prompts_2ep"]
    assert goal["met"] is True
    with pytest.raises(SystemExit, match="no such result file"):
        bench.reference_figures(tmp_path / "missing.json", {})
