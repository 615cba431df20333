"""Duplicate mining with a distilled student: ``textsiam mine`` on 1M lines, and what it recovers on Quora.

Two parts, each ``textsiam mine`` run a fresh subprocess (wall time of the whole command, model load included;
peak RSS is its ``VmHWM`` from ``/proc``, as in ``benchmarks.scale``):

* ``scale``: a corpus of ``--lines`` lines (default 1M) made as ``benchmarks.scale`` makes them: the unique Quora
  questions of both BiMPM files, then deterministic word deletions / swaps of them. Mined by the student with
  the command's defaults (top-k 10, HNSW index above 100k lines) except ``--precision`` (default int8, as in
  ``benchmarks.scale``: D bytes a text), ``--ef-search`` when given, and ``--batch-size --student-batch-size``
  (256: a static tower encodes fastest in large batches). The stage times come from the command's last INFO line.
  Goal: under 5 minutes and under 2 GB peak RSS.
* ``quora``: the 36,737 unique Quora questions mined by the teacher (the embedded all-MiniLM-L6-v2, ``--threshold``
  0.8) and by the student. The share of the teacher's pairs the student recovers is measured two ways: among
  the student's pairs at the same threshold, and among the student's best-scoring pairs of the same number as
  the teacher's (its own scale of cosines may differ). The labelled duplicate pairs (``is_duplicate = 1``) found
  by each are reported too.

    python -m benchmarks.distill_mining --student /work/runs/s8/static          # both parts
    python -m benchmarks.distill_mining --student DIR --parts quora --smoke      # a quick check

Writes benchmarks/results/towers/distill_mining.{json,md} (``--smoke``: ``distill_mining_smoke.*``).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import benchmark_parser, configure, markdown_table, resolve_data_dir, utc_now, write_results
from benchmarks.scale_mining import augmented, quora_questions, run_process, write_lines

logger = logging.getLogger("benchmarks.distill_mining")
PARTS = ("scale", "quora")
#: the stage times in the last INFO line of ``textsiam mine``
STAGE_KEYS = ("encode_s", "index_s", "search_s")
STAGES = re.compile(r"\(encode ([\d.]+) s, index ([\d.]+) s, search ([\d.]+) s\)")


def mine_cli(corpus: Path, model: str | None, out: Path, threshold: float, extra: list[str]) -> dict[str, Any]:
    """``textsiam mine corpus -o out`` in a subprocess; its wall time and peak RSS, and the pairs it wrote."""
    cmd = [sys.executable, "-m", "textsiam", "mine", str(corpus), "-o", str(out), "-t", str(threshold)]
    cmd += ["--overwrite", *(["--model", model] if model else []), *extra]
    env = {**os.environ, "TQDM_DISABLE": "1"}  # INFO lines (the stage times) but no progress bars in the log
    # the command as a user's shell runs it: the Rust tokenizer on all cores (its default), not the single thread
    # that ``benchmarks.common.configure`` sets for the in-process timings
    env.pop("TOKENIZERS_PARALLELISM", None)
    proc = run_process(cmd, out.with_suffix(".log"), env)
    proc["command"] = " ".join(["textsiam", *cmd[3:]])
    found = STAGES.search(out.with_suffix(".log").read_text(encoding="utf-8", errors="replace"))
    if found:
        proc.update({f"{k}_s": float(v) for k, v in zip(("encode", "index", "search"), found.groups(), strict=True)})
    return proc


def student_args(args: argparse.Namespace) -> list[str]:
    """Extra ``textsiam mine`` options of the student's runs (its batch size)."""
    return ["--batch-size", str(args.student_batch_size)] if args.student_batch_size else []


def read_pairs(path: Path) -> list[tuple[int, int, float]]:
    """``(i, j, score)`` rows of a ``textsiam mine`` TSV (header skipped), best first as written."""
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader, None)
        for row in reader:
            rows.append((int(row[0]), int(row[1]), float(row[2])))
    return rows


def recovery(teacher: list[tuple[int, int, float]], student: list[tuple[int, int, float]]) -> dict[str, Any]:
    """Share of the teacher's pairs among the student's (all of them, and the same number of its best)."""
    wanted = {(i, j) for i, j, _ in teacher}
    got = {(i, j) for i, j, _ in student}
    best = {(i, j) for i, j, _ in sorted(student, key=lambda r: -r[2])[: len(wanted)]}
    return {
        "teacher_pairs": len(wanted),
        "student_pairs": len(got),
        "recovered_at_threshold": len(wanted & got),
        "share_at_threshold": len(wanted & got) / max(len(wanted), 1),
        "recovered_same_count": len(wanted & best),
        "share_same_count": len(wanted & best) / max(len(wanted), 1),
    }


