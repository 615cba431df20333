"""``textsiam evaluate``: a model on STS-B, SICK, MRPC and Quora, with bootstrap confidence intervals.

``--model`` may name a cross-encoder: a folder whose ``config.json`` names a ``...ForSequenceClassification``
architecture (what a sentence-transformers or textsiam ``CrossEncoder`` saves; :func:`common.is_cross_encoder_model`)
is loaded as one and evaluated on the tasks that score given pairs (``sts``, ``classification``, ``triplet``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import Any

from textsiam.cli import common
from textsiam.io_utils import check_output

logger = logging.getLogger("textsiam")

#: What ``textsiam evaluate`` runs when neither ``--datasets`` nor ``--pairs`` is given.
DEFAULT_BENCHMARKS = ("stsb", "sick", "mrpc", "quora")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam evaluate``."""
    p = common.add_command(
        subparsers,
        "evaluate",
        help="evaluate a model on STS-B, SICK, MRPC, Quora, or on your own pairs",
        description="Evaluate a model on benchmark datasets (--datasets) and/or your own files (--pairs, a "
        "CSV/TSV/JSONL/JSON file each, in any of sentence-transformers' formats; the task of each follows from its "
        "columns and labels unless --task is given: graded scores -> sts, 0/1 -> classification, anchor/positive -> "
        "paired_retrieval, anchor/positive/negative -> triplet, text/label -> label_retrieval). A cross-encoder "
        "folder (config.json with a ...ForSequenceClassification architecture) as --model is evaluated as one, on "
        "the sts, classification and triplet tasks.",
    )
    p.add_argument(
        "--datasets", nargs="+", default=None, help="benchmark names (default: stsb sick mrpc quora, without --pairs)"
    )
    p.add_argument("--pairs", nargs="+", default=[], metavar="FILE", help="your own pair files to evaluate")
    p.add_argument(
        "--task",
        choices=["sts", "classification", "retrieval", "triplet", "paired_retrieval", "label_retrieval"],
        default=None,
        help="task of every --pairs file (default: from each file's columns and labels)",
    )
    p.add_argument(
        "--dev-pairs", default=None, metavar="FILE", help="classification: pairs to choose the thresholds on"
    )
    p.add_argument("--split", default="test")
    p.add_argument("--data-dir", default=None, help="folder with the datasets (default: $TEXTSIAM_DATA, else Hub)")
    p.add_argument("--output", "-o", help="write the results as JSON here")
    p.add_argument(
        "--n-resamples", type=common.non_negative_int, default=1000, help="bootstrap resamples for the CIs (0: none)"
    )
    p.add_argument("--seed", type=common.non_negative_int, default=0)
    p.add_argument("--overwrite", action="store_true")
    common.add_positive_label_option(p)
    common.add_model_options(p)
    common.add_column_options(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the results as a markdown table (and save them as JSON with ``--output``)."""
    from textsiam.evaluation import evaluate
    from textsiam.evaluation.results import protocol_for

    if args.output:
        common.check_not_an_input(args.output, *args.pairs, args.dev_pairs)
        check_output(args.output, args.overwrite)
    names, tables, task, dev_pairs = own_pairs(args)
    model = load_evaluated_model(args)
    options = {
        "split": args.split,
        "data_dir": args.data_dir,
        "batch_size": args.batch_size,
        "n_resamples": args.n_resamples,
        "seed": args.seed,
        "show_progress_bar": not args.quiet,
        "positive_label": common.positive_label(args.positive_label),
    }
    parts = []
    if names:
        parts.append(evaluate(model, names, **options))
    if tables:
        parts.append(evaluate(model, tables, task=task, dev_pairs=dev_pairs, **options))
    results = parts[0]
    if len(parts) > 1:  # benchmarks keep their own tasks; --task applies to --pairs only
        merged = results.results + parts[1].results
        results = dataclasses.replace(
            results,
            results=merged,
            wall_time_s=(results.wall_time_s or 0) + (parts[1].wall_time_s or 0),
            protocol=protocol_for(merged),
        )
    print(results.to_markdown())
    if args.output:
        results.save(args.output, overwrite=args.overwrite)
        logger.info("wrote %s", args.output)
    return 0


def own_pairs(args: argparse.Namespace) -> tuple[list[str], dict[str, Any], str | None, Any]:
    """``(benchmark names, {name: table}, task, dev_pairs)``: the ``--pairs`` files (each named after its file)
    are read, and their task settled, before the model loads."""
    from pathlib import Path

    from textsiam.data import load_table_from_file
    from textsiam.evaluation.inputs import infer_task

    columns = {"text_a": args.text_a_column, "text_b": args.text_b_column, "label": args.label_column}
    columns = {role: name for role, name in columns.items() if name is not None}  # the others: found by name

    def read(path: str) -> Any:
        return load_table_from_file(path, columns)

    names = args.datasets if args.datasets is not None else ([] if args.pairs else list(DEFAULT_BENCHMARKS))
    tables = {Path(path).stem: read(path) for path in args.pairs}
    if args.task is not None and not tables:
        raise ValueError("--task applies to --pairs (benchmarks have their own task)")
    for name, table in tables.items():  # settled (and checked) before the model loads
        logger.info("%s: task %s", name, args.task or infer_task(name, table))
    dev = read(args.dev_pairs) if args.dev_pairs else None
    return list(names), tables, args.task, dev


def load_evaluated_model(args: argparse.Namespace) -> Any:
    """The cross-encoder of ``--model`` when it is one (:func:`common.is_cross_encoder_model`), else the twin tower."""
    if common.is_cross_encoder_model(args.model):
        logger.info("%s is a cross-encoder: evaluating its scores of the pairs", args.model)
        return common.load_cross_encoder(args)
    return common.load_model(args)
