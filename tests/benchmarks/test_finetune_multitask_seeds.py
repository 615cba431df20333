"""``benchmarks.finetune_multitask_seeds``: textsiam's and sentence-transformers' runs of one recipe with several
seeds, compared by the two-level paired bootstrap, and the goals over seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


@pytest.fixture
def seeds(import_benchmark: Any) -> Any:
    return import_benchmark("finetune_multitask_seeds")


@pytest.fixture
def report(import_benchmark: Any) -> Any:
    return import_benchmark("finetune_multitask_report")


def scored_runs(report: Any, noise: dict[str, float]) -> dict[str, dict[str, Any]]:
    """``{run: {dataset: Scored}}``: each run's scores are the gold labels plus noise of the given scale."""
    rng = np.random.default_rng(3)
    gold = {"stsb": rng.uniform(0, 5, 300), "sick": rng.uniform(1, 5, 300), "mrpc": np.arange(300) % 2}
    gold["quora"] = gold["mrpc"]
    out: dict[str, dict[str, Any]] = {}
    for name, scale in noise.items():
        out[name] = {}
        for dataset, g in gold.items():
            scores = g + rng.normal(scale=scale, size=len(g))
            out[name][dataset] = report.Scored({}, g, scores, {"accuracy": 0.5, "f1": 0.5})
    return out


def figures(report: Any, scored: dict[str, Any]) -> dict[str, Any]:
    """The report's figures of one run, without CIs."""
    out: dict[str, Any] = {}
    for dataset, metric, _ in report.METRICS:
        fn, values = scored[dataset].inputs(metric)
        out.setdefault(dataset, {})[metric] = {"value": fn(scored[dataset].gold, values), "low": None, "high": None}
    return out


def test_seed_comparisons_pool_each_side_over_its_runs(seeds: Any, report: Any) -> None:
    recipe, ours, theirs = seeds.SEED_GROUPS[0]
    noise = {ours[0]: 0.5, ours[1]: 0.5, ours[2]: 0.5, theirs[0]: 2.0, theirs[1]: 2.0}  # textsiam far better
    scored = scored_runs(report, noise)
    comps = seeds.seed_comparisons(scored, report.METRICS, 300, 0)
    assert [(c["dataset"], c["metric"]) for c in comps] == [(d, m) for d, m, _ in report.METRICS]
    for c in comps:
        assert c["recipe"] == recipe and c["runs_b"] == list(ours) and c["runs_a"] == list(theirs[:2])
        fn = scored[ours[0]][c["dataset"]].inputs(c["metric"])[0]
        mine = [fn(s[c["dataset"]].gold, s[c["dataset"]].inputs(c["metric"])[1]) for s in (scored[n] for n in ours)]
        assert c["value_b"] == pytest.approx(np.mean(mine))
        assert c["difference"] > 0 and c["p_value"] < 0.05
    # one run per side: nothing to pool, left to the single-run comparison
    assert seeds.seed_comparisons(scored_runs(report, {ours[0]: 1.0, theirs[0]: 1.0}), report.METRICS, 50, 0) == []

    test = {name: figures(report, s) for name, s in scored.items()}
    test["stsb"] = test["sick"] = test["mrpc"] = test["quora"] = test[theirs[0]]  # single-task stand-ins
    goals = {g["id"]: g for g in seeds.seed_goals(test, comps, report.METRICS, report.SINGLE_TASK, 0.05)}
    assert goals[f"not_worse_than_st_over_seeds:{recipe}"]["met"] is True
    assert goals[f"as_good_as_single_task_over_seeds:{recipe}"]["met"] is True
    worse = seeds.seed_comparisons(scored, report.METRICS, 300, 0)
    worse = [dict(c, difference=-c["difference"]) for c in worse]  # textsiam significantly worse everywhere
    flipped = {g["id"]: g for g in seeds.seed_goals(test, worse, report.METRICS, report.SINGLE_TASK, 0.05)}
    assert flipped[f"not_worse_than_st_over_seeds:{recipe}"]["met"] is False
    low = {name: figs for name, figs in test.items()}
    low["stsb"] = {"stsb": {"cosine_spearman": {"value": 100.0, "low": 99.9, "high": 100.0}}}
    check = seeds.seed_goals(low, comps, report.METRICS, report.SINGLE_TASK, 0.05)[0]["checks"][0]
    assert check["met"] is False and "(mean of 3 seeds)" in check["detail"]

    lines = "\n".join(seeds.render_seeds(test, comps, report.METRICS))
    assert f"**`{recipe}` over seeds**" in lines and "| STS-B ρ |" in lines and " ± " in lines
