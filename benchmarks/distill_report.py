"""The verdicts and the report of ``python -m benchmarks.distill``: the issue's goals, and the markdown table."""

from __future__ import annotations

from typing import Any

from benchmarks.common import markdown_table, value_ci
from benchmarks.distill_contenders import MODEL2VEC
from benchmarks.distill_measure import QUALITY

#: the issue's targets
STATIC_MIN_SPS, STATIC_MIN_STSB, STATIC_MARGIN_OVER_M2V = 10_000.0, 74.0, 8.0
NEURAL_MIN_X_ST, NEURAL_MIN_STSB, NEURAL_MIN_SICK = 20.0, 78.0, 73.0


def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets for every student, each met or not, with the figures behind the verdict."""
    by_name = {r["name"]: r for r in rows}
    m2v = by_name.get(MODEL2VEC)
    m2v_stsb = m2v["quality"]["stsb"]["value"] if m2v and m2v.get("quality") else None
    out = []
    for r in rows:
        if r["role"] != "student" or r.get("quality") is None:
            continue
        stsb, sick = r["quality"]["stsb"]["value"], r["quality"]["sick"]["value"]
        sps, x_st = r["sentences_per_s"], r["x_st"]
        checks: list[dict[str, Any]] = []
        if r["kind"] == "static":
            checks.append({"what": f"sentences/s ≥ {STATIC_MIN_SPS:,.0f}", "value": sps, "met": sps >= STATIC_MIN_SPS})
            checks.append({"what": f"STS-B ρ ≥ {STATIC_MIN_STSB:g}", "value": stsb, "met": stsb >= STATIC_MIN_STSB})
            if m2v_stsb is not None:
                need = m2v_stsb + STATIC_MARGIN_OVER_M2V
                checks.append(
                    {
                        "what": f"STS-B ρ ≥ model2vec's + {STATIC_MARGIN_OVER_M2V:g} (= {need:.2f})",
                        "value": stsb,
                        "met": stsb >= need,
                    }
                )
            else:
                checks.append(
                    {"what": "STS-B ρ ≥ model2vec's + 8", "value": stsb, "met": None, "why": "model2vec not run"}
                )
        elif r["kind"] in ("cnn", "lstm"):
            checks.append(
                {
                    "what": f"≥ {NEURAL_MIN_X_ST:g}× sentence-transformers fp32",
                    "value": x_st,
                    "met": None if x_st is None else x_st >= NEURAL_MIN_X_ST,
                    **({"why": "sentence-transformers not run"} if x_st is None else {}),
                }
            )
            checks.append({"what": f"STS-B ρ ≥ {NEURAL_MIN_STSB:g}", "value": stsb, "met": stsb >= NEURAL_MIN_STSB})
            checks.append({"what": f"SICK-R ρ ≥ {NEURAL_MIN_SICK:g}", "value": sick, "met": sick >= NEURAL_MIN_SICK})
        else:
            continue
        verdicts = [ch["met"] for ch in checks]
        met = False if False in verdicts else (None if None in verdicts else True)
        out.append({"student": r["name"], "kind": r["kind"], "checks": checks, "met": met})
    return out


def fmt_seconds(s: float) -> str:
    if s < 10:
        return f"{s:.2f} s"
    return f"{s:.1f} s" if s < 600 else f"{s / 60:.1f} min"


def distil_cell(row: dict[str, Any]) -> str:
    d = row.get("distil")
    if not d:
        return "–"
    if "teacher_seconds" in d:
        return f"teacher {fmt_seconds(d['teacher_seconds'])} + training {fmt_seconds(d['train_seconds'])}"
    return f"{fmt_seconds(d['seconds'])} (measured)"


def render(payload: dict[str, Any]) -> str:
    """The markdown report: settings, one table (a row per contender), notes, goals."""
    s = payload["settings"]
    header = [
        "contender",
        "dim",
        "params",
        "size MB",
        "load s",
        "time to distil",
        "sentences/s",
        "× ST fp32",
        "× teacher",
        *(label + " [CI]" for _, _, label in QUALITY),
    ]
    rows = []
    for r in payload["contenders"]:
        label = (
            r["name"] if r["kind"] in (r["name"], "teacher", "sentence-transformers") else f"{r['name']} ({r['kind']})"
        )
        if r.get("not_run"):
            rows.append([label, *["–"] * 5, "not run", "–", "–", *["not run"] * len(QUALITY)])
            continue
        q = r["quality"]
        rows.append(
            [
                label,
                r["dim"],
                f"{r['params'] / 1e6:.2f}M",
                f"{r['size_bytes'] / 1e6:.1f}",
                f"{r['load_s']:.2f}",
                distil_cell(r),
                f"{r['sentences_per_s']:,.0f}",
                "–" if r["x_st"] is None else f"{r['x_st']:.1f}×",
                f"{r['x_teacher']:.1f}×",
                *(value_ci(q[name]) for name, _, _ in QUALITY),
            ]
        )
    threads = payload["threads"]
    env = ", ".join(f"{k}={v}" for k, v in threads["environment"].items())
    lines = [
        f"Teacher: {payload['teacher']}."
        + (" **Smoke run: small samples, figures not comparable.**" if s["smoke"] else ""),
        "",
        "Quality: zero-shot on the test splits"
        + (f" (first {s['limit']} pairs of each)" if s["limit"] else "")
        + ", cosine similarity, ×100 with 95% bootstrap CIs "
        f"({s['n_resamples']} resamples, seed 0): STS-B and SICK-R Spearman, MRPC and Quora average precision "
        "(threshold-free; its CI resamples the test pairs' scores, scikit-learn's `average_precision_score` on each).",
        "",
        f"Speed: {payload['n_speed_texts']:,} unique STS-B test+dev sentences, batch {s['batch_size']} for every "
        f"contender, median of {s['runs']} alternating runs after one warm-up; torch threads "
        f"{threads['torch']}; {env}. Load: median of {s['load_runs']} in-process loads after a warm-up. "
        "Size: all files of the model folder.",
        "",
        *markdown_table(header, rows, "lrrrrlrrr" + "r" * len(QUALITY)),
        "",
    ]
    lines += [f"- {note}" for note in payload["notes"]]
    lines += ["", "**Goals**", ""]
    if not payload["goals"]:
        lines.append("No static, CNN or LSTM student in this run.")
    for g in payload["goals"]:
        parts = []
        for ch in g["checks"]:
            if ch["value"] is None:
                value = "–"
            elif "sentences/s" in ch["what"]:
                value = f"{ch['value']:,.0f}"
            elif "×" in ch["what"]:
                value = f"{ch['value']:.1f}×"
            else:
                value = f"{ch['value']:.2f}"
            verdict = "met" if ch["met"] else ("not checked: " + ch.get("why", "") if ch["met"] is None else "not met")
            parts.append(f"{ch['what']}: {value}, {verdict}")
        overall = {True: "met", False: "not met", None: "not fully checked"}[g["met"]]
        lines.append(f"- {g['student']} ({g['kind']}): **{overall}** — " + "; ".join(parts) + ".")
    lines += ["", f"Total wall time: {payload['total_wall_s'] / 60:.1f} min."]
    return "\n".join(lines)