def labelled_found(pairs: list[tuple[int, int, float]], questions: list[str], labelled: list) -> dict[str, int]:
    """How many labelled duplicate / non-duplicate pairs are among the mined ``pairs``."""
    index = {t: i for i, t in enumerate(questions)}
    mined = {(i, j) for i, j, _ in pairs}
    counts = {"duplicates": 0, "duplicates_mined": 0, "non_duplicates": 0, "non_duplicates_mined": 0}
    for a, b, label in labelled:
        if a == b:
            continue
        i, j = sorted((index[a], index[b]))
        key = "duplicates" if label == 1 else "non_duplicates"
        counts[key] += 1
        counts[f"{key}_mined"] += (i, j) in mined
    return counts


def part_scale(args: argparse.Namespace, work: Path, questions: list[str]) -> dict[str, Any]:
    corpus = work / f"corpus_{args.lines}.txt"
    if not corpus.is_file():
        write_lines(corpus, augmented(questions, args.lines))
    store = work / "scale_store"  # the command keeps its stored embeddings here, for the recall below
    extra = [*student_args(args), "--precision", args.precision, "--work-dir", str(store)]
    if args.ef_search:
        extra += ["--ef-search", str(args.ef_search)]
    out = work / "scale_pairs.tsv"
    proc = mine_cli(corpus, args.student, out, args.threshold, extra)
    logger.info("%d lines mined in %.1fs, peak RSS %.0f MB", args.lines, proc["wall_s"], proc["peak_rss_mb"])
    recall = pair_recall(out, store / f"embeddings.{args.precision}.bin", args, top_k=10)
    logger.info("pair recall against exact search: %.4f", recall["recall"])
    return {"lines": args.lines, **proc, **recall}


def pair_recall(pairs_file: Path, embeddings: Path, args: argparse.Namespace, top_k: int) -> dict[str, Any]:
    """The share of exact search's pairs that the command wrote, over ``--recall-sample`` random lines.

    For each sampled line ``q``, exact search over the stored vectors (the ones the command scores with) finds
    ``m = min(top_k, #{j: cos(q, j) >= threshold})`` pairs; the command is credited with the pairs ``(q, j)`` it
    wrote whose exact score reaches the m-th best (ties at that score count, so which of several identical copies
    it chose does not matter), at most ``m``. Recall = credited / sum of ``m``. Also the number of pairs written.
    """
    import numpy as np
    import pandas as pd

    from textsiam.mining.store import EmbeddingFile

    mined = pd.read_csv(pairs_file, sep="\t", usecols=[0, 1], dtype=np.int64, quoting=csv.QUOTE_NONE)
    n_pairs = len(mined)
    store = EmbeddingFile(embeddings, args.precision)
    row_bytes = store.dtype.itemsize
    store.n = args.lines
    store.dim = embeddings.stat().st_size // (row_bytes * store.n)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(store.n, size=min(args.recall_sample, store.n), replace=False))
    queries = store.take(sample)  # (S, D)
    need = found = 0
    i, j = mined["i"].to_numpy(), mined["j"].to_numpy()
    pos = {int(q): k for k, q in enumerate(sample)}
    partners: list[set[int]] = [set() for _ in sample]
    for a, b in ((i, j), (j, i)):
        hit = np.isin(a, sample)
        for q, other in zip(a[hit].tolist(), b[hit].tolist(), strict=True):
            partners[pos[q]].add(other)
    block = 500  # (500, 1M) float32 scores at a time: 2 GB
    for b0 in range(0, len(sample), block):
        sims = np.concatenate(
            [
                queries[b0 : b0 + block] @ store.rows(r0, min(r0 + 100_000, store.n)).T
                for r0 in range(0, store.n, 100_000)
            ],
            axis=1,
        )  # (block, N)
        for k in range(sims.shape[0]):
            q = int(sample[b0 + k])
            sims[k, q] = -np.inf
            above = np.sort(sims[k][sims[k] >= args.threshold])[::-1]
            m = min(top_k, len(above))
            if m == 0:
                continue
            kth = above[m - 1]
            got = [o for o in partners[b0 + k] if sims[k, o] >= kth - 1e-6]
            need += m
            found += min(m, len(got))
    return {
        "pairs": n_pairs,
        "recall_sample": len(sample),
        "recall_exact_pairs": need,
        "recall_found": found,
        "recall": found / need if need else float("nan"),
    }


def part_quora(args: argparse.Namespace, work: Path, questions: list[str], labelled: list) -> dict[str, Any]:
    corpus = work / "quora_questions.txt"
    write_lines(corpus, questions)
    runs = {}
    for name, model in (("teacher", args.teacher), ("student", args.student)):
        out = work / f"quora_{name}.tsv"
        proc = mine_cli(corpus, model, out, args.threshold, student_args(args) if name == "student" else [])
        pairs = read_pairs(out)
        runs[name] = {**proc, "pairs": len(pairs), "labelled": labelled_found(pairs, questions, labelled)}
        runs[name]["_rows"] = pairs
    result = {
        "questions": len(questions),
        "runs": runs,
        "recovery": recovery(runs["teacher"]["_rows"], runs["student"]["_rows"]),
    }
    for run in runs.values():
        run.pop("_rows")
    return result


