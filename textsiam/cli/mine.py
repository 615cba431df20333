"""``textsiam mine``: near-duplicate pairs among the lines of a text file (faiss index)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textsiam.cli import common
from textsiam.io_utils import atomic_open, check_output

logger = logging.getLogger("textsiam")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam mine``."""
    p = common.add_command(
        subparsers,
        "mine",
        help="find near-duplicate texts in a file, one text per line (faiss index)",
        description="Mine near-duplicates: every line's top-k most similar lines, and the pairs with a cosine "
        "similarity of at least --threshold, written as TSV i, j (0-based line numbers, i < j), score, text_a, "
        "text_b, best first. Exact search below 100k lines, an HNSW graph above (see --index).",
    )
    positive_int = common.positive_int
    p.add_argument("input", help="text file, one text per line (UTF-8)")
    p.add_argument("--output", "-o", required=True, help="TSV of pairs: i, j, score, text_a, text_b")
    p.add_argument(
        "--threshold", "-t", type=common.finite_float, default=0.8, help="lowest score of a reported pair (0.8)"
    )
    p.add_argument(
        "--top-k", "-k", type=positive_int, default=10, help="neighbours searched per text (10; at most all others)"
    )
    p.add_argument("--index", choices=["auto", "flat", "hnsw", "ivf"], default="auto", help="auto: flat < 100k, hnsw")
    p.add_argument("--precision", choices=["float16", "int8", "float32"], default="float16")
    p.add_argument(
        "--ef-search",
        type=positive_int,
        default=128,
        help="HNSW candidates per query (more: slower, more exact; at least top-k + 1, at most the lines)",
    )
    p.add_argument(
        "--nprobe", type=positive_int, default=None, help="IVF lists searched per text (default max(32, nlist/16))"
    )
    p.add_argument("--calibrated", action="store_true", help="threshold and scores on the model's calibrated scale")
    p.add_argument("--work-dir", default=None, help="keep the memory-mapped embeddings here (default: a temp dir)")
    p.add_argument("--chunk-size", type=positive_int, default=10_000, help="lines read, encoded and searched at a time")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    common.add_model_options(p)
    p.set_defaults(func=cmd_mine, batch_size=32)  # smaller batches: less transient memory, as fast on a CPU


#: Pairs converted to text and written at a time by :func:`write_pairs`.
WRITE_BLOCK = 50_000


class LineTexts:
    """The lines of a text file as a lazily read iterable of texts with a known length (for progress bars)."""

    def __init__(self, path: Path, n: int) -> None:
        self.path = path
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[str]:
        return (text for _, text in common.read_lines(self.path))


def cmd_mine(args: argparse.Namespace) -> int:
    """Write the near-duplicate pairs of the file's lines as TSV ``i, j, score, text_a, text_b``."""
    from textsiam.mining import check_mining_args, mine_duplicates
    from textsiam.mining.args import check_neighbour_memory

    src = common.input_file(args.input)
    common.check_not_an_input(args.output, src)
    check_output(args.output, args.overwrite)
    check_mining_args(  # bad arguments (e.g. a cosine threshold outside [-1, 1]) fail before the model loads
        threshold=args.threshold,
        top_k=args.top_k,
        index=args.index,
        precision=args.precision,
        chunk_size=args.chunk_size,
        nprobe=args.nprobe,
        ef_search=args.ef_search,
        calibrated=args.calibrated,
        work_dir=args.work_dir,
    )
    n = common.count(common.read_lines(src))  # first pass: count and validate UTF-8 without holding the text
    check_neighbour_memory(n, args.top_k)  # -k beyond the corpus is fine (clamped), beyond the memory is not
    model = common.load_model(args)
    if args.calibrated:
        from textsiam.calibration import NotCalibratedError
        from textsiam.mining import mining_calibrator

        try:
            mining_calibrator(model)
        except NotCalibratedError as err:
            raise ValueError(str(err)) from err
    result = mine_duplicates(
        LineTexts(src, n),
        model,
        threshold=args.threshold,
        top_k=args.top_k,
        index=args.index,
        precision=args.precision,
        batch_size=args.batch_size,
        chunk_size=args.chunk_size,
        calibrated=args.calibrated,
        work_dir=args.work_dir,
        nprobe=args.nprobe,
        ef_search=args.ef_search,
        show_progress_bar=not args.quiet,
    )
    write_pairs(args, src, result)
    st = result.stats
    logger.info(
        "wrote %d pairs (score >= %g, top-%d, %s) among %d texts to %s; encode %.1f s, index %.1f s, search %.1f s",
        len(result),
        args.threshold,
        st["top_k"],
        st.get("index_factory"),
        st["n_texts"],
        args.output,
        st["encode_s"],
        st["index_s"],
        st["search_s"],
    )
    return 0


def write_pairs(args: argparse.Namespace, src: Path, result: Any) -> None:
    """Write ``result``'s pairs with their texts (read again: only the texts that occur in a pair are kept).

    A block of :data:`WRITE_BLOCK` pairs at a time: Python lists of all 7M pairs of a 1M-line corpus would take
    about 1 GB. The texts sit in a numpy object array, so a block's texts are gathered in C and each line is one
    f-string (7.2M lines: about a third less time than a dictionary lookup and a cleaning call per text).
    """
    import numpy as np

    n = result.stats["n_texts"]
    needed = np.zeros(n, dtype=bool)
    needed[result.pairs.ravel()] = True
    texts = np.empty(n, dtype=object)  # one pointer per line; strings only for the lines in a pair
    for i, (_, text) in enumerate(common.read_lines(src)):
        if i < n and needed[i]:
            texts[i] = text.replace("\t", " ")  # a tab inside a text would shift the columns
    with common.naming(args.output), atomic_open(args.output, overwrite=args.overwrite) as out:
        out.write("i\tj\tscore\ttext_a\ttext_b\n")
        for start in range(0, len(result.scores), WRITE_BLOCK):
            pairs = result.pairs[start : start + WRITE_BLOCK]
            columns = (
                pairs[:, 0].tolist(),
                pairs[:, 1].tolist(),
                result.scores[start : start + WRITE_BLOCK].tolist(),
                texts[pairs[:, 0]].tolist(),
                texts[pairs[:, 1]].tolist(),
            )
            out.write(
                "".join([f"{i}\t{j}\t{score:.6f}\t{a}\t{b}\n" for i, j, score, a, b in zip(*columns, strict=True)])
            )
