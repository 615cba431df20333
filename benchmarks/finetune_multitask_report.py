"""The report of ``python -m benchmarks.finetune_multitask``: test figures, paired bootstraps, goals, markdown.

Every model is scored on the four test sets through the evaluators (``benchmarks.common.evaluate_on``, cosine
similarity, 95% bootstrap CIs; MRPC and Quora thresholds chosen on their dev pairs). The AP CI and the paired
bootstraps resample the cosine scores of the very embeddings the evaluator computed (kept by
:class:`benchmarks.distill_measure.RecordingModel`), so no model encodes a test set twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.common import all_met, diff_text, evaluate_on, goal_flag, markdown_table, value_ci
from benchmarks.distill_measure import RecordingModel
from benchmarks.finetune_multitask_seeds import render_seeds

logger = logging.getLogger("benchmarks.finetune_multitask")

DATASETS = ("stsb", "sick", "mrpc", "quora")
#: (dataset, metric key of the evaluator's record, column label): the figures of the report, test split, cosine
METRICS: tuple[tuple[str, str, str], ...] = (
    ("stsb", "cosine_spearman", "STS-B ρ"),
    ("sick", "cosine_pearson", "SICK-R r"),
    ("mrpc", "cosine_accuracy", "MRPC acc"),
    ("mrpc", "cosine_f1", "MRPC F1"),
    ("quora", "cosine_accuracy", "Quora acc"),
    ("quora", "cosine_ap", "Quora AP"),
)
#: the single-task run of each dataset: a multi-task model must match it on that dataset's metrics
SINGLE_TASK = {"stsb": "stsb", "sick": "sick", "mrpc": "mrpc", "quora": "quora"}
#: the textsiam multi-task runs and the datasets each trains on
MULTI_TASK = {
    "stsb_sick": ("stsb", "sick"),
    "all4": DATASETS,
    "stsb_sick_prompts": ("stsb", "sick"),
    "all4_prompts": DATASETS,
    "all4_prompts_lr5": DATASETS,
    "all4_prompts_2ep": DATASETS,
}
#: (textsiam, sentence-transformers): the multi-task models compared on every metric, each pair with one recipe
PEERS = (
    ("all4", "st_all4"),
    ("all4_prompts", "st_all4_prompts"),
    ("all4_prompts_lr5", "st_all4_prompts_lr5"),
    ("all4_prompts_2ep", "st_all4_prompts_2ep"),
)
#: the model the multi-task models must beat on SICK-R
STSB_ONLY = "stsb"
#: the significance level of the goals
ALPHA = 0.05


@dataclass
class Scored:
    """One model on one test set: the evaluator's record and the per-pair inputs of its bootstraps."""

    record: dict[str, Any]
    gold: np.ndarray
    scores: np.ndarray
    thresholds: dict[str, float] = field(default_factory=dict)

    def inputs(self, metric: str) -> tuple[Callable[[np.ndarray, np.ndarray], float], np.ndarray]:
        """``(fn, values)`` with ``fn(gold, values)`` = ``metric`` (×100), for (paired) bootstraps."""
        from textsiam.evaluation.classification import accuracy_metric, f1_metric
        from textsiam.evaluation.correlation import pearson, spearman

        kind = metric.removeprefix("cosine_")
        if kind == "spearman":
            return (lambda g, s: spearman(s, g)), self.scores
        if kind == "pearson":
            return (lambda g, s: pearson(s, g)), self.scores
        if kind == "ap":
            return average_precision, self.scores
        if kind in ("accuracy", "f1"):
            predictions = (self.scores >= self.thresholds[kind]).astype(np.int64)
            return (accuracy_metric if kind == "accuracy" else f1_metric), predictions
        raise ValueError(f"no per-pair inputs for metric {metric!r}")


