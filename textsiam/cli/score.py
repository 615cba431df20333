"""``textsiam score``: the similarity of two texts, or of every pair in a TSV file."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, TextIO

from textsiam.cli import common
from textsiam.io_utils import atomic_open, check_output

logger = logging.getLogger("textsiam")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam score``."""
    p = common.add_command(subparsers, "score", help="score two texts, or a TSV file of pairs")
    p.add_argument("texts", nargs="*", help="two texts to compare")
    p.add_argument("--pairs", help="TSV file: text_a<TAB>text_b per line (a 'text_a<TAB>text_b' header is skipped)")
    p.add_argument("--output", "-o", help="write text_a, text_b, score as TSV here (default: stdout)")
    p.add_argument("--similarity", choices=["cosine", "dot", "euclidean", "manhattan", "malstm"])
    p.add_argument("--chunk-size", type=common.positive_int, default=10_000, help="pairs read into memory at a time")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    common.add_model_options(p)
    common.add_engine_options(p)
    p.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace) -> int:
    """Print the score of two texts, or write ``text_a, text_b, score`` for a file of pairs (streamed)."""
    from textsiam.texts import batched

    if args.engine == "ray":
        return common.run_on_ray(args, "score")
    if args.pairs is None:
        if len(args.texts) != 2:
            raise ValueError("give two texts to score, or --pairs FILE")
        return score_two(args)
    if args.texts:
        raise ValueError("give either two texts or --pairs FILE, not both")
    pairs_path = common.input_file(args.pairs, "pairs file")
    if args.output:
        common.check_not_an_input(args.output, pairs_path)
        check_output(args.output, args.overwrite)
    # first pass: validate the whole file and count it (for the progress bar) without holding the pairs
    total = common.count(common.read_pairs(pairs_path))
    model = common.load_model(args)
    from tqdm.auto import tqdm

    def run(out: TextIO) -> int:
        # streams: one chunk of pairs in memory at a time, whatever the size of the file
        out.write("text_a\ttext_b\tscore\n")
        n = 0
        with tqdm(total=total, desc="Scoring", unit="pair", disable=args.quiet) as bar:
            for chunk in batched(common.read_pairs(pairs_path), args.chunk_size):
                scores = model.similarity([c[1] for c in chunk], [c[2] for c in chunk], batch_size=args.batch_size)
                out.write("".join(f"{a}\t{b}\t{s:.6f}\n" for (_, a, b), s in zip(chunk, scores, strict=True)))
                n += len(chunk)
                bar.update(len(chunk))
        return n

    if args.output:
        with common.naming(args.output), atomic_open(args.output, overwrite=args.overwrite) as out:
            n = run(out)
        logger.info("wrote %d scores to %s", n, args.output)
    else:
        run(sys.stdout)
    return 0


def score_two(args: argparse.Namespace) -> int:
    """Print the score of the two texts; with ``--output``, write it as ``--pairs`` does instead (TSV with a
    ``text_a, text_b, score`` header, written atomically; a tab or line break inside a text becomes a space)."""
    if args.output:
        check_output(args.output, args.overwrite)
    model = common.load_model(args)
    score = model.similarity(args.texts[0], args.texts[1])
    if not args.output:
        print(f"{score:.6f}")
        return 0
    a, b = (" ".join(text.replace("\t", " ").splitlines()) for text in args.texts)
    with common.naming(args.output), atomic_open(args.output, overwrite=args.overwrite) as out:
        out.write(f"text_a\ttext_b\tscore\n{a}\t{b}\t{score:.6f}\n")
    logger.info("wrote 1 score to %s", args.output)
    return 0
