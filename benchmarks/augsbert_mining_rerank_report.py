"""The markdown report of ``benchmarks.augsbert_mining_rerank``: the rankings of each subset of candidates, each
re-ranking against the twin tower's order (paired bootstrap), the twin tower's weight chosen on dev, the costs and
the goal."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.common import goal_flag, markdown_table

#: the rankings of a subset report, in the order shown
RANKINGS = ("twin", "cross_encoder", "fused")
#: comparison keys of a subset report: each re-ranking against the twin tower's order
COMPARISONS = {"cross_encoder": "comparisons", "fused": "fused_comparisons"}


def pct(value: Any) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.2f}"


def pct_diff(value: Any) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:+.2f}"


def ranking_label(ranking: str, twin_weight: float) -> str:
    return {"twin": "twin", "cross_encoder": "cross-encoder"}.get(ranking, f"mixed (twin weight {twin_weight:g})")


def render(payload: dict[str, Any]) -> str:
    s, d, c, w = payload["settings"], payload["data"], payload["costs"], payload["twin_weight"]
    levels = s["recall_levels"]
    lines = [
        f"Twin tower `{s['twin'] or 'all-MiniLM-L6-v2 (embedded)'}` mines the {d['questions']:,} questions of the "
        f"Quora test split (top-{s['top_k']} neighbours: {c['mined_candidates']:,} candidate pairs); its "
        f"{c['candidates']:,} best (the budget; cosine ≥ {c['last_twin_score']:.4f}) are re-scored by the "
        f"cross-encoder `{s['cross_encoder']}` ({c['rerank_score']}). Gold: {d['gold_duplicates']:,} duplicate pairs "
        f"({d['labelled_duplicates']:,} labelled, closed transitively); unlabelled pairs count as non-duplicates "
        f"(*labelled*: the labelled candidates only; *unseen*: the candidates of the questions not among the "
        f"{d['questions_seen_in_training']:,} of the Quora train and dev splits). "
        f"×100; precision at recall R: the shortest top list reaching recall R of the duplicates in the budget "
        "(*budget*) or of all gold duplicates of the subset (*all*, – where the budget does not reach it). "
        "*mixed*: ordered by (1 − W)·z(cross-encoder) + W·z(twin), the twin tower's weight W chosen on dev.",
        "",
    ]
    header = ["subset", "ranking", "candidates", "duplicates", "recall", "AP"]
    header += [f"P@R {r:g} budget" for r in levels] + [f"P@R {r:g} all" for r in levels] + ["F1-max"]
    rows = []
    for name, sub in payload["subsets"].items():
        for rank in (r for r in RANKINGS if r in sub):
            m = sub[rank]
            rows.append(
                [name, ranking_label(rank, w), f"{sub['candidates']:,}", f"{sub['duplicates']:,}", pct(sub["recall"])]
                + [pct(m["ap"])]
                + [pct(m["precision_at_recall"][f"{r:g}"]) for r in levels]
                + [pct(m["precision_at_recall_of_all"][f"{r:g}"]) for r in levels]
                + [pct(m["f1_max"])]
            )
    lines += markdown_table(header, rows, "ll" + "r" * (len(header) - 2))
    lines += ["", "## Re-ranking − twin tower (paired bootstrap over the candidate pairs)", ""]
    rows = [
        [name, ranking_label(ranking, w), metric.replace("precision_at_recall_", "P@R ").replace("ap", "AP")]
        + [pct(comp["twin"]), pct(comp["reranked"])]
        + [f"{100 * comp['difference']:+.2f} [{100 * comp['ci']['low']:+.2f}, {100 * comp['ci']['high']:+.2f}]"]
        + [f"{comp['p_value']:.3f}"]
        for name, sub in payload["subsets"].items()
        for ranking, key in COMPARISONS.items()
        for metric, comp in sub.get(key, {}).items()
        if comp["ci"]["low"] is not None and comp["p_value"] is not None
    ]
    lines += markdown_table(
        ["subset", "re-ranking", "metric", "twin", "re-ranked", "difference [95% CI]", "p"], rows, "lllrrrr"
    )
    dev = payload.get("dev")
    if dev:
        lines += [
            "",
            "## The twin tower's weight, chosen on dev",
            "",
            f"The {dev['questions']:,} questions of the Quora dev split, mined and re-ranked the same way "
            f"({dev['candidates']:,} candidates, {dev['duplicates']:,} duplicates among them). Gain over the twin "
            "tower's ranking of the precision at each recall level of the budget (×100); the chosen weight has the "
            "largest smallest gain.",
            "",
        ]
        names = list(dev["weights"][0]["gains"]) if dev["weights"] else []
        rows = [
            [f"{row['twin_weight']:g}" + (" (chosen)" if row["twin_weight"] == dev["chosen"] else "")]
            + [pct_diff(row["gains"][k]) for k in names]
            + [pct_diff(row["min_gain"])]
            for row in dev["weights"]
        ]
        lines += markdown_table(["twin weight", *names, "smallest"], rows, "l" + "r" * (len(names) + 1))
    mine, rer = c["mining_per_1000_questions"], c["rerank_per_1000_candidates"]
    lines += [
        "",
        "## Cost",
        "",
        *markdown_table(
            ["step", "items", "wall s", "CPU s", "wall s / 1,000", "CPU s / 1,000"],
            [
                ["mining (encode, index, search)", f"{c['questions']:,} questions"]
                + [f"{c['mining']['wall_s']:.1f}", f"{c['mining']['cpu_s']:.1f}"]
                + [f"{mine['wall_s']:.2f}", f"{mine['cpu_s']:.2f}"],
                ["re-ranking", f"{c['candidates']:,} candidates", f"{c['rerank']['wall_s']:.1f}"]
                + [f"{c['rerank']['cpu_s']:.1f}", f"{rer['wall_s']:.2f}", f"{rer['cpu_s']:.2f}"],
            ],
            "lrrrrr",
        ),
        "",
    ]
    for g in (payload["goal"], payload.get("goal_cross_encoder_alone")):
        if g is None:
            continue
        subsets = list(dict.fromkeys(check["subset"] for check in g["checks"]))
        lines += [
            f"- {goal_flag(g['met'])} {g['text']}, {ranking_label(g['ranking'], w)} (precision at recall "
            f"{', '.join(map(str, levels))} of the budget's duplicates, higher with p < {s['alpha']}, on the "
            f"{' and '.join(subsets)} candidates)"
        ]
    return "\n".join(lines) + "\n"
