"""``textsiam evaluate``: a model on STS-B, SICK, MRPC and Quora, with bootstrap confidence intervals."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from textsiam.cli import common
from textsiam.io_utils import check_output

logger = logging.getLogger("textsiam")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam evaluate``."""
    p = common.add_command(subparsers, "evaluate", help="evaluate a model on STS-B, SICK, MRPC, Quora")
    p.add_argument("--datasets", nargs="+", default=["stsb", "sick", "mrpc", "quora"])
    p.add_argument("--split", default="test")
    p.add_argument("--data-dir", default=None, help="folder with the datasets (default: $TEXTSIAM_DATA, else Hub)")
    p.add_argument("--output", "-o", help="write the results as JSON here")
    p.add_argument(
        "--n-resamples", type=common.non_negative_int, default=1000, help="bootstrap resamples for the CIs (0: none)"
    )
    p.add_argument("--seed", type=common.non_negative_int, default=0)
    p.add_argument("--overwrite", action="store_true")
    common.add_model_options(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print the results as a markdown table (and save them as JSON with ``--output``)."""
    from textsiam.evaluation import evaluate

    if args.output:
        check_output(args.output, args.overwrite)
    model = common.load_model(args)
    results = evaluate(
        model,
        args.datasets,
        split=args.split,
        data_dir=args.data_dir,
        batch_size=args.batch_size,
        n_resamples=args.n_resamples,
        seed=args.seed,
        show_progress_bar=not args.quiet,
    )
    print(results.to_markdown())
    if args.output:
        results.save(args.output)
        logger.info("wrote %s", args.output)
    return 0
