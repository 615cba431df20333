"""The report of ``python -m benchmarks.augsbert_cross_encoder``: the dev choice of the settings, the test figures of
both cross-encoders, the paired bootstraps, the goal and the markdown.

Every model is scored on the test pairs through textsiam's evaluators (``benchmarks.common.evaluate_on``: a
cross-encoder's score is its ``predict`` output, named ``cross_encoder``; MRPC and Quora thresholds chosen on their
dev pairs; 95% bootstrap CIs). The AP CI and the paired bootstraps (``benchmarks.finetune_multitask_report.paired``)
resample the very scores the evaluator computed, kept by :class:`RecordingCrossEncoder`, so no model scores a test
set twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, diff_text, evaluate_on, goal_flag, markdown_table, value_ci
from benchmarks.finetune_multitask_report import Scored, paired

logger = logging.getLogger("benchmarks.augsbert_cross_encoder")

DATASETS = ("stsb", "quora", "mrpc")
#: (dataset, metric key of the evaluator's record, column label): the test figures of the report
METRICS: tuple[tuple[str, str, str], ...] = (
    ("stsb", "cross_encoder_spearman", "STS-B ρ"),
    ("quora", "cross_encoder_accuracy", "Quora acc"),
    ("quora", "cross_encoder_f1", "Quora F1"),
    ("quora", "cross_encoder_ap", "Quora AP"),
    ("mrpc", "cross_encoder_accuracy", "MRPC acc"),
    ("mrpc", "cross_encoder_f1", "MRPC F1"),
)
#: the twin-tower fine-tuned baselines quoted for context: dataset -> (result file under benchmarks/results, recipe)
TWIN_TOWERS = {
    "stsb": ("finetune/finetune_stsb_lr5e-5.json", "stsb.yaml: CoSENT, lr 5e-5, 4 epochs, batch 16"),
    "quora": (
        "finetune/finetune_quora_online_contrastive.json",
        "quora.yaml: online contrastive, lr 2e-5, 2 epochs, batch 32",
    ),
    "mrpc": (
        "finetune/finetune_mrpc_lr5e-5.json",
        "mrpc.yaml: online contrastive, lr 5e-5 (its dev choice), 4 epochs, batch 16",
    ),
}
#: the significance level of the goal
ALPHA = 0.05


class CrossScored(Scored):
    """:class:`~benchmarks.finetune_multitask_report.Scored` of a cross-encoder: metric keys ``cross_encoder_*``."""

    def inputs(self, metric: str) -> Any:
        return super().inputs(metric.removeprefix("cross_encoder_"))


class RecordingCrossEncoder:
    """Wraps a cross-encoder and keeps the score of every pair its ``predict`` scored (for the bootstraps)."""

    def __init__(self, model: Any, name_or_path: str) -> None:
        self.model = model
        self.name_or_path = name_or_path
        self.num_labels = getattr(model, "num_labels", None)
        self.scores: dict[tuple[str, str], float] = {}

    def predict(self, pairs: Any, batch_size: int = 32, show_progress_bar: bool = False, **kwargs: Any) -> Any:
        pairs = [(str(a), str(b)) for a, b in pairs]
        out = self.model.predict(pairs, batch_size=batch_size, show_progress_bar=show_progress_bar, **kwargs)
        if hasattr(out, "detach"):
            out = out.detach().float().cpu().numpy()
        flat = np.asarray(out, dtype=np.float64)
        if flat.ndim == 2 and flat.shape[1] == 1:
            flat = flat[:, 0]
        if flat.ndim == 1:
            self.scores.update(zip(pairs, flat.tolist(), strict=True))
        return out


def eval_pairs(data_dir: str | None, datasets: Sequence[str], limit: int | None, seed: int) -> dict[str, Any]:
    """``{dataset: {"test": pairs, "dev": pairs or None}}``; ``limit``: a seeded subsample of each (dev too).

    ``dev`` (MRPC and Quora) chooses the classification thresholds.
    """
    from textsiam.data import load_pairs
    from textsiam.training.examples import subsample

    out: dict[str, Any] = {}
    for name in datasets:
        dev = subsample(load_pairs(name, "dev", data_dir), limit, seed) if name != "stsb" else None
        out[name] = {"test": subsample(load_pairs(name, "test", data_dir), limit, seed), "dev": dev}
    return out


def score_model(
    model: Any, label: str, name: str, pairs: Mapping[str, Any], data_dir: str | None, n_resamples: int, seed: int
) -> CrossScored:
    """``model`` (a cross-encoder) on the test pairs of dataset ``name``: the evaluator's record and its inputs."""
    from textsiam.evaluation.bootstrap import bootstrap_cis

    recorder = RecordingCrossEncoder(model, label)
    test = pairs["test"]
    options: dict[str, Any] = {"dev_pairs": pairs["dev"], "retrieval": False} if pairs["dev"] is not None else {}
    rec = evaluate_on(
        recorder,
        name,
        "test",
        data_dir,
        pairs=test,
        batch_size=64,
        n_resamples=n_resamples,
        seed=seed,
        show_progress_bar=False,
        **options,
    )
    scores = np.array([recorder.scores[(str(a), str(b))] for a, b in zip(test["text_a"], test["text_b"], strict=True)])
    gold = np.asarray(list(test["label"]), dtype=np.float64)
    scored = CrossScored(rec, gold, scores, dict(rec.get("thresholds", {}).get("cross_encoder", {})))
    if rec["task"] == "classification":
        scored.gold = gold.astype(np.int64)
        fn, values = scored.inputs("cross_encoder_ap")
        if n_resamples:
            ci = bootstrap_cis({"ap": fn}, scored.gold, values, n_resamples=n_resamples, seed=seed)
            rec["ci"]["cross_encoder_ap"] = {"low": ci["ap"].low, "high": ci["ap"].high}
    for dataset, metric, _ in METRICS:  # the kept scores must give the evaluator's figures
        if dataset == name:
            fn, values = scored.inputs(metric)
            mine, theirs = fn(scored.gold, values), rec["metrics"][metric]
            if abs(mine - theirs) > 1e-6:
                logger.warning("%s %s %s: %.6f from the kept scores != %.6f", label, name, metric, mine, theirs)
    return scored


