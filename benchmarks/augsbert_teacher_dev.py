"""Which teacher labels best, on dev only (issue #26): trained models, alone and in every ensemble of them.

Before a silver run spends an hour on a student, its teacher should be better than the student's own plain recipe on
dev. This scores each given model (twin towers by cosine, cross-encoders by ``predict``) on the dataset's dev pairs,
and every ensemble of two or more of them as a silver run labels (:class:`benchmarks.augsbert_teacher_ensemble.
EnsembleTeacher`: each member mapped onto the gold scale by a monotone fit on the gold training pairs, then averaged).
The dev metric is the report's (``benchmarks.augsbert_student``): STS-B Spearman, Quora and MRPC accuracy with the
threshold chosen on the dev pairs. The test sets are not read.

    python -m benchmarks.augsbert_teacher_dev --dataset stsb --models RUNS/stsb_plain/model RUNS/ce/model

Cost: one encoding (or cross-encoding) of the dev and gold training pairs per model; the ensembles reuse the scores.
"""

from __future__ import annotations

import argparse
import itertools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.augsbert_student_recipes import DATASETS
from benchmarks.augsbert_student_report import PRIMARY  # the dev metric of each dataset
from benchmarks.common import benchmark_parser, configure, markdown_table, resolve_data_dir, write_results

logger = logging.getLogger("benchmarks.augsbert_teacher_dev")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "augsbert")
    p.add_argument("--dataset", choices=DATASETS, required=True)
    p.add_argument("--models", nargs="+", required=True, metavar="MODEL_DIR", help="trained teachers (two or more)")
    p.add_argument("--mapping", choices=["isotonic", "linear"], default="isotonic", help="the runs' silver_mapping")
    p.add_argument("--seed", type=int, default=42, help="the runs' seed (draws the mapping's gold subsample)")
    p.add_argument("--results-name", default=None, help="result file name (default teacher_dev_DATASET)")
    args = p.parse_args(argv)
    if len(args.models) < 2:
        p.error(f"--models: an ensemble needs at least two models, got {len(args.models)}")
    args.data_dir = resolve_data_dir(args.data_dir)
    return args


def dev_metric(dataset: str, scores: np.ndarray, labels: np.ndarray) -> float:
    """×100: Spearman for STS-B, else accuracy at the threshold chosen on these pairs."""
    from scipy.stats import spearmanr

    from textsiam.evaluation.classification import classification_metrics, find_best_threshold

    if PRIMARY[dataset] == "spearman":
        return float(spearmanr(scores, labels).statistic) * 100
    binary = labels.astype(np.int64)
    return float(classification_metrics(scores, binary, find_best_threshold(scores, binary))["accuracy"])  # ×100


def candidates(dataset: str, models: Sequence[str], data_dir: str | None, mapping: str, seed: int) -> list[dict]:
    """Every model alone and every ensemble of two or more, each with its dev metric, in the order of ``models``."""
    from benchmarks.augsbert_teacher_ensemble import EnsembleTeacher
    from textsiam.data import load_pairs
    from textsiam.training.silver_labels import map_to_gold

    gold = load_pairs(dataset, "train", data_dir)
    dev = load_pairs(dataset, "dev", data_dir)
    ensemble = EnsembleTeacher(models, (gold["text_a"], gold["text_b"], gold["label"]), mapping=mapping, seed=seed)
    raw = ensemble.raw(list(dev["text_a"]), list(dev["text_b"]))  # (N, T)
    labels = np.asarray(list(dev["label"]), dtype=np.float64)
    kinds = [kind for _, kind, _ in ensemble.members]
    out = []
    for size in range(1, len(models) + 1):
        for members in itertools.combinations(range(len(models)), size):
            cols = list(members)  # a model alone: its own score; an ensemble: the mapped mean
            scores = (
                raw[:, cols[0]]
                if size == 1
                else map_to_gold(ensemble.gold_raw[:, cols], ensemble.gold_y, raw[:, cols], mapping)[1]
            )
            value = dev_metric(dataset, scores, labels)
            out.append({"members": cols, "kinds": [kinds[i] for i in cols], "dev": value})
            logger.info("%s: dev %s %.2f", " + ".join(models[i] for i in cols), PRIMARY[dataset], value)
    return out


def render(dataset: str, models: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    best = max(range(len(rows)), key=lambda i: rows[i]["dev"])
    lines = [
        f"Teacher candidates for {dataset} on its dev pairs ({PRIMARY[dataset]} ×100; ensembles: each member mapped "
        "onto the gold scale by a monotone fit on the gold training pairs, then averaged, as a silver run labels). "
        "The test set is not read.",
        "",
        "Models:",
        "",
        *(f"- {i}: `{m}`" for i, m in enumerate(models)),
        "",
    ]
    table = [
        (" + ".join(str(i) for i in r["members"]), ", ".join(r["kinds"]), f"{r['dev']:.2f}", "**best**" * (i == best))
        for i, r in enumerate(rows)
    ]
    lines += markdown_table(["members", "kinds", f"dev {PRIMARY[dataset]}", ""], table, "llrl")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    configure()
    args = parse_args(argv)
    rows = candidates(args.dataset, args.models, args.data_dir, args.mapping, args.seed)
    payload = {"dataset": args.dataset, "models": list(args.models), "mapping": args.mapping, "candidates": rows}
    name = args.results_name or f"teacher_dev_{args.dataset}"
    write_results(Path(args.results_dir), name, payload, render(args.dataset, args.models, rows))
    return payload


if __name__ == "__main__":
    main()