def average_precision(gold: np.ndarray, scores: np.ndarray) -> float:
    """scikit-learn's average precision ×100; NaN for a resample with one class only (the bootstrap drops it)."""
    from sklearn.metrics import average_precision_score

    if not 0 < int(np.sum(gold)) < len(gold):
        return float("nan")
    return 100.0 * float(average_precision_score(gold, scores))


def eval_pairs(data_dir: str | None, limit: int | None, seed: int) -> dict[str, dict[str, Any]]:
    """``{dataset: {"test": pairs, "dev": pairs or None}}``; ``limit``: a seeded subsample of each (dev too).

    ``dev`` (MRPC and Quora) chooses the classification thresholds.
    """
    from textsiam.data import load_pairs
    from textsiam.training.examples import subsample

    out: dict[str, dict[str, Any]] = {}
    for name in DATASETS:
        dev = None
        if name in ("mrpc", "quora"):
            dev = subsample(load_pairs(name, "dev", data_dir), limit, seed)
        out[name] = {"test": subsample(load_pairs(name, "test", data_dir), limit, seed), "dev": dev}
    return out


def score_model(
    model: Any,
    label: str,
    pairs: Mapping[str, Mapping[str, Any]],
    data_dir: str | None,
    *,
    n_resamples: int,
    seed: int,
    batch_size: int,
    prompts: Mapping[str, str] | None = None,
) -> dict[str, Scored]:
    """``{dataset: Scored}`` of ``model`` on the test pairs of every dataset in ``pairs``; ``prompts``:
    ``{dataset: prefix}`` of a model trained with prompts (its test texts are encoded with them)."""
    from textsiam.evaluation.bootstrap import bootstrap_cis
    from textsiam.evaluation.encoding import pair_scores
    from textsiam.model.prompted import with_prompt

    out: dict[str, Scored] = {}
    for name, split_pairs in pairs.items():
        recorder = RecordingModel(with_prompt(model, (prompts or {}).get(name, "")), label)
        test = split_pairs["test"]
        rec = evaluate_on(
            recorder,
            name,
            "test",
            data_dir,
            pairs=test,
            dev_pairs=split_pairs["dev"],
            batch_size=batch_size,
            n_resamples=n_resamples,
            seed=seed,
            show_progress_bar=False,
            similarities=["cosine"],
            primary_similarity="cosine",
            retrieval=False,
        )
        row_of = {t: i for i, t in enumerate(recorder.texts)}
        idx_a = np.array([row_of[str(t)] for t in test["text_a"]], dtype=np.int64)
        idx_b = np.array([row_of[str(t)] for t in test["text_b"]], dtype=np.int64)
        scores = pair_scores(recorder.embeddings, idx_a, idx_b, ["cosine"])["cosine"]
        gold = np.asarray(list(test["label"]), dtype=np.float64)
        scored = Scored(rec, gold, scores, dict(rec.get("thresholds", {}).get("cosine", {})))
        if rec["task"] == "classification":
            scored.gold = gold.astype(np.int64)
            fn, values = scored.inputs("cosine_ap")
            if n_resamples:
                ci = bootstrap_cis({"cosine_ap": fn}, scored.gold, values, n_resamples=n_resamples, seed=seed)
                rec["ci"]["cosine_ap"] = {"low": ci["cosine_ap"].low, "high": ci["cosine_ap"].high}
        for dataset, metric, _ in METRICS:  # the per-pair inputs must give the evaluator's figures
            if dataset == name:
                fn, values = scored.inputs(metric)
                mine, theirs = fn(scored.gold, values), rec["metrics"][metric]
                if abs(mine - theirs) > 1e-6:
                    logger.warning("%s %s %s: %.6f from the kept scores != %.6f", label, name, metric, mine, theirs)
        out[name] = scored
    return out


