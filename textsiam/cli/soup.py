"""``textsiam soup``: a greedy model soup (weight average) of fine-tuned models, chosen on dev data."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from textsiam.cli import common
from textsiam.io_utils import atomic_open

logger = logging.getLogger("textsiam")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam soup``."""
    p = common.add_command(
        subparsers,
        "soup",
        help="average the weights of fine-tuned models (greedy soup on dev)",
        description="Greedy model soup (Wortsman et al., ICML 2022): score every model on the dev split, then "
        "from the best down add a model to the weight average if the dev score does not drop. The models must "
        "share an architecture and start model, e.g. the runs of a learning-rate sweep.",
    )
    p.add_argument("models", nargs="+", help="saved model directories (two or more)")
    p.add_argument("--dev-dataset", "-d", required=True, help="dataset whose dev split picks the soup (e.g. sick)")
    p.add_argument("--dev-split", default="dev", help="split of --dev-dataset (default: dev; test is refused)")
    p.add_argument("--data-dir", default=None, help="folder with the datasets (default: $TEXTSIAM_DATA, else Hub)")
    p.add_argument("--batch-size", type=common.positive_int, default=64)
    p.add_argument("--output", "-o", required=True, help="directory to save the soup to (with soup.json)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    p.set_defaults(func=cmd_soup)


def cmd_soup(args: argparse.Namespace) -> int:
    """Save the soup (with ``soup.json``, the trials) and print which models it kept."""
    import json

    from textsiam.evaluation import make_dev_metric
    from textsiam.training.averaging import soup_models

    out = Path(args.output)
    common.check_not_an_input(out, *args.models, what="input model")
    common.check_output_dir(out, args.overwrite)  # before the (long) evaluation of every model
    if args.dev_split == "test":
        raise ValueError("--dev-split test: a soup is chosen on dev data, never on the test split")
    common.hush_transformers(args)
    metric = make_dev_metric(args.dev_dataset, args.data_dir, split=args.dev_split, batch_size=args.batch_size)
    model, report = soup_models(args.models, metric)
    with common.naming(out):
        path = model.save(out, overwrite=args.overwrite)
    with common.naming(path / "soup.json"), atomic_open(path / "soup.json", "w", overwrite=args.overwrite) as fh:
        json.dump({"dev_dataset": args.dev_dataset, "dev_split": args.dev_split, **report.to_dict()}, fh, indent=2)
    print(f"soup of {len(report.soup_members)} model(s), dev {report.metric_name}: {report.final_dev:.2f}")
    for trial in report.trials:
        print(f"  {'kept   ' if trial['kept'] else 'dropped'} {' + '.join(trial['members'])}: {trial['dev']:.2f}")
    logger.info("saved the soup to %s", path)
    return 0
