"""Recipes trained with several seeds on both sides of ``python -m benchmarks.finetune_multitask``: the mean of each
test figure over the seeds, and textsiam against sentence-transformers by a two-level paired bootstrap
(:func:`textsiam.evaluation.bootstrap.paired_bootstrap_runs`: the test pairs and the runs are resampled).

One run per side answers "are these two trained models different on these test pairs", not "is one recipe better":
a paired bootstrap of single runs leaves out how much a second seed of the same recipe moves the figures. With the
seeds resampled too, a p-value below 0.05 says the gap outlasts the training noise the runs show.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks.common import all_met, diff_text, markdown_table, value_ci

logger = logging.getLogger("benchmarks.finetune_multitask")

#: (recipe, textsiam runs, sentence-transformers runs): each recipe with seed 42 (the recipe's own) and seeds 1, 2
SEED_GROUPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = tuple(
    (
        recipe,
        (recipe, f"{recipe}_seed1", f"{recipe}_seed2"),
        (f"st_{recipe}", f"st_{recipe}_seed1", f"st_{recipe}_seed2"),
    )
    for recipe in ("all4_prompts_lr5", "all4_prompts_2ep")
)


def finished(names: Sequence[str], scored: Mapping[str, Any]) -> list[str]:
    """The runs of ``names`` that were scored (trained and evaluated)."""
    return [name for name in names if name in scored]


def seed_comparisons(
    scored: Mapping[str, Mapping[str, Any]],
    metrics: Sequence[tuple[str, str, str]],
    n_resamples: int,
    seed: int,
) -> list[dict[str, Any]]:
    """textsiam's runs of each :data:`SEED_GROUPS` recipe against sentence-transformers', on every metric, where
    one side has more than one finished run (``difference`` = textsiam mean − sentence-transformers mean)."""
    from textsiam.evaluation.bootstrap import paired_bootstrap_runs

    out = []
    for recipe, ours, theirs in SEED_GROUPS:
        mine, peer = finished(ours, scored), finished(theirs, scored)
        if not mine or not peer or len(mine) + len(peer) < 3:
            continue
        for dataset, metric, _ in metrics:
            runs_a = [scored[name][dataset] for name in peer]
            runs_b = [scored[name][dataset] for name in mine]
            gold = runs_a[0].gold
            if any(not np.array_equal(gold, s.gold) for s in runs_a + runs_b):
                raise ValueError("a seed comparison of models scored on different pairs")
            fn = runs_a[0].inputs(metric)[0]
            res = paired_bootstrap_runs(
                fn,
                gold,
                [s.inputs(metric)[1] for s in runs_a],
                [s.inputs(metric)[1] for s in runs_b],
                max(1, n_resamples),
                seed,
            )
            out.append(
                {
                    "recipe": recipe,
                    "runs_a": peer,
                    "runs_b": mine,
                    "dataset": dataset,
                    "metric": metric,
                    "value_a": res.value_a,
                    "value_b": res.value_b,
                    "difference": res.difference,
                    "ci": {"low": res.low, "high": res.high},
                    "p_value": res.p_value,
                    "n_pairs": len(gold),
                    "n_resamples": res.n_resamples,
                }
            )
            logger.info(
                "%s over seeds (%d vs %d runs) on %s %s: %+.2f [%+.2f, %+.2f], p = %.3f",
                recipe,
                len(mine),
                len(peer),
                dataset,
                metric,
                res.difference,
                res.low,
                res.high,
                res.p_value,
            )
    return out


def seed_means(test: Mapping[str, Any], names: Sequence[str], dataset: str, metric: str) -> tuple[float, float]:
    """The mean and sample standard deviation (0 for one run) of a figure over the runs ``names`` that have it."""
    values = [test[n][dataset][metric]["value"] for n in names if metric in test.get(n, {}).get(dataset, {})]
    if not values:
        return float("nan"), float("nan")
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def seed_goals(
    test: Mapping[str, Any],
    comps: Sequence[Mapping[str, Any]],
    metrics: Sequence[tuple[str, str, str]],
    single_task: Mapping[str, str],
    alpha: float,
) -> list[dict[str, Any]]:
    """The goals of the issue for each recipe with several seeds: its mean over seeds at least as good as each
    single-task model (at or above that model's CI low), and not significantly worse than sentence-transformers
    over seeds (difference ≥ 0 or p ≥ ``alpha``)."""
    out = []
    for recipe, ours, _ in SEED_GROUPS:
        mine = [name for name in ours if name in test]
        recipe_comps = [c for c in comps if c["recipe"] == recipe]
        if len(mine) < 2 and not recipe_comps:
            continue
        checks = []
        for dataset, metric, label in metrics:
            ref = test.get(single_task[dataset], {}).get(dataset, {}).get(metric)
            mean, _ = seed_means(test, mine, dataset, metric)
            met, detail = None, "not run"
            if ref is not None and np.isfinite(mean):
                low = ref["low"] if ref.get("low") is not None else ref["value"]
                met = bool(mean >= low)
                detail = f"{mean:.2f} (mean of {len(mine)} seeds) vs {single_task[dataset]} {value_ci(ref)}"
            checks.append({"what": f"{label} ≥ {single_task[dataset]}'s CI low", "met": met, "detail": detail})
        out.append(
            {
                "id": f"as_good_as_single_task_over_seeds:{recipe}",
                "goal": f"{recipe}, mean over seeds, at least as good as each single-task model within its 95% CI",
                "met": all_met(checks),
                "checks": checks,
            }
        )
        checks = []
        for dataset, metric, label in metrics:
            comp = next((c for c in recipe_comps if (c["dataset"], c["metric"]) == (dataset, metric)), None)
            met, detail = None, "not run"
            if comp is not None:
                met = bool(comp["difference"] >= 0 or comp["p_value"] >= alpha)
                detail = diff_text(comp) + f" ({len(comp['runs_b'])} vs {len(comp['runs_a'])} runs)"
            checks.append(
                {"what": f"{label}: textsiam − sentence-transformers over seeds", "met": met, "detail": detail}
            )
        out.append(
            {
                "id": f"not_worse_than_st_over_seeds:{recipe}",
                "goal": f"textsiam's {recipe} not significantly worse than sentence-transformers' over seeds "
                f"(two-level paired bootstrap; difference ≥ 0 or p ≥ {alpha})",
                "met": all_met(checks),
                "checks": checks,
            }
        )
    return out


def render_seeds(
    test: Mapping[str, Any], comps: Sequence[Mapping[str, Any]], metrics: Sequence[tuple[str, str, str]]
) -> list[str]:
    """Markdown: each recipe's mean ± standard deviation over seeds on both sides, and their comparison."""
    lines: list[str] = []
    for recipe, ours, theirs in SEED_GROUPS:
        recipe_comps = {(c["dataset"], c["metric"]): c for c in comps if c["recipe"] == recipe}
        if not recipe_comps:
            continue
        mine, peer = [n for n in ours if n in test], [n for n in theirs if n in test]
        rows = []
        for dataset, metric, label in metrics:
            c = recipe_comps.get((dataset, metric))
            if c is None:
                continue
            m_mean, m_sd = seed_means(test, mine, dataset, metric)
            p_mean, p_sd = seed_means(test, peer, dataset, metric)
            rows.append([label, f"{m_mean:.2f} ± {m_sd:.2f}", f"{p_mean:.2f} ± {p_sd:.2f}", diff_text(c)])
        lines += [
            f"**`{recipe}` over seeds**: textsiam {', '.join(mine)}; sentence-transformers {', '.join(peer)}. "
            "Mean ± standard deviation over the runs; two-level paired bootstrap (test pairs and runs resampled), "
            "difference = textsiam − sentence-transformers:",
            "",
            *markdown_table(["metric", "textsiam", "sentence-transformers", "difference [95% CI], p"], rows, "lrrl"),
            "",
        ]
    return lines