def figures(scored: Mapping[str, Scored]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{dataset: {metric: {"value", "low", "high"}}}`` of the report's metrics (no CI: ``low``/``high`` None)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for dataset, metric, _ in METRICS:
        if dataset not in scored:
            continue
        rec = scored[dataset].record
        ci = rec["ci"].get(metric) or {}
        entry = {"value": float(rec["metrics"][metric]), "low": ci.get("low"), "high": ci.get("high")}
        out.setdefault(dataset, {"n_pairs": rec["n_pairs"]})[metric] = entry  # type: ignore[assignment]
    return out


def paired(a: Scored, b: Scored, metric: str, n_resamples: int, seed: int) -> dict[str, Any]:
    """Paired bootstrap of ``metric`` on the same test pairs: ``difference = b − a``, its CI and p-value."""
    from textsiam.evaluation.bootstrap import paired_bootstrap

    if not np.array_equal(a.gold, b.gold):
        raise ValueError("paired bootstrap of two models scored on different pairs")
    fn, values_a = a.inputs(metric)
    _, values_b = b.inputs(metric)
    res = paired_bootstrap(fn, a.gold, values_a, values_b, max(1, n_resamples), seed)
    return {
        "value_a": res.value_a,
        "value_b": res.value_b,
        "difference": res.difference,
        "ci": {"low": res.low, "high": res.high},
        "p_value": res.p_value,
        "n_pairs": len(a.gold),
        "n_resamples": res.n_resamples,
    }


def comparisons(scored: Mapping[str, Mapping[str, Scored]], n_resamples: int, seed: int) -> list[dict[str, Any]]:
    """The paired bootstraps of the report: textsiam vs sentence-transformers multi-task on every metric
    (``difference`` = textsiam − sentence-transformers), and each multi-task model vs STS-B alone on SICK-R."""
    plan = [(theirs, ours, dataset, metric) for ours, theirs in PEERS for dataset, metric, _ in METRICS]
    plan += [(STSB_ONLY, name, "sick", "cosine_pearson") for name in MULTI_TASK]
    out = []
    for a, b, dataset, metric in plan:
        if a in scored and b in scored and dataset in scored[a] and dataset in scored[b]:
            res = paired(scored[a][dataset], scored[b][dataset], metric, n_resamples, seed)
            out.append({"a": a, "b": b, "dataset": dataset, "metric": metric, **res})
            logger.info(
                "%s − %s on %s %s: %+.2f [%+.2f, %+.2f], p = %.3f",
                b,
                a,
                dataset,
                metric,
                res["difference"],
                res["ci"]["low"],
                res["ci"]["high"],
                res["p_value"],
            )
    return out


def _find(comps: Sequence[Mapping[str, Any]], a: str, b: str, dataset: str, metric: str) -> Mapping[str, Any] | None:
    return next((c for c in comps if (c["a"], c["b"], c["dataset"], c["metric"]) == (a, b, dataset, metric)), None)


def goals(
    test: Mapping[str, Any], comps: Sequence[Mapping[str, Any]], models: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The issue's goals, each with its checks, computed from the test figures and the paired bootstraps.

    1. Each multi-task model is at least as good as the single-task model of each of its datasets, within that
       model's CI: its value is at or above the lower end of the single-task model's 95% CI, on every metric.
    2. Each multi-task model beats the STS-B-only model on SICK-R test Pearson: a positive difference with
       paired-bootstrap p < 0.05.
    3. textsiam's multi-task model is not significantly worse than sentence-transformers' on any metric:
       difference ≥ 0 or p ≥ 0.05.

    ``met`` is None where a model the check needs was not run. ``models``: the report's models (goals of the
    multi-task models outside it are left out); ``None``: every model.
    """
    out = []
    for name, datasets in MULTI_TASK.items():
        if models is not None and name not in models:
            continue
        checks = []
        for dataset, metric, label in METRICS:
            if dataset not in datasets:
                continue
            single = SINGLE_TASK[dataset]
            mine = test.get(name, {}).get(dataset, {}).get(metric)
            ref = test.get(single, {}).get(dataset, {}).get(metric)
            met, detail = None, "not run"
            if mine is not None and ref is not None:
                low = ref["low"] if ref.get("low") is not None else ref["value"]
                met = bool(mine["value"] >= low)
                detail = f"{mine['value']:.2f} vs {single} {value_ci(ref)}"
            checks.append({"what": f"{label} ≥ {single}'s CI low", "met": met, "detail": detail})
        out.append(
            {
                "id": f"as_good_as_single_task:{name}",
                "goal": f"{name} at least as good as each single-task model on its own task, within its 95% CI",
                "met": all_met(checks),
                "checks": checks,
            }
        )
        comp = _find(comps, STSB_ONLY, name, "sick", "cosine_pearson")
        met, detail = None, "not run"
        if comp is not None:
            met = bool(comp["difference"] > 0 and comp["p_value"] < ALPHA)
            detail = diff_text(comp)
        elif (cis := _sick_cis(test, name)) is not None:  # STS-B alone from a reference file: no per-pair scores
            mine, ref = cis
            met = bool(mine["low"] > ref["high"])
            detail = (
                f"{value_ci(mine)} vs {STSB_ONLY} {value_ci(ref)} (reference figures: 95% CIs compared, not paired)"
            )
        check = {"what": f"SICK-R r of {name} − {STSB_ONLY}", "met": met, "detail": detail}
        out.append(
            {
                "id": f"beats_stsb_on_sick:{name}",
                "goal": f"{name} beats the STS-B-only model on SICK-R (difference > 0, p < {ALPHA})",
                "met": met,
                "checks": [check],
            }
        )
    for ours, theirs in PEERS:
        if models is not None and ours not in models and theirs not in models:
            continue
        checks = []
        for dataset, metric, label in METRICS:
            comp = _find(comps, theirs, ours, dataset, metric)
            met, detail = None, "not run"
            if comp is not None:
                met = bool(comp["difference"] >= 0 or comp["p_value"] >= ALPHA)
                detail = diff_text(comp)
            checks.append({"what": f"{label}: {ours} − {theirs}", "met": met, "detail": detail})
        out.append(
            {
                "id": f"not_worse_than_st:{ours}",
                "goal": f"textsiam's {ours} not significantly worse than sentence-transformers' ({theirs}) on any "
                f"metric (difference ≥ 0 or p ≥ {ALPHA})",
                "met": all_met(checks),
                "checks": checks,
            }
        )
    return out


def _sick_cis(test: Mapping[str, Any], name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """SICK-R Pearson of ``name`` and of the STS-B-only model, when both have CIs."""
    entries = [test.get(model, {}).get("sick", {}).get("cosine_pearson") for model in (name, STSB_ONLY)]
    if any(e is None or e.get("low") is None or e.get("high") is None for e in entries):
        return None
    return entries[0], entries[1]


def render(payload: Mapping[str, Any]) -> str:
    """The markdown report: test figures, the paired comparison, the goals, the training runs."""
    runs, test = payload["runs"], payload["test"]
    s = payload["settings"]
    lines = [
        "Multi-task fine-tuning from "
        + ("the embedded all-MiniLM-L6-v2" if not s["model"] else f"`{s['model']}`")
        + f". Test figures ×100 with 95% bootstrap CIs ({s['n_resamples']} resamples), cosine similarity; MRPC "
        "and Quora thresholds chosen on dev; each run chose its checkpoint on dev only (multi-task: the mean of the "
        "tasks' primary dev metrics)."
        + (f" Training capped at {s['max_train_pairs']} pairs per task." if s["max_train_pairs"] else "")
        + (f" Epochs: {s['epochs']}." if s["epochs"] is not None else "")
        + (f" Stopped after {s['max_steps']} steps." if s["max_steps"] else "")
        + (f" Test sets: seeded subsamples of {s['max_test_pairs']} pairs." if s["max_test_pairs"] else "")
        + (" **Smoke run: numbers are not meaningful.**" if s["smoke"] else ""),
        "",
    ]
    header = ["model", *(label for _, _, label in METRICS)]
    rows = []
    for name in payload["models"]:
        figs = test.get(name)
        if figs is None:
            rows.append([name, *("not run" for _ in METRICS)])
            continue
        cells = []
        for dataset, metric, _ in METRICS:
            entry = figs.get(dataset, {}).get(metric)
            cells.append(value_ci(entry) if entry else "–")
        rows.append([name, *cells])
    lines += ["**Test**", "", *markdown_table(header, rows, "l" + "r" * len(METRICS)), ""]
    n_pairs = {d: next((test[m][d]["n_pairs"] for m in test if d in test[m]), None) for d in DATASETS}
    lines += ["Test pairs: " + ", ".join(f"{d} {n}" for d, n in n_pairs.items() if n) + ".", ""]
    for ours, theirs in PEERS:
        rows = [
            [label, f"{c['value_b']:.2f}", f"{c['value_a']:.2f}", diff_text(c)]
            for dataset, metric, label in METRICS
            if (c := _find(payload["comparisons"], theirs, ours, dataset, metric)) is not None
        ]
        if rows:
            lines += [
                f"**textsiam `{ours}` vs sentence-transformers `{theirs}`** (paired bootstrap on the test pairs, "
                "difference = textsiam − sentence-transformers):",
                "",
                *markdown_table(["metric", ours, theirs, "difference [95% CI], p"], rows, "lrrl"),
                "",
            ]
    lines += render_seeds(test, payload.get("seed_comparisons", []), METRICS)
    if payload.get("reference"):
        ref = payload["reference"]
        lines += [
            f"Not retrained here: {', '.join(ref['models'])}, whose figures come from `{ref['file']}` ({ref['date']}, "
            f"{ref['cpu']}); a goal that needs their per-pair scores compares 95% CIs instead of a paired test.",
            "",
        ]
    lines += ["**Goals** ([x] met, [ ] not met, [?] a model it needs was not run):", ""]
    for g in payload["goals"]:
        lines.append(f"- {goal_flag(g['met'])} {g['goal']}")
        lines += [f"  - {goal_flag(c['met'])} {c['what']}: {c['detail']}" for c in g["checks"]]
    lines += ["", "**Training runs**", ""]
    rows = []
    for name, run in runs.items():
        if run is None:
            rows.append([name, "not run", "", "", "", "", ""])
            continue
        best, c = run.get("best_dev"), run["config"]
        rows.append(
            [
                name,
                run["side"],
                f"{run['description']}; lr {c['learning_rate']:g}, batch {c['batch_size']}, {c['epochs']:g} epochs",
                run.get("examples", ""),
                run.get("global_step", ""),
                f"{run['train_wall_time_s']:.1f}",
                f"{best:.2f} ({run.get('dev_metric')})" if best is not None else "–",
            ]
        )
    header = ["run", "trainer", "recipe", "training examples", "steps", "train wall time (s)", "best dev"]
    lines += [*markdown_table(header, rows, "llllrrl"), "", "Dev metric at each evaluation:", ""]
    for name, run in runs.items():
        if run and run.get("dev_history"):
            metric = run.get("dev_metric")
            hist = ", ".join(f"step {h['step']}: {h.get(metric, float('nan')):.2f}" for h in run["dev_history"])
            lines.append(f"- {name} ({metric}): {hist}")
    lines.append("")
    cpus = sorted({run["machine"]["cpu"] for run in runs.values() if run and run.get("machine")})
    commands = list(dict.fromkeys(run["command"] for run in runs.values() if run and run.get("command")))
    lines += [
        "Train wall time: `Trainer.train` alone (dev evaluations and checkpoints included), on "
        + (", ".join(cpus) or "this machine")
        + ". "
        + payload["selection_note"],
        "",
        "Training commands:",
        "",
        "```bash",
        *commands,
        "```",
    ]
    return "\n".join(lines)