def figures(name: str, scored: CrossScored) -> dict[str, Any]:
    """``{"n_pairs", metric: {"value", "low", "high"}}`` of the report's metrics of dataset ``name``."""
    rec = scored.record
    out: dict[str, Any] = {"n_pairs": rec["n_pairs"]}
    for dataset, metric, _ in METRICS:
        if dataset == name:
            ci = rec["ci"].get(metric) or {}
            out[metric] = {"value": float(rec["metrics"][metric]), "low": ci.get("low"), "high": ci.get("high")}
    if "thresholds" in rec:
        out["thresholds"] = rec["thresholds"].get("cross_encoder")
    return out


def comparisons(name: str, ours: CrossScored, theirs: CrossScored, n_resamples: int, seed: int) -> list[dict]:
    """Paired bootstraps of every metric of ``name``: ``difference`` = textsiam − sentence-transformers."""
    out = []
    for dataset, metric, label in METRICS:
        if dataset != name:
            continue
        res = paired(theirs, ours, metric, n_resamples, seed)
        out.append({"dataset": dataset, "metric": metric, "label": label, **res})
        logger.info(
            "textsiam − sentence-transformers on %s %s: %+.2f [%+.2f, %+.2f], p = %.3f",
            dataset,
            metric,
            res["difference"],
            res["ci"]["low"],
            res["ci"]["high"],
            res["p_value"],
        )
    return out


