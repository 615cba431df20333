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
    common.check_not_an_input(args.output, src)
    check_output(args.output, args.overwrite)
    if not str(args.output).endswith(".npy"):
        raise ValueError(f"--output must end with .npy, got {args.output}")
    n = common.count(common.read_lines(src))  # first pass: count (and validate UTF-8) without holding the text
    model = common.load_model(args)
    import numpy as np
    from tqdm.auto import tqdm

    with (
        common.naming(args.output),
        atomic_path(args.output, overwrite=args.overwrite) as tmp,
        open(tmp, "wb") as fh,
        tqdm(total=n, desc="Encoding", unit="text", disable=args.quiet) as bar,
    ):
        write_npy_header(fh, (n, model.embedding_dim))
        reserve_space(fh, fh.tell() + 4 * n * model.embedding_dim, tmp)
        rows = 0
        for chunk in batched(common.read_lines(src), args.chunk_size):
            emb = model.encode([t for _, t in chunk], batch_size=args.batch_size)
            fh.write(np.ascontiguousarray(emb, dtype="<f4").tobytes())
            rows += len(chunk)
            bar.update(len(chunk))
        if rows != n:
            raise ValueError(f"{src} changed while it was encoded: {n} lines counted, {rows} read")
    logger.info("wrote %d x %d embeddings to %s", n, model.embedding_dim, args.output)
    return 0


def write_npy_header(fh: Any, shape: tuple[int, int]) -> None:
    """The ``.npy`` header of a C-ordered little-endian float32 array of ``shape``; the rows follow it as raw bytes.

    The rows are written in order with ``write``, not through a memory map: on a full disk a write to a mapped
    page kills the process (``SIGBUS``) where ``write`` raises ``OSError``.
    """
    import numpy as np

    header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(fh, header)


def reserve_space(fh: Any, size: int, path: Any) -> None:
    """Allocate ``size`` bytes for the file before anything is encoded, so a full disk fails now, not hours later.

    Best effort: a file system that cannot allocate ahead (``EOPNOTSUPP``, ``EINVAL``) is left to fail, if it does,
    at a later ``write``; ``ENOSPC`` is an ``OSError`` naming the file and the size.
    """
    import errno
    import os

    if not hasattr(os, "posix_fallocate"):
        return
    fh.flush()
    try:
        os.posix_fallocate(fh.fileno(), 0, size)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise OSError(
                err.errno, f"{os.strerror(err.errno)} (the embeddings need {size / 1e9:.2f} GB)", str(path)
            ) from err
        # the file system cannot allocate ahead: a full disk will show at a write instead