def render(payload: dict[str, Any]) -> str:
    lines = [
        f"Student: `{payload['student']}`; teacher: {payload['teacher'] or 'all-MiniLM-L6-v2 (embedded)'}; "
        f"threshold {payload['threshold']}.",
        "",
    ]
    if "scale" in payload:
        s = payload["scale"]
        ok = s["wall_s"] < 300 and s["peak_rss_mb"] < 2048
        lines += ["## 1M lines", ""]
        lines += markdown_table(
            [
                "lines",
                "wall s",
                "encode s",
                "index s",
                "search s",
                "peak RSS MB",
                "pairs ≥ threshold",
                "pair recall vs exact",
                "load",
            ],
            [
                [
                    f"{s['lines']:,}",
                    f"{s['wall_s']:.1f}",
                    *(f"{s[k]:.1f}" if k in s else "–" for k in STAGE_KEYS),
                    f"{s['peak_rss_mb']:,.0f}",
                    f"{s['pairs']:,}",
                    f"{s['recall']:.4f}" if "recall" in s else "–",
                    f"{s['loadavg_1min_start']:.1f} / {s['loadavg_1min_end']:.1f}",
                ]
            ],
            "rrrrrrrrl",
        )
        lines += [
            "",
            f"Command: `{s['command']}`. **Goal (under 5 min, under 2 GB): {'met' if ok else 'not met'}.**",
            "",
            *(
                [
                    f"Pair recall: of the pairs exact search finds for {s['recall_sample']:,} random lines (each "
                    f"line's top 10 at or above the threshold, ties included: {s['recall_exact_pairs']:,}), the "
                    f"command wrote {s['recall_found']:,}.",
                    "",
                ]
                if "recall" in s
                else []
            ),
        ]
    if "quora" in payload:
        q = payload["quora"]
        r = q["recovery"]
        lines += ["## Quora questions", ""]
        rows = []
        for name, run in q["runs"].items():
            lab = run["labelled"]
            rows.append(
                [
                    name,
                    f"{run['wall_s']:.1f}",
                    f"{run['peak_rss_mb']:,.0f}",
                    f"{run['pairs']:,}",
                    f"{lab['duplicates_mined']:,} / {lab['duplicates']:,}",
                    f"{lab['non_duplicates_mined']:,} / {lab['non_duplicates']:,}",
                ]
            )
        lines += markdown_table(
            [
                "model",
                "wall s",
                "peak RSS MB",
                "pairs ≥ threshold",
                "labelled duplicates mined",
                "labelled non-duplicates mined",
            ],
            rows,
            "lrrrrr",
        )
        lines += [
            "",
            f"Of the teacher's {r['teacher_pairs']:,} pairs, the student mines {r['recovered_at_threshold']:,} "
            f"({100 * r['share_at_threshold']:.1f}%) at the same threshold ({r['student_pairs']:,} pairs in all), and "
            f"{r['recovered_same_count']:,} ({100 * r['share_same_count']:.1f}%) among its {r['teacher_pairs']:,} "
            "best-scoring pairs.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = benchmark_parser(__doc__, "towers")
    p.add_argument("--student", required=True, help="the distilled student's folder")
    p.add_argument("--teacher", default=None, help="the teacher (default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated: scale,quora")
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--precision", default="int8", choices=["float16", "int8", "float32"], help="scale: stored vectors")
    p.add_argument("--ef-search", type=int, default=None, help="scale: HNSW candidates per query (the command's)")
    p.add_argument(
        "--student-batch-size", type=int, default=256, help="--batch-size of the student's runs (0: the command's)"
    )
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument(
        "--recall-sample", type=int, default=2000, help="scale: lines whose pairs are checked by exact search"
    )
    p.add_argument("--quora-limit", type=int, default=None, help="only the first N unique questions")
    p.add_argument("--work-dir", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (2,000 lines, 500 questions)")
    p.add_argument("--results-name", default="distill_mining", help="NAME of the result files")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings from the libraries")
    args = p.parse_args(argv)
    configure(logging.WARNING if args.quiet else logging.INFO)
    if args.smoke:
        args.lines, args.quora_limit = min(args.lines, 2000), args.quora_limit or 500
    parts = [x for x in args.parts.split(",") if x]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        p.error(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    data_dir = resolve_data_dir(args.data_dir)
    questions, labelled = quora_questions(data_dir)
    payload: dict[str, Any] = {
        "name": "distill_mining_smoke" if args.smoke else args.results_name,
        "started": utc_now(),
        "student": args.student,
        "teacher": args.teacher,
        "threshold": args.threshold,
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        if "scale" in parts:
            payload["scale"] = part_scale(args, work, questions)
        if "quora" in parts:
            qs = questions[: args.quora_limit] if args.quora_limit else questions
            kept = set(qs)
            pairs = [x for x in labelled if x[0] in kept and x[1] in kept]
            payload["quora"] = part_quora(args, work, qs, pairs)
        payload["total_seconds"] = time.perf_counter() - start
    write_results(args.results_dir, payload["name"], payload, render(payload))


if __name__ == "__main__":
    main()
