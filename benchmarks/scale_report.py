"""The report of ``benchmarks.scale``: the scaling summary and its 1M projection, ``--merge``, the markdown."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.common import markdown_table

#: the parts of a scale run, in report order
PARTS = ("quora", "scaling", "score")
ONE_MILLION = 1_000_000
HALF_HOUR_S = 1800.0


def linear_fit(xs: list[float], ys: list[float], at: float) -> float | None:
    """Least-squares line through ``(xs, ys)`` evaluated at ``at`` (None with fewer than two points)."""
    import numpy as np

    if len(xs) < 2:
        return None
    slope, intercept = np.polyfit(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), 1)
    return float(slope * at + intercept)


def scaling_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The scaling runs (sorted by size) and their projection to 1M lines."""
    runs = sorted(runs, key=lambda r: r["lines"])
    # times: the per-line rate of the largest run, times 1M; memory: a line (fixed part + per line) through all runs
    largest = max(runs, key=lambda r: r["lines"]) if runs else None
    proj: dict[str, float | None] = {}
    for key in ("encode_s", "index_s", "search_s"):
        proj[key] = None if largest is None else largest["stats"][key] * ONE_MILLION / largest["lines"]
    proj["wall_s"] = None if largest is None else largest["process"]["wall_s"] * ONE_MILLION / largest["lines"]
    xs = [r["lines"] for r in runs]
    proj["peak_rss_mb"] = linear_fit(xs, [r["process"]["peak_rss_mb"] for r in runs], ONE_MILLION)
    if largest is not None:
        # the largest run's peak plus what grows per line: index vectors, HNSW links / IVF ids, neighbour arrays
        st = largest["stats"]
        per_line = st["embeddings_bytes"] / st["n_texts"] + 12 * st["top_k"]
        per_line += 8 * st["hnsw_m"] + 16 if st.get("hnsw_m") else 8 if st.get("nlist") else 0
        extra = (ONE_MILLION - largest["lines"]) * per_line / 2**20
        proj["peak_rss_mb_from_sizes"] = largest["process"]["peak_rss_mb"] + extra
        proj["bytes_per_line"] = per_line
    over = None if proj["wall_s"] is None else proj["wall_s"] > HALF_HOUR_S
    return {"runs": runs, "projection_1m": proj, "projected_1m_over_30_min": over}


