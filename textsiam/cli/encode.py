"""``textsiam encode``: embed a text file, one text per line, into a ``.npy`` matrix (streamed)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from textsiam.cli import common
from textsiam.io_utils import atomic_path, check_output

logger = logging.getLogger("textsiam")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam encode``."""
    p = common.add_command(subparsers, "encode", help="embed a text file, one text per line, into a .npy matrix")
    p.add_argument("input")
    p.add_argument("--output", "-o", required=True, help="output .npy file, (N, D) float32")
    p.add_argument("--chunk-size", type=common.positive_int, default=10_000, help="lines read into memory at a time")
    p.add_argument("--overwrite", action="store_true")
    common.add_model_options(p)
    common.add_engine_options(p)
    p.set_defaults(func=cmd_encode)


def cmd_encode(args: argparse.Namespace) -> int:
    """Write the ``(N, D)`` float32 embeddings of the file's lines, one chunk of lines in memory at a time."""
    from textsiam.texts import batched

    if args.engine == "ray":
        return common.run_on_ray(args, "encode")
    src = common.input_file(args.input)
    check_output(args.output, args.overwrite)
    if not str(args.output).endswith(".npy"):
        raise ValueError(f"--output must end with .npy, got {args.output}")
    n = common.count(common.read_lines(src))  # first pass: count (and validate UTF-8) without holding the text
    model = common.load_model(args)
    import numpy as np
    from tqdm.auto import tqdm

    with common.naming(args.output), atomic_path(args.output, overwrite=args.overwrite) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, model.embedding_dim))
        row = 0
        with tqdm(total=n, desc="Encoding", unit="text", disable=args.quiet) as bar:
            for chunk in batched(common.read_lines(src), args.chunk_size):
                emb = model.encode([t for _, t in chunk], batch_size=args.batch_size)
                out[row : row + len(chunk)] = emb
                row += len(chunk)
                bar.update(len(chunk))
        out.flush()
        del out
    logger.info("wrote %d x %d embeddings to %s", n, model.embedding_dim, args.output)
    return 0
