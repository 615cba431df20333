"""Scale: duplicate mining on Quora and on augmented corpora, and streaming pair scoring.

Every run uses the fastest CPU path, the embedded all-MiniLM-L6-v2 exported once to ONNX with int8 weights
(``SiameseModel.from_pretrained(None, backend="onnx", quantize="int8")``, saved and reloaded so the export is not
timed). Each mining run and each scoring run is a fresh subprocess, so its wall time and peak RSS (``VmHWM``
from ``/proc``: the high-water mark of its resident memory, file-backed pages included; ``getrusage`` would also
count the forking parent) are its own. Parts (``--parts``, comma-separated, default all):

* ``quora``: ``mine_duplicates`` over the unique questions of both BiMPM files in ``$TEXTSIAM_DATA/quora``
  (train + dev + test of the loader, 36,737 questions; exact search). Reports encode / index / search wall time,
  peak RSS, and how many of the 10,000 labelled duplicate pairs (``is_duplicate = 1``) are among the top-k
  neighbours and among the mined pairs at the threshold (plus a threshold sweep), and how many labelled
  non-duplicates are mined.
* ``scaling``: corpora of ``--sizes`` lines (default 100k and 250k) made from the unique Quora questions: the
  questions themselves, then deterministic word deletions / swaps of them (``textsiam.training.TextAugmenter``,
  a different draw per round). Mined with ``index="auto"`` (HNSW from 100k lines). Reports the stage times, peak
  RSS, recall@10 of the index against exact search over the same stored embeddings on ``--recall-queries``
  random queries, and a linear projection of time and peak RSS to 1M lines. The stored embeddings are then
  indexed and searched again with ``--compare-index`` (default IVF), without encoding, for comparison.
* ``score``: ``textsiam score --pairs FILE --output OUT`` as a subprocess on generated files of ``--score-pairs``
  pairs (default 100k and 1M; the labelled Quora pairs, then augmented copies of them). Reports pairs/s (wall
  time of the whole command, model load included) and peak RSS: flat RSS across sizes shows it streams.

    python -m benchmarks.scale                                  # the full run: about 1.75 h on a quiet 2-core CPU
    python -m benchmarks.scale --smoke                          # tiny sizes: a check that everything runs
    python -m benchmarks.scale --parts quora,scaling --sizes 100000,250000
    python -m benchmarks.scale --parts score --score-pairs 1000000 --merge   # redo one part, keep the rest

Mining stores embeddings and index vectors in ``--precision`` (default int8: ``D`` bytes a text, half of
float16's memory; scores are still the cosine of the stored vectors). ``--merge`` keeps the parts and sizes of the
existing ``scale.json`` (in ``--results-dir``) that this invocation does not redo, and lists every invocation in the
report. The measuring machinery is in ``benchmarks.scale_mining``, the report in ``benchmarks.scale_report``.

Writes benchmarks/results/scale/scale.{json,md}. Run it with nothing else heavy on the machine. Its length is set by
encoding, about 2.6M texts in all (387k mined, 2.2M scored): at the ~580 texts/s of the int8 path on a quiet
machine (benchmarks/results/speed/encode_speed.md) about 75 min of encoding plus 20-30 min of indexing and searching;
at the 160-200 texts/s measured with other jobs on the machine, 4-5 hours.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import benchmark_parser, command, configure, resolve_data_dir, utc_now, write_results
from benchmarks.scale_mining import (
    augmented,
    exact_topk,
    mine,
    pair_lines,
    quora_questions,
    quora_recovery,
    recall_at,
    run_process,
    worker,
    write_lines,
)
from benchmarks.scale_report import PARTS, markdown, merge_previous, scaling_summary

logger = logging.getLogger("benchmarks.scale")


# ---------------------------------------------------------------------------------------------- parts
def part_quora(
    args: argparse.Namespace, work: Path, model_dir: Path, questions: list[str], labelled: list[tuple[str, str, int]]
) -> dict[str, Any]:
    """Mine the unique Quora questions; stage times, peak RSS and how many labelled duplicates are recovered."""
    if args.quora_limit:
        questions = questions[: args.quora_limit]
    corpus = work / "quora_questions.txt"
    write_lines(corpus, questions)
    logger.info("[quora] mining %d unique questions", len(questions))
    res = mine(args, corpus, work / "quora", model_dir, keep_embeddings=False)
    out = {"texts": len(questions), "process": res["process"], "stats": res["stats"]}
    out["recovery"] = quora_recovery(res, questions, labelled)
    rec = out["recovery"]
    logger.info(
        "[quora] %d texts: encode %.1fs, index %.1fs, search %.1fs, wall %.1fs, peak RSS %.0f MB; duplicates in "
        "top-%d: %d/%d, at >= %s: %d",
        res["stats"]["n_texts"],
        res["stats"]["encode_s"],
        res["stats"]["index_s"],
        res["stats"]["search_s"],
        res["process"]["wall_s"],
        res["process"]["peak_rss_mb"],
        args.top_k,
        rec["duplicates_in_top_k"],
        rec["labelled_duplicate_pairs"],
        args.threshold,
        rec["duplicates_at_threshold"],
    )
    return out


def part_scaling(args: argparse.Namespace, work: Path, model_dir: Path, questions: list[str]) -> dict[str, Any]:
    """Mine augmented corpora of ``--sizes`` lines; recall@10 against exact search, other indexes, 1M projection."""
    import numpy as np

    runs = []
    for size in args.sizes:
        corpus = work / f"corpus_{size}.txt"
        write_lines(corpus, augmented(questions, size))
        with open(corpus, encoding="utf-8") as fh:
            unique = len({hash(line) for line in fh})
        logger.info("[scaling] mining %d lines (%d distinct)", size, unique)
        res = mine(args, corpus, work / f"scaling_{size}", model_dir, keep_embeddings=True)
        corpus.unlink()
        rng = np.random.default_rng(0)
        queries = np.sort(rng.choice(size, size=min(args.recall_queries, size), replace=False))
        t0 = time.perf_counter()
        exact = exact_topk(res["stats"], queries, min(10, args.top_k))
        exact_s = time.perf_counter() - t0
        recall = recall_at(res["arrays"]["neighbours"], queries, exact)
        st = res["stats"]
        run = {
            "lines": size,
            "distinct_lines": unique,
            "process": res["process"],
            "stats": st,
            "recall_at_10": recall,
            "recall_queries": len(queries),
            "exact_search_s_for_recall_queries": exact_s,
            "other_indexes": {},
        }
        logger.info(
            "[scaling] %d: %s: encode %.1fs (%.0f/s), index %.1fs, search %.1fs, wall %.1fs, peak RSS %.0f MB, "
            "recall@10 %.4f",
            size,
            st["index_factory"],
            st["encode_s"],
            st["encode_texts_per_s"],
            st["index_s"],
            st["search_s"],
            res["process"]["wall_s"],
            res["process"]["peak_rss_mb"],
            recall,
        )
        for other in args.compare_index:
            emb_file = Path(st["embeddings_file"])
            alt = mine(args, emb_file, work / f"scaling_{size}_{other}", None, False, index=other, embeddings=st)
            run["other_indexes"][other] = {
                "process": alt["process"],
                "stats": alt["stats"],
                "recall_at_10": recall_at(alt["arrays"]["neighbours"], queries, exact),
            }
            logger.info(
                "[scaling] %d with %s (nprobe %s): index %.1fs, search %.1fs, recall@10 %.4f",
                size,
                alt["stats"]["index_factory"],
                alt["stats"]["nprobe"],
                alt["stats"]["index_s"],
                alt["stats"]["search_s"],
                run["other_indexes"][other]["recall_at_10"],
            )
        Path(st["embeddings_file"]).unlink()
        runs.append(run)
    return scaling_summary(runs)


def part_score(
    args: argparse.Namespace, work: Path, model_dir: Path, labelled: list[tuple[str, str, int]]
) -> dict[str, Any]:
    """``textsiam score`` as a subprocess on pair files of ``--score-pairs`` pairs: pairs/s and peak RSS."""
    runs = []
    for size in args.score_pairs:
        pairs = work / f"pairs_{size}.tsv"
        out = work / f"scores_{size}.tsv"
        write_lines(pairs, pair_lines(labelled, size))
        cmd = [sys.executable, "-m", "textsiam", "score", "--pairs", str(pairs), "--output", str(out)]
        cmd += ["--model", str(model_dir), "--batch-size", str(args.batch_size)]
        logger.info("[score] %s", shlex.join(["textsiam", *cmd[3:]]))
        proc = run_process(cmd, work / f"score_{size}.log")
        with open(out, encoding="utf-8") as fh:
            rows = sum(1 for _ in fh) - 1
        if rows != size:
            raise RuntimeError(f"textsiam score wrote {rows} rows for {size} pairs")
        log_tail = (work / f"score_{size}.log").read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        bar = [line for line in log_tail.splitlines() if "Scoring" in line][-1:]
        run = {
            "pairs": size,
            "command": shlex.join(["textsiam", *cmd[3:]]),
            "process": proc,
            "pairs_per_s": size / proc["wall_s"],
            "input_mb": pairs.stat().st_size / 2**20,
            "progress_bar_last_line": bar[0].strip() if bar else None,
        }
        runs.append(run)
        pairs.unlink()
        out.unlink()
        logger.info(
            "[score] %d pairs: %.1fs, %.0f pairs/s, peak RSS %.0f MB",
            size,
            proc["wall_s"],
            run["pairs_per_s"],
            proc["peak_rss_mb"],
        )
    return {"runs": runs}


def build_parser() -> argparse.ArgumentParser:
    """The command line of the benchmark (and of its hidden ``--worker`` mode)."""
    p = benchmark_parser(__doc__, "scale")
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated: quora,scaling,score")
    p.add_argument("--sizes", default="100000,250000", help="scaling corpus sizes (lines)")
    p.add_argument("--score-pairs", default="100000,1000000", help="pair-file sizes for textsiam score")
    p.add_argument("--quora-limit", type=int, default=None, help="mine only the first N unique questions")
    p.add_argument("--recall-queries", type=int, default=1000)
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument(
        "--precision", default="int8", choices=["float16", "int8", "float32"], help="stored embeddings and index"
    )
    p.add_argument("--index", default="auto", choices=["auto", "flat", "ivf", "hnsw"])
    p.add_argument("--max-exact", type=int, default=100_000)
    p.add_argument("--nprobe", type=int, default=None)
    p.add_argument(
        "--compare-index", default="ivf", help="scaling: also index the stored embeddings with these (comma list, '')"
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--work-dir", default=None, help="scratch folder (default: a temporary one, removed)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every part runs")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the parts and sizes of the existing scale.json in --results-dir that this run does not redo",
    )
    p.add_argument("--worker", nargs=2, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    p.add_argument("--worker-model", help=argparse.SUPPRESS)
    p.add_argument("--worker-shape", help=argparse.SUPPRESS)
    p.add_argument("--keep-embeddings", action="store_true", help=argparse.SUPPRESS)
    return p


def main() -> None:
    p = build_parser()
    args = p.parse_args()
    if args.worker:
        configure(logging.INFO)
        worker(args)
        return
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    bad = sorted(set(parts) - set(PARTS))
    if bad:
        p.error(f"unknown parts {bad}; choose from {list(PARTS)}")
    if args.smoke:
        args.quora_limit = args.quora_limit or 1500
        args.sizes = "2000,4000"
        args.score_pairs = "1000,3000"
        args.recall_queries = min(args.recall_queries, 200)
        args.max_exact = min(args.max_exact, 1600)  # so the smoke scaling runs take the approximate-index path
    args.sizes = [int(x) for x in str(args.sizes).split(",") if x]
    args.score_pairs = [int(x) for x in str(args.score_pairs).split(",") if x]
    args.compare_index = [x.strip() for x in args.compare_index.split(",") if x.strip()]
    args.data_dir = resolve_data_dir(args.data_dir)
    configure(logging.WARNING)

    from textsiam import SiameseModel

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="textsiam-scale-", dir=args.work_dir) as tmp:
        work = Path(tmp)
        model_dir = work / "minilm-onnx-int8"
        t0 = time.perf_counter()
        SiameseModel.from_pretrained(None, backend="onnx", quantize="int8").save(model_dir)
        export_s = time.perf_counter() - t0
        questions, labelled = quora_questions(args.data_dir)
        payload: dict[str, Any] = {
            "parts": parts,
            "smoke": args.smoke,
            "model": "all-MiniLM-L6-v2 (embedded), backend=onnx, quantize=int8",
            "export_s": export_s,
            "settings": {
                "top_k": args.top_k,
                "threshold": args.threshold,
                "precision": args.precision,
                "index": args.index,
                "max_exact": args.max_exact,
                "nprobe": args.nprobe,
                "batch_size": args.batch_size,
                "sizes": args.sizes,
                "score_pairs": args.score_pairs,
                "recall_queries": args.recall_queries,
                "compare_index": args.compare_index,
                "quora_limit": args.quora_limit,
            },
            "unique_quora_questions": len(questions),
            "loadavg_start": os.getloadavg(),
        }
        if "quora" in parts:
            payload["quora"] = part_quora(args, work, model_dir, questions, labelled)
        if "scaling" in parts:
            payload["scaling"] = part_scaling(args, work, model_dir, questions)
        if "score" in parts:
            payload["score"] = part_score(args, work, model_dir, labelled)
        payload["loadavg_end"] = os.getloadavg()
        payload["total_s"] = time.perf_counter() - t_start
    payload["invocations"] = [
        {
            "date": utc_now(),
            "command": command(),
            "parts": parts,
            "loadavg_start": payload["loadavg_start"],
            "loadavg_end": payload["loadavg_end"],
            "total_s": payload["total_s"],
        }
    ]
    previous_file = args.results_dir / "scale.json"
    if args.merge and previous_file.is_file() and not args.smoke:
        payload = merge_previous(payload, json.loads(previous_file.read_text(encoding="utf-8")))
    md = markdown(payload, args)
    write_results(args.results_dir, "scale", payload, md)
    print(md)
    logger.info("%.0fs in all", payload["total_s"])


if __name__ == "__main__":
    main()