def merge_previous(payload: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the parts and runs of an earlier ``scale.json`` that this invocation did not redo.

    Quora: the new result if there is one. Scaling and score: runs keyed by size, a new run replacing an old one of
    the same size; the 1M projection is recomputed over the merged scaling runs. Every invocation's date, command
    and load stay listed in ``invocations``.
    """
    out = dict(payload)
    earlier = previous.get("invocations") or [
        {k: previous.get(k) for k in ("date", "command", "parts", "loadavg_start", "loadavg_end", "total_s")}
    ]
    out["invocations"] = [*earlier, *payload.get("invocations", [])]
    if "quora" not in out and previous.get("quora"):
        out["quora"] = previous["quora"]

    def runs(part: str, size: str) -> list[dict[str, Any]]:  # earlier and new runs of a part, new ones winning
        merged = {r[size]: r for part_runs in (previous, out) for r in part_runs.get(part, {}).get("runs", [])}
        return sorted(merged.values(), key=lambda r: r[size])

    if previous.get("scaling"):
        out["scaling"] = scaling_summary(runs("scaling", "lines"))
    if previous.get("score"):
        out["score"] = {"runs": runs("score", "pairs")}
    out["parts"] = [p for p in PARTS if p in out]
    return out


def _search_setting(st: dict[str, Any]) -> str:
    """The search setting of an index: IVF's nprobe, HNSW's efSearch, or exact."""
    if st.get("nprobe"):
        return f"nprobe {st['nprobe']}"
    if st.get("ef_search"):
        return f"efSearch {st['ef_search']}"
    return "exact"


def _load(pr: dict[str, Any]) -> str:
    """The machine's 1-minute load average at the start / end of a process."""
    return f"{pr['loadavg_1min_start']:.1f} / {pr['loadavg_1min_end']:.1f}"


def _quora_section(q: dict[str, Any], args: argparse.Namespace) -> list[str]:
    st, pr, rec = q["stats"], q["process"], q["recovery"]
    n_dup = max(rec["labelled_duplicate_pairs"], 1)
    row = [
        f"{st['n_texts']:,}",
        st["precision"],
        st["index_factory"],
        f"{st['encode_s']:.1f}",
        f"{st['encode_texts_per_s']:.0f}",
        f"{st['index_s']:.1f}",
        f"{st['search_s']:.1f}",
        f"{pr['wall_s']:.1f}",
        f"{pr['peak_rss_mb']:.0f}",
        f"{st['n_pairs']:,}",
        _load(pr),
    ]
    header = ["texts", "precision", "index", "encode s", "texts/s", "index s", "search s", "wall s", "peak RSS MB"]
    sweep = [
        [t, f"{v['duplicates_recovered']:,}", f"{v['non_duplicates_mined']:,}"]
        for t, v in rec["threshold_sweep"].items()
    ]
    return [
        "## Quora: unique questions of both BiMPM files\n",
        *markdown_table([*header, "pairs >= threshold", "load"], [row]),
        "",
        f"Labelled duplicate pairs (is_duplicate = 1): **{rec['labelled_duplicate_pairs']:,}**; in the top-"
        f"{args.top_k} neighbours of one of their questions: **{rec['duplicates_in_top_k']:,}** "
        f"({rec['duplicates_in_top_k'] / n_dup:.1%}); mined at score >= {args.threshold}: "
        f"**{rec['duplicates_at_threshold']:,}** ({rec['duplicates_at_threshold'] / n_dup:.1%}). Labelled "
        f"non-duplicates ({rec['labelled_non_duplicate_pairs']:,}, hard negatives by construction) mined at "
        f"the threshold: {rec['non_duplicates_at_threshold']:,}.\n",
        *markdown_table(["threshold", "labelled duplicates recovered", "labelled non-duplicates mined"], sweep),
        "",
    ]


def _scaling_section(s: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"{r['lines']:,}",
            f"{r['distinct_lines']:,}",
            r["stats"]["precision"],
            r["stats"]["index_factory"],
            _search_setting(r["stats"]),
            f"{r['stats']['encode_s']:.1f}",
            f"{r['stats']['encode_texts_per_s']:.0f}",
            f"{r['stats']['index_s']:.1f}",
            f"{r['stats']['search_s']:.1f}",
            f"{r['process']['wall_s']:.1f}",
            f"{r['process']['peak_rss_mb']:.0f}",
            f"{r['recall_at_10']:.4f}",
            _load(r["process"]),
        ]
        for r in s["runs"]
    ]
    header = ["lines", "distinct", "precision", "index", "search setting", "encode s", "texts/s", "index s"]
    header += ["search s", "wall s", "peak RSS MB", "recall@10 vs exact", "load"]
    md = ["## Scaling: Quora questions plus augmented copies\n", *markdown_table(header, rows)]
    others = [
        [
            f"{r['lines']:,}",
            o["stats"]["index_factory"],
            _search_setting(o["stats"]),
            f"{o['stats']['index_s']:.1f}",
            f"{o['stats']['search_s']:.1f}",
            f"{o['process']['wall_s']:.1f}",
            f"{o['process']['peak_rss_mb']:.0f}",
            f"{o['recall_at_10']:.4f}",
            _load(o["process"]),
        ]
        for r in s["runs"]
        for o in r.get("other_indexes", {}).values()
    ]
    if others:
        header = ["lines", "index", "search setting", "index s", "search s", "wall s", "peak RSS MB"]
        md += [
            "\nThe same stored embeddings, indexed and searched again with another index (no encoding; "
            "`mine_embeddings`, its own process):\n",
            *markdown_table([*header, "recall@10 vs exact", "load"], others),
        ]
    p = s["projection_1m"]
    if p["wall_s"] is not None:
        rss = "-" if p["peak_rss_mb"] is None else f"{p['peak_rss_mb']:.0f} MB"
        rss += (
            f"; the largest run's peak plus {p['bytes_per_line']:.0f} bytes per further line (index vectors "
            f"and links, neighbour arrays): {p['peak_rss_mb_from_sizes']:.0f} MB"
        )
        md.append(
            f"\nLinear projection to 1M lines (each stage at the per-line rate of the largest run): encode "
            f"{p['encode_s']:.0f}s, index {p['index_s']:.0f}s, search {p['search_s']:.0f}s, wall "
            f"**{p['wall_s']:.0f}s ({p['wall_s'] / 60:.1f} min)**; peak RSS (a line through all runs) {rss}. "
            "1M lines would "
            + ("**exceed**" if s["projected_1m_over_30_min"] else "stay within")
            + " 30 minutes on this machine. Search work per query grows with N for IVF (nlist = 4 sqrt(N)) and "
            "with log N for HNSW, so the search projection is a lower bound; encoding is linear."
        )
    md.append(
        f"\nrecall@10: share of the exact top-10 (brute force over the same stored "
        f"embeddings, {s['runs'][0]['recall_queries'] if s['runs'] else 0} random queries) that the index "
        "returned.\n"
    )
    return md


