"""``textsiam export``: a model as ONNX for fast CPU inference with ONNX Runtime (optionally int8)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from textsiam.cli import common

logger = logging.getLogger("textsiam")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam export``."""
    p = common.add_command(
        subparsers,
        "export",
        help="export a model for fast CPU inference (ONNX Runtime, optionally int8)",
        description="Export a model to ONNX for ONNX Runtime (load it back with SiameseModel.from_pretrained(DIR)). "
        "Needs the optional extra: pip install 'textsiam[onnx]'.",
    )
    p.add_argument("--model", "-m", default=None, help="model directory or Hub name (default: all-MiniLM-L6-v2)")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="export format (default: onnx)")
    p.add_argument("--quantize", choices=["none", "int8"], default="none", help="int8: dynamic int8 weights")
    p.add_argument("--output", "-o", required=True, help="directory to write the exported model to")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Load the model with the export backend (which converts it) and save it to ``--output``."""
    out = Path(args.output)
    common.check_not_an_input(out, args.model, what="input model")
    common.check_output_dir(out, args.overwrite)
    common.hush_transformers(args)
    quantize = None if args.quantize == "none" else args.quantize
    model = common.from_pretrained(args.model, backend=args.format, quantize=quantize, device="cpu")
    with common.naming(out):
        path = model.save(out, overwrite=args.overwrite)
    logger.info("exported %s (%s, quantize=%s) to %s", model.name_or_path, args.format, quantize, path)
    return 0
