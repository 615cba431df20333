"""``textsiam train``: fine-tune a model from a YAML/JSON config (every field can be overridden)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from textsiam.cli import common


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam train``."""
    p = common.add_command(
        subparsers,
        "train",
        help="fine-tune a model from a YAML/JSON config",
        description="Fine-tune a Siamese model (or a cross-encoder: model_type=cross_encoder). Every config field "
        "can be overridden with --set key=value "
        "(lists as a,b,c or JSON; dict entries as loss_kwargs.scale=20; alias lr=learning_rate). "
        "See --list-options for the fields.",
    )
    p.add_argument("--config", "-c", help="YAML or JSON config file (default: the built-in defaults)")
    p.add_argument(
        "--set",
        "-s",
        action="append",
        nargs="+",
        metavar="KEY=VALUE",
        help="override config fields, e.g. --set lr=3e-5 epochs=2 (repeatable)",
    )
    p.add_argument("--output-dir", "-o", help="run folder (same as --set output_dir=DIR)")
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CHECKPOINT",
        help="continue from the latest checkpoint in OUTPUT_DIR/checkpoints (or from CHECKPOINT)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in a non-empty output dir")
    p.add_argument("--list-options", action="store_true", help="print every config field with its help and exit")
    common.add_column_options(p)
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Train; print the test results (if the config asks for them) and where the model was saved."""
    import shlex

    from textsiam.training import TrainConfig, describe_fields, train

    if args.list_options:
        print(describe_fields())
        return 0
    config = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    overrides = [item for group in args.set or [] for item in group]
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    for field, value in (
        ("text_a_column", args.text_a_column),
        ("text_b_column", args.text_b_column),
        ("label_column", args.label_column),
    ):
        if value is not None:
            overrides.append(f"{field}={value}")
    config = config.with_overrides(overrides) if overrides else config
    config.validate()
    common.hush_transformers(args)
    argv = getattr(args, "argv", None)
    command = shlex.join(["textsiam", *argv]) if argv is not None else None
    resume = args.resume if args.resume is not None else False
    result = train(config, resume=resume, overwrite=args.overwrite, command=command, show_progress=not args.quiet)
    if os.environ.get("RANK", "0") != "0":  # torchrun: only the main process reports
        return 0
    if result.evaluation is not None:
        print(result.evaluation.to_markdown())
    print(f"model saved to {result.model_dir}")
    return 0