def _score_section(sc: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"{r['pairs']:,}",
            f"{r['input_mb']:.1f}",
            f"{r['process']['wall_s']:.1f}",
            f"{r['pairs_per_s']:.0f}",
            f"{r['process']['peak_rss_mb']:.0f}",
            _load(r["process"]),
        ]
        for r in sc["runs"]
    ]
    md = [
        "## Streaming pair scoring: `textsiam score --pairs`\n",
        *markdown_table(["pairs", "input MB", "wall s", "pairs/s", "peak RSS MB", "load"], rows),
    ]
    if sc["runs"]:
        md.append(
            f"\nCommand: `{sc['runs'][-1]['command']}` (wall time includes loading the model; the last line of "
            f"its progress bar: `{sc['runs'][-1]['progress_bar_last_line']}`)."
        )
    return md


def _invocations_section(inv: list[dict[str, Any]]) -> list[str]:
    rows = []
    for i in inv:
        la, lb = (i.get("loadavg_start") or [0])[0], (i.get("loadavg_end") or [0])[0]
        rows.append([i["date"], ", ".join(i.get("parts") or []), f"{la:.1f} / {lb:.1f}", f"`{i['command']}`"])
    return [
        "\n## Invocations merged into this file (`--merge`)\n",
        *markdown_table(["date", "parts", "load", "command"], rows),
    ]


def markdown(payload: dict[str, Any], args: argparse.Namespace) -> str:
    """The markdown report of a scale run: the settings, then a section per part and the merged invocations."""
    md = [
        f"Model: the embedded all-MiniLM-L6-v2, ONNX Runtime with int8 weights (export {payload['export_s']:.1f}s, "
        f"not counted below). Mining: top-k {args.top_k}, threshold {args.threshold}, "
        f"index {args.index} (exact below {args.max_exact:,} texts), batch {args.batch_size}. Every run is its own "
        "process; peak RSS is that process's high-water mark (`VmHWM`). *load*: the machine's 1-minute load average "
        "at the start / end of the run (2 CPUs: above 2, other work competed for them and the times are slower)."
        + (" **--smoke run: tiny sizes, figures are not representative.**" if args.smoke else "")
        + "\n"
    ]
    if payload.get("quora"):
        md += _quora_section(payload["quora"], args)
    if payload.get("scaling"):
        md += _scaling_section(payload["scaling"])
    if payload.get("score"):
        md += _score_section(payload["score"])
    if len(payload.get("invocations", [])) > 1:
        md += _invocations_section(payload["invocations"])
    return "\n".join(md)