# ---------------------------------------------------------------------------------------------- dev choice
def choose(settings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The setting of one dataset both sides are tested at: the highest mean of the two sides' best dev metrics.

    ``settings``: ``{"lr", "epochs", "textsiam": record or None, "st": record or None}`` in grid order; a tie keeps
    the first (the grid lists fewer epochs first). Settings that miss a side are not candidates. Returns
    ``{"chosen": index or None, "why": text, "rows": [...]}``.
    """
    rows = []
    for s in settings:
        devs = {side: (s[side] or {}).get("best_dev") for side in ("textsiam", "st")}
        both = all(v is not None for v in devs.values())
        mean = (devs["textsiam"] + devs["st"]) / 2 if both else None
        rows.append({"lr": s["lr"], "epochs": s["epochs"], **devs, "mean": mean})
    candidates = [i for i, r in enumerate(rows) if r["mean"] is not None]
    if not candidates:
        return {"chosen": None, "why": "no setting has both sides trained", "rows": rows}
    chosen = max(candidates, key=lambda i: (rows[i]["mean"], -i))
    r = rows[chosen]
    why = (
        f"lr {r['lr']:g}, {r['epochs']:g} epoch(s): the highest mean of the two sides' best dev metric "
        f"({r['mean']:.2f}: textsiam {r['textsiam']:.2f}, sentence-transformers {r['st']:.2f})"
    )
    if len(candidates) > 1:
        why += f" among {len(candidates)} settings"
    else:
        why += " (the only setting trained)"
    for side, title in (("textsiam", "textsiam's"), ("st", "sentence-transformers'")):
        own = max(candidates, key=lambda i: (rows[i][side], -i))
        if own != chosen:
            why += f"; {title} dev alone would pick lr {rows[own]['lr']:g}, {rows[own]['epochs']:g} epoch(s)"
    return {"chosen": chosen, "why": why, "rows": rows}


# ---------------------------------------------------------------------------------------------- context
def twin_tower_context(results_root: Path = RESULTS) -> dict[str, Any]:
    """The test figures of the twin-tower fine-tuned baselines, read from their result files (missing: left out)."""
    out: dict[str, Any] = {}
    for name, (rel, recipe) in TWIN_TOWERS.items():
        path = results_root / rel
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        records = [data["textsiam"]["test"]] if "textsiam" in data else data["runs"][0]["evaluation"]
        rec = next((r for r in records if r["dataset"] == name and r["split"] == "test"), None)
        if rec is None:
            continue
        figs: dict[str, Any] = {"n_pairs": rec["n_pairs"]}
        for dataset, metric, _ in METRICS:
            cosine = metric.replace("cross_encoder_", "cosine_")
            if dataset == name and cosine in rec["metrics"]:
                ci = rec.get("ci", {}).get(cosine) or {}
                figs[metric] = {"value": rec["metrics"][cosine], "low": ci.get("low"), "high": ci.get("high")}
        link = "../" + str(Path(rel).with_suffix(".md"))  # from benchmarks/results/augsbert/
        out[name] = {"recipe": recipe, "result_file": f"benchmarks/results/{rel}", "link": link, "test": figs}
    return out


# ---------------------------------------------------------------------------------------------- goal
def goals(comps: Mapping[str, Sequence[Mapping[str, Any]]], datasets: Sequence[str]) -> list[dict[str, Any]]:
    """The issue's goal: textsiam's CrossEncoder matches sentence-transformers' (no significant difference: a
    paired-bootstrap p ≥ 0.05 on every test figure). ``met`` is None where a dataset's pair of runs is missing."""
    checks = []
    for name in datasets:
        found = comps.get(name) or []
        for dataset, metric, label in METRICS:
            if dataset != name:
                continue
            comp = next((c for c in found if c["metric"] == metric), None)
            met, detail = None, "not run"
            if comp is not None:
                met = bool(comp["p_value"] >= ALPHA)
                detail = diff_text(comp)
            checks.append({"what": f"{label}: textsiam − sentence-transformers", "met": met, "detail": detail})
    flags = [c["met"] for c in checks]
    met = False if any(f is False for f in flags) else (None if not flags or None in flags else True)
    goal = f"textsiam's CrossEncoder matches ST's (no significant difference: paired-bootstrap p ≥ {ALPHA})"
    return [{"id": "matches_st", "goal": goal, "met": met, "checks": checks}]


