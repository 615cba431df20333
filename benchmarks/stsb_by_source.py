"""Where on STS-B two models differ: Spearman per source of the pairs (MSRpar, headlines, images, ...), on dev and test.

STS-B joins pairs from many SemEval sources, and its splits do not hold the same ones: the forum pairs of dev are
``answers-forums`` (2015), those of test ``answer-answer`` (2016), and train has neither (``deft-forum`` instead).
A recipe that gains on dev and loses on test (issue #26: every silver student so far) may gain and lose on
different sources. This scores each model (twin towers by cosine, cross-encoders by ``predict``) on every source of
dev and test, with a paired bootstrap of each model against the reference model (the first) per source. A model may
be a recipe trained several times (seeds: ``NAME=DIR1,DIR2,...``): its figure is the mean over its runs, and the
bootstrap also draws its runs (``textsiam.evaluation.bootstrap.paired_bootstrap_runs``), so the interval carries the
run-to-run variance of training as well.

    python -m benchmarks.stsb_by_source --models plain=RUNS/stsb_plain/model student=RUNS/stsb_silver/model
    python -m benchmarks.stsb_by_source --models st=S42/model,S43/model textsiam=T42/model,T43/model

Cost: one encoding of the dev and test pairs per run (a minute each on two cores).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import benchmark_parser, configure, markdown_table, resolve_data_dir, write_results

logger = logging.getLogger("benchmarks.stsb_by_source")

SPLITS = ("dev", "test")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "augsbert")
    p.add_argument(
        "--models",
        nargs="+",
        required=True,
        metavar="NAME=MODEL_DIR[,MODEL_DIR...]",
        help="the models (several folders: runs of one recipe), the first one the reference of the paired bootstraps",
    )
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples per source")
    p.add_argument("--results-name", default="stsb_by_source", help="result file name NAME.{json,md}")
    args = p.parse_args(argv)
    models: dict[str, list[str]] = {}
    for item in args.models:
        name, sep, paths = item.partition("=")
        runs = [path for path in paths.split(",") if path]
        if not sep or not name or not runs:
            p.error(f"--models: write NAME=MODEL_DIR[,MODEL_DIR...], got {item!r}")
        if name in models:
            p.error(f"--models: {name!r} given twice")
        models[name] = runs
    if len(models) < 2:
        p.error("--models: give at least two models (the first is the reference)")
    args.models = models
    args.data_dir = resolve_data_dir(args.data_dir)
    return args


def source_of(pair_id: str) -> str:
    """The SemEval file a pair comes from: ``pair_id`` is ``filename-year-sid`` (file names hold dashes)."""
    return pair_id.rsplit("-", 2)[0]


def spearman(gold: np.ndarray, scores: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(gold, scores).statistic)


def by_source(
    gold: np.ndarray, sources: Sequence[str], scores: dict[str, list[np.ndarray]], n_resamples: int, seed: int = 0
) -> list[dict[str, Any]]:
    """Per source (then ``all``), in order of first appearance: its pairs, each model's Spearman ×100 (the mean over
    its runs, whose scores ``scores[name]`` lists) and each other model's paired difference from the first model
    (×100, CI, p)."""
    from textsiam.evaluation.bootstrap import paired_bootstrap_runs

    names = list(scores)
    ref = names[0]
    sources = np.asarray(sources)
    rows = []
    for source in [*dict.fromkeys(sources.tolist()), "all"]:
        keep = np.ones(len(gold), dtype=bool) if source == "all" else sources == source
        row: dict[str, Any] = {"source": source, "pairs": int(keep.sum()), "spearman": {}, "vs_reference": {}}
        for name in names:
            row["spearman"][name] = float(np.mean([spearman(gold[keep], run[keep]) for run in scores[name]])) * 100
        for name in names[1:]:
            test = paired_bootstrap_runs(
                spearman,
                gold[keep],
                [run[keep] for run in scores[ref]],
                [run[keep] for run in scores[name]],
                n_resamples=n_resamples,
                seed=seed,
            )
            row["vs_reference"][name] = {
                "difference": test.difference * 100,
                "low": test.low * 100,
                "high": test.high * 100,
                "p_value": test.p_value,
            }
        rows.append(row)
    return rows


def score_splits(
    models: dict[str, list[str]], data_dir: str | None
) -> dict[str, tuple[np.ndarray, list[str], dict[str, list[np.ndarray]]]]:
    """Per split: the gold scores, the source of each pair and the scores of its pairs by each run of each model
    (each run loaded once for both splits)."""
    from textsiam.data import load_pairs
    from textsiam.training.silver_teachers import resolve_teachers, score_pairs

    data = {split: load_pairs("stsb", split, data_dir) for split in SPLITS}
    out = {
        split: (
            np.asarray(list(pairs["label"]), dtype=np.float64),
            [source_of(p) for p in pairs["pair_id"]],
            {name: [] for name in models},
        )
        for split, pairs in data.items()
    }
    for name, paths in models.items():
        for path in paths:
            (teacher,) = resolve_teachers([path])
            model = teacher.load()
            for split, pairs in data.items():
                out[split][2][name].append(
                    score_pairs(model, teacher.kind, list(pairs["text_a"]), list(pairs["text_b"]), 64)
                )
                logger.info("%s %s: scored %d pairs (%s)", split, name, len(pairs), path)
    return out


def render(models: dict[str, list[str]], splits: dict[str, list[dict[str, Any]]]) -> str:
    names = list(models)
    ref = names[0]
    lines = [
        "STS-B Spearman ×100 per source of the pairs. Each cell after the reference: the model's Spearman, then its "
        f"difference from the reference `{ref}` with the 95% CI and p of a paired bootstrap on that source's pairs. "
        "A model of several runs: the mean over them, and the bootstrap draws its runs too.",
        "",
        "Models:",
        "",
        *(f"- `{n}`: " + ", ".join(f"`{p}`" for p in paths) for n, paths in models.items()),
        "",
    ]
    for split, rows in splits.items():
        lines += [f"**{split}**", ""]
        table = []
        for r in rows:
            cells = [r["source"], str(r["pairs"]), f"{r['spearman'][ref]:.2f}"]
            for name in names[1:]:
                d = r["vs_reference"][name]
                cells.append(
                    f"{r['spearman'][name]:.2f} ({d['difference']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}], "
                    f"p = {d['p_value']:.3f})"
                )
            table.append(cells)
        lines += markdown_table(["source", "pairs", ref, *names[1:]], table, "lr" + "r" * len(names))
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    configure()
    args = parse_args(argv)
    splits = {
        split: by_source(gold, sources, scores, args.n_resamples)
        for split, (gold, sources, scores) in score_splits(args.models, args.data_dir).items()
    }
    payload = {"models": args.models, "reference": next(iter(args.models)), "splits": splits}
    write_results(Path(args.results_dir), args.results_name, payload, render(args.models, splits))
    return payload


if __name__ == "__main__":
    main()
