"""The markdown of ``python -m benchmarks.augsbert_student``'s report (:func:`render`): the dev choice of each
dataset's student, the test figures, the paired bootstraps, the teacher candidates, the goals and the runs, with
their times and commands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.augsbert_student_report import given_text, metrics_of
from benchmarks.common import diff_text, goal_flag, markdown_table, value_ci


def _cells(dataset: str, figs: Mapping[str, Any] | None) -> list[str]:
    return [value_ci(figs[m]) if figs and figs.get(m) else "–" for m, _ in metrics_of(dataset)]


def _dev(rec: Mapping[str, Any] | None) -> str:
    if not rec or rec.get("best_dev") is None:
        return "–"
    return f"{rec['best_dev']:.2f} ({rec.get('dev_metric')})"


def render(payload: Mapping[str, Any]) -> str:
    """The markdown report: dev choice, test figures, comparisons, teachers, goals, runs."""
    s, runs = payload["settings"], payload["runs"]
    lines = [
        "The Augmented-SBERT student (a twin tower trained on gold + silver pairs labelled by a teacher trained "
        "first) against textsiam's plain recipe and sentence-transformers' plain recipe (the same config), from "
        + ("the embedded all-MiniLM-L6-v2" if not s["model"] else f"`{s['model']}`")
        + ". Every choice is made on dev: each run its checkpoint, each dataset its student (the silver variant with "
        "the best dev metric), the cross-encoder teacher's learning rate and epochs (`benchmarks.augsbert_cross_"
        f"encoder`). Test figures ×100 with 95% bootstrap CIs ({s['n_resamples']} resamples), cosine similarity; "
        "MRPC and Quora thresholds chosen on dev. The goals judge the primary metric of each dataset: STS-B "
        "Spearman, Quora accuracy, MRPC accuracy."
        + (f" Training capped at {s['max_train_pairs']} pairs." if s.get("max_train_pairs") else "")
        + (f" Test sets: seeded subsamples of {s['max_test_pairs']} pairs." if s.get("max_test_pairs") else "")
        + (" **Smoke run: numbers are not meaningful.**" if s["smoke"] else ""),
        "",
        "**Dev choice of the student** (the best dev metric of each silver variant; a tie goes to the higher mean "
        "over the run's dev evaluations; test figures play no part)",
        "",
    ]
    rows = []
    for dataset, sel in payload["selection"].items():
        for r in sel["rows"]:
            dev = "–" if r["best_dev"] is None else f"{r['best_dev']:.2f} ({r['dev_metric']})"
            mean = "–" if r.get("mean_dev") is None else f"{r['mean_dev']:.2f}"
            chosen = "**chosen**" if r["variant"] == sel["chosen"] else ""
            pairs = r["silver_pairs"] if r["silver_pairs"] is not None else "–"
            rows.append([dataset, r["variant"], dev, mean, pairs, chosen])
    header = ["dataset", "variant", "best dev", "mean dev", "silver pairs", ""]
    lines += [*markdown_table(header, rows, "llrrrl"), ""]
    lines += [f"- {d}: {sel['why']}" for d, sel in payload["selection"].items()] + [""]
    for dataset in payload["datasets"]:
        test = payload["test"].get(dataset, {})
        if not test:
            continue
        rows = [
            [name, payload["roles"][dataset].get(name, ""), _dev(runs.get(name)), *_cells(dataset, figs)]
            for name, figs in test.items()
        ]
        header = ["model", "role", "best dev", *(label for _, label in metrics_of(dataset))]
        n = next(iter(test.values()))["n_pairs"]
        lines += [
            f"**{dataset} test** ({n} pairs)",
            "",
            *markdown_table(header, rows, "lll" + "r" * (len(header) - 3)),
            "",
        ]
        lines += _comparison_lines(dataset, payload)
    lines += _teacher_lines(payload)
    lines += ["**Goals** ([x] met, [ ] not met, [?] a run it needs is missing):", ""]
    for g in payload["goals"]:
        lines.append(f"- {goal_flag(g['met'])} {g['goal']}")
        lines += [f"  - {goal_flag(c['met'])} {c['what']}: {c['detail']}" for c in g["checks"]]
    return "\n".join([*lines, "", *_run_lines(payload)])


def _comparison_lines(dataset: str, payload: Mapping[str, Any]) -> list[str]:
    comps = payload["comparisons"].get(dataset) or []
    lines = []
    by = {(c["against"], c["metric"]): c for c in comps}
    rows = []
    for metric, label in metrics_of(dataset):
        st, plain = by.get(("st_plain", metric)), by.get(("plain", metric))
        if st is None and plain is None:
            continue
        ref = st or plain
        assert ref is not None
        rows.append(
            [
                label,
                f"{ref['value_b']:.2f}",
                f"{st['value_a']:.2f}" if st else "–",
                diff_text(st) if st else "–",
                f"{plain['value_a']:.2f}" if plain else "–",
                diff_text(plain) if plain else "–",
            ]
        )
    if rows:
        student = comps[0]["b"]
        header = ["metric", student, "ST plain", "− ST plain [95% CI], p", "textsiam plain", "− plain [95% CI], p"]
        lines += [
            f"Paired bootstraps of the student `{student}` on the same {dataset} test pairs (difference = student − "
            "other):",
            "",
            *markdown_table(header, rows, "lrrlrl"),
            "",
        ]
    seeds = payload["seed_comparisons"].get(dataset) or []
    if seeds:
        rows = [[c["label"], f"{c['value_b']:.2f}", f"{c['value_a']:.2f}", diff_text(c)] for c in seeds]
        lines += [
            f"Over seeds: student {', '.join(seeds[0]['runs_b'])} against ST plain {', '.join(seeds[0]['runs_a'])} "
            "(means over runs; two-level paired bootstrap, test pairs and runs resampled):",
            "",
            *markdown_table(["metric", "student", "ST plain", "difference [95% CI], p"], rows, "lrrl"),
            "",
        ]
    return lines


def _teacher_lines(payload: Mapping[str, Any]) -> list[str]:
    rows = []
    for dataset, teachers in payload["teachers"].items():
        for t in teachers:
            test = ", ".join(
                f"{label} {value_ci(t['test'][m])}" for m, label in metrics_of(dataset) if t["test"].get(m)
            )
            dev = "–" if t.get("dev") is None else f"{t['dev']:.2f} ({t['dev_metric']})"
            wall = "–" if t.get("train_wall_time_s") is None else f"{t['train_wall_time_s']:.0f}"
            rows.append([dataset, t["kind"], t["settings"], ", ".join(t["runs"]), dev, test or "–", wall])
    if not rows:
        return []
    header = ["dataset", "teacher", "settings", "trained in", "dev", "test", "train wall s"]
    return [
        "**Teacher candidates** (each trained first on the gold training pairs, its checkpoint chosen on dev; "
        "cross-encoders scored by their `predict` score, twin towers by cosine; the same weights trained in several "
        "runs are scored once; a run's ensemble as it labels: each member's score mapped onto the gold scale by a "
        "monotone fit on the gold training pairs, then averaged, its dev threshold chosen on the dev pairs):",
        "",
        *markdown_table(header, rows, "lllllll"),
        "",
    ]


def _run_lines(payload: Mapping[str, Any]) -> list[str]:
    runs = {name: run for name, run in payload["runs"].items() if run is not None}
    rows = []
    for name, run in runs.items():
        c = run["config"]
        sizes = (run.get("silver") or {}).get("sizes", {})
        recipe = f"lr {c['learning_rate']:g}, batch {c['batch_size']}, {c['epochs']:g} epoch(s), seed {c['seed']}"
        rows.append(
            [
                name,
                run["side"],
                recipe,
                sizes.get("silver_pairs", "–") if run.get("silver") else "",
                run.get("global_step", ""),
                f"{run['train_wall_time_s']:.0f}",
                f"{run['run_wall_s']:.0f}",
                f"{run['run_cpu_s']:.0f}",
                _dev(run),
            ]
        )
    header = [
        "run",
        "trainer",
        "recipe",
        "silver pairs",
        "steps",
        "train wall s",
        "run wall s",
        "run CPU s",
        "best dev",
    ]
    lines = ["**Training runs**", "", *markdown_table(header, rows, "lllrrrrrl"), ""]
    if payload["not_run"]:
        lines += ["Not run: " + ", ".join(payload["not_run"]) + ".", ""]
    for name, run in runs.items():
        if run.get("teacher_settings"):
            lines.append(f"- {name} teachers: " + "; ".join(run["teacher_settings"]))
        if run.get("teachers_reused"):
            lines.append(f"  - teachers {run['teachers_reused']} finished by an earlier attempt: not in its times")
        if run.get("teachers_given"):
            total = (
                "its time not known"
                if run["recipe_wall_s"] is None
                else f"{run['recipe_wall_s']:.0f} s wall, {run['recipe_cpu_s']:.0f} s CPU"
            )
            lines.append(
                f"  - teachers trained by other runs (added to its recipe time, {total}): "
                + given_text(run["teachers_given"])
            )
        hist = ", ".join(
            f"step {h['step']}: {h.get(run.get('dev_metric'), h.get('mean_dev', float('nan'))):.2f}"
            for h in run.get("dev_history", [])
        )
        lines.append(f"- {name} dev ({run.get('dev_metric')}): {hist}")
    cpus = sorted({run["machine"]["cpu"] for run in runs.values() if run.get("machine")})
    threads = sorted({str(run["machine"]["torch_threads"]) for run in runs.values() if run.get("machine")})
    commands = list(dict.fromkeys(run["command"] for run in runs.values() if run.get("command")))
    return [
        *lines,
        "",
        "Times: train wall = the student's `Trainer.train` alone; run wall and run CPU (user + system of the process, "
        "all threads) = the whole recipe: start model load, the teachers' training and dev evaluation, sampling and "
        "labelling the silver pairs, the student's training, save and final dev evaluation. CPU: "
        + (", ".join(cpus) or "this machine")
        + f"; torch threads {', '.join(threads) or '?'}. Runs that shared the machine have inflated wall times; CPU "
        "times compare better. " + payload["selection_note"],
        "",
        "Training commands:",
        "",
        "```bash",
        *commands,
        "```",
    ]