# ---------------------------------------------------------------------------------------------- markdown
def render(payload: Mapping[str, Any]) -> str:
    """The markdown report: the dev choice, the test figures, the paired comparison, the goal, the runs."""
    s = payload["settings"]
    lines = [
        "textsiam's `CrossEncoder` (`textsiam.fit`) against sentence-transformers' (`CrossEncoderTrainer`), the same "
        "recipe: "
        + ("the embedded all-MiniLM-L6-v2" if not s["model"] else f"`{s['model']}`")
        + " with a new head of one output (the same initial weights on both sides), `BinaryCrossEntropyLoss`, "
        "the same training pairs (STS-B scores scaled to [0, 1], Quora and MRPC 0/1), batch size, warm-up, seed; "
        "learning rate and epochs chosen on dev; each side's checkpoint chosen on dev by textsiam's dev metric. "
        f"Test figures ×100 with 95% bootstrap CIs ({s['n_resamples']} resamples); MRPC and Quora thresholds chosen "
        "on dev."
        + (f" Training capped at {s['max_train_pairs']} pairs." if s.get("max_train_pairs") else "")
        + (f" Test sets: seeded subsamples of {s['max_test_pairs']} pairs." if s.get("max_test_pairs") else "")
        + (" **Smoke run: numbers are not meaningful.**" if s["smoke"] else ""),
        "",
        "**Settings chosen on dev**",
        "",
    ]
    rows = []
    for name, sel in payload["selection"].items():
        for i, r in enumerate(sel["rows"]):
            cells = [r.get(k) for k in ("textsiam", "st", "mean")]
            rows.append(
                [name, f"{r['lr']:g}", f"{r['epochs']:g}", *("–" if c is None else f"{c:.2f}" for c in cells)]
                + ["**chosen**" if i == sel["chosen"] else ""]
            )
    header = ["dataset", "lr", "epochs", "textsiam best dev", "ST best dev", "mean", ""]
    lines += [*markdown_table(header, rows, "lrrrrrl"), ""]
    lines += [f"- {name}: {sel['why']}" for name, sel in payload["selection"].items()] + [""]
    rows = []
    for side, title in (("textsiam", "textsiam CrossEncoder"), ("st", "sentence-transformers CrossEncoder")):
        cells = []
        for dataset, metric, _ in METRICS:
            entry = payload["test"].get(dataset, {}).get(side, {}).get(metric)
            cells.append(value_ci(entry) if entry else "–")
        rows.append([title, *cells])
    for name, ctx in payload.get("twin_towers", {}).items():
        cells = []
        for dataset, metric, _ in METRICS:
            entry = ctx["test"].get(metric) if dataset == name else None
            cells.append(value_ci(entry) if entry else "")
        rows.append([f"twin tower, {ctx['recipe']}", *cells])
    header = ["model", *(label for _, _, label in METRICS)]
    lines += ["**Test**", "", *markdown_table(header, rows, "l" + "r" * len(METRICS)), ""]
    n_pairs = {d: t.get("textsiam", t.get("st", {})).get("n_pairs") for d, t in payload["test"].items()}
    lines += ["Test pairs: " + ", ".join(f"{d} {n}" for d, n in n_pairs.items() if n) + "."]
    if payload.get("twin_towers"):
        files = ", ".join(f"[{Path(c['result_file']).stem}]({c['link']})" for c in payload["twin_towers"].values())
        lines += [
            "Twin towers: for context only, read from their result files (full test sets, cosine similarity, "
            f"thresholds chosen on dev), not rerun: {files}."
        ]
    rows = [
        [c["label"], f"{c['value_b']:.2f}", f"{c['value_a']:.2f}", diff_text(c)]
        for name in payload["comparisons"]
        for c in payload["comparisons"][name]
    ]
    if rows:
        lines += [
            "",
            "**textsiam vs sentence-transformers** (paired bootstrap on the same test pairs, difference = textsiam − "
            "sentence-transformers, two-sided p):",
            "",
            *markdown_table(["metric", "textsiam", "sentence-transformers", "difference [95% CI], p"], rows, "lrrl"),
        ]
    lines += ["", "**Goal** ([x] met, [ ] not met, [?] a run it needs is missing):", ""]
    for g in payload["goals"]:
        lines.append(f"- {goal_flag(g['met'])} {g['goal']}")
        lines += [f"  - {goal_flag(c['met'])} {c['what']}: {c['detail']}" for c in g["checks"]]
    lines += ["", *render_runs(payload)]
    return "\n".join(lines)


def render_runs(payload: Mapping[str, Any]) -> list[str]:
    """The training-run table, the dev histories and the commands."""
    runs = {name: run for name, run in payload["runs"].items() if run is not None}
    rows = []
    for name, run in runs.items():
        c = run["config"]
        rows.append(
            [
                name,
                run["side"],
                f"lr {c['learning_rate']:g}, batch {c['batch_size']}, {c['epochs']:g} epoch(s), warm-up "
                f"{c['warmup_ratio']:g}, seed {c['seed']}",
                run.get("examples", ""),
                run.get("global_step", ""),
                f"{run['train_wall_time_s']:.1f}",
                f"{run['run_wall_s']:.1f}",
                f"{run['run_cpu_s']:.1f}",
                f"{run['best_dev']:.2f} ({run['dev_metric']})" if run.get("best_dev") is not None else "–",
            ]
        )
    header = ["run", "trainer", "recipe", "training pairs", "steps", "train wall s", "run wall s", "run CPU s"]
    lines = ["**Training runs**", "", *markdown_table([*header, "best dev"], rows, "llllrrrrl"), ""]
    if payload["not_run"]:
        lines += ["Not run: " + ", ".join(payload["not_run"]) + ".", ""]
    lines += ["Dev metric at each evaluation:", ""]
    for name, run in runs.items():
        metric = run.get("dev_metric")
        hist = ", ".join(f"step {h['step']}: {h.get(metric, float('nan')):.2f}" for h in run.get("dev_history", []))
        lines.append(f"- {name} ({metric}): {hist}")
    cpus = sorted({run["machine"]["cpu"] for run in runs.values() if run.get("machine")})
    threads = sorted({str(run["machine"]["torch_threads"]) for run in runs.values() if run.get("machine")})
    commands = list(dict.fromkeys(run["command"] for run in runs.values() if run.get("command")))
    lines += [
        "",
        "Times: train wall = `Trainer.train` alone (dev evaluations and checkpoints included); run wall and run CPU "
        "(user + system of the process, all threads) = the whole run, start model load, save and (textsiam) the "
        "final dev evaluation of `fit` included. CPU: "
        + (", ".join(cpus) or "this machine")
        + f"; torch threads {', '.join(threads) or '?'}. Runs that shared the machine have inflated wall times; "
        "CPU times compare better. " + payload["selection_note"],
        "",
        "Training commands:",
        "",
        "```bash",
        *commands,
        "```",
    ]
    return lines
