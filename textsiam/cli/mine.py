"""``textsiam mine``: near-duplicate pairs among the lines of a text file (faiss index), optionally re-ranked by a
cross-encoder (``--rerank``, :func:`textsiam.mining.rerank_pairs`)."""

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
        "text_b, best first. Exact search below 100k lines, an HNSW graph above (see --index). With --rerank, a "
        "cross-encoder re-scores every mined pair: a rerank_score column after score, and the pairs ordered by it "
        "(with --rerank-twin-weight, by a mix of both scores: a fused_score column).",
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
    r = p.add_argument_group(
        "re-ranking",
        "re-score the mined pairs with a cross-encoder, and order them by its score (rerank_score) or by a mix of "
        "both scores (--rerank-twin-weight)",
    )
    r.add_argument("--rerank", metavar="MODEL", default=None, help="cross-encoder folder or Hub name")
    r.add_argument(
        "--rerank-batch-size", type=positive_int, default=None, help="pairs per forward pass of the cross-encoder (32)"
    )
    r.add_argument(
        "--rerank-threshold",
        type=common.finite_float,
        default=None,
        help="keep the pairs whose cross-encoder score is at least this (default: all)",
    )
    r.add_argument(
        "--rerank-twin-weight",
        type=common.finite_float,
        default=None,
        metavar="W",
        help="order by (1-W)*z(rerank_score) + W*z(score), each standardised over all mined pairs, before "
        "--rerank-threshold (a fused_score column); W in [0, 1], default 0: the cross-encoder alone",
    )
    common.add_positive_label_option(r)
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
    """Write the near-duplicate pairs of the file's lines as TSV ``i, j, score, text_a, text_b``; with ``--rerank``,
    re-scored by the cross-encoder (a ``rerank_score`` column after ``score``) and ordered by it, or with
    ``--rerank-twin-weight`` by a mix of both scores (a ``fused_score`` column)."""
    from textsiam.mining import check_mining_args, mine_duplicates, rerank_pairs
    from textsiam.mining.args import check_neighbour_memory
    from textsiam.mining.rerank import check_twin_weight, pair_texts

    src = common.input_file(args.input)
    common.check_not_an_input(args.output, src)
    check_output(args.output, args.overwrite)
    check_rerank_options(args)
    twin_weight = 0.0
    if args.rerank_twin_weight is not None:
        try:
            twin_weight = check_twin_weight(args.rerank_twin_weight)
        except ValueError as err:
            raise ValueError(f"--rerank-twin-weight: {err}") from err
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
    reranker = load_reranker(args) if args.rerank is not None else None  # a wrong model or label fails before mining
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
    texts = pair_texts(result.pairs, n, (text for _, text in common.read_lines(src)))  # the texts of the pairs only
    if reranker is not None:
        result = rerank_pairs(
            result,
            texts,
            reranker,
            threshold=args.rerank_threshold,
            batch_size=args.rerank_batch_size or DEFAULT_RERANK_BATCH_SIZE,
            chunk_size=args.chunk_size,
            positive_label=common.positive_label(args.positive_label),
            twin_weight=twin_weight,
            show_progress_bar=None if not args.quiet else False,
        )
    write_pairs(args, src, result, texts)
    st = result.stats
    reranked = f", re-ranked in {st['rerank_s']:.1f} s" if reranker is not None else ""
    logger.info(
        "wrote %d pairs (score >= %g, top-%d, %s) among %d texts to %s; encode %.1f s, index %.1f s, search %.1f s%s",
        len(result),
        args.threshold,
        st["top_k"],
        st.get("index_factory"),
        st["n_texts"],
        args.output,
        st["encode_s"],
        st["index_s"],
        st["search_s"],
        reranked,
    )
    return 0


#: ``--rerank-batch-size`` when it is not given.
DEFAULT_RERANK_BATCH_SIZE = 32


def check_rerank_options(args: argparse.Namespace) -> None:
    """``ValueError`` for a re-ranking option without ``--rerank`` (before any model loads)."""
    if args.rerank is not None:
        return
    given = {
        "--rerank-batch-size": args.rerank_batch_size,
        "--rerank-threshold": args.rerank_threshold,
        "--rerank-twin-weight": args.rerank_twin_weight,
        "--positive-label": args.positive_label,
    }
    for option, value in given.items():
        if value is not None:
            raise ValueError(f"{option} applies to re-ranking: give the cross-encoder with --rerank MODEL")


def load_reranker(args: argparse.Namespace) -> Any:
    """The cross-encoder of ``--rerank``, checked to give one score per pair (``--positive-label``).

    Raises:
        ValueError: a model that cannot be loaded or is no cross-encoder (a twin tower: its scores would come from a
            new, untrained head), or a head of several labels without a usable ``--positive-label``.
    """
    from textsiam.mining.rerank import check_reranker

    settings = argparse.Namespace(
        model=args.rerank, quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False)
    )
    reranker = common.load_cross_encoder(settings)
    try:
        check_reranker(reranker, common.positive_label(args.positive_label))
    except TypeError as err:
        raise ValueError(f"--rerank {args.rerank}: {err}") from err
    return reranker


def write_pairs(args: argparse.Namespace, src: Path, result: Any, texts: Any = None) -> None:
    """Write ``result``'s pairs with their texts: ``i, j, score[, rerank_score[, fused_score]], text_a, text_b``.

    ``texts``: the texts of the pairs (:func:`textsiam.mining.rerank.pair_texts`: an object array, one entry per
    line); default: ``src`` read again, keeping only the texts that occur in a pair. A ``rerank_score`` column is
    written when ``result`` was re-ranked (its ``rerank_scores`` is set), and a ``fused_score`` column when the
    re-ranking mixed in the twin tower (``fused_scores``).

    A block of :data:`WRITE_BLOCK` pairs at a time: Python lists of all 7M pairs of a 1M-line corpus would take
    about 1 GB. The texts sit in a numpy object array, so a block's texts are gathered in C and each line is one
    f-string (7.2M lines: about a third less time than a dictionary lookup and a cleaning call per text).
    """
    import numpy as np

    from textsiam.mining.rerank import pair_texts

    n = result.stats["n_texts"]
    if texts is None:
        texts = pair_texts(result.pairs, n, (text for _, text in common.read_lines(src)))
    shown = texts.copy()  # pointers; a new string only for a text with a tab, which would shift the columns
    tabbed = np.fromiter((isinstance(t, str) and "\t" in t for t in texts), dtype=bool, count=len(texts))
    for row in np.flatnonzero(tabbed).tolist():
        shown[row] = texts[row].replace("\t", " ")
    extra = {
        name: values
        for name, values in (
            ("rerank_score", getattr(result, "rerank_scores", None)),
            ("fused_score", getattr(result, "fused_scores", None)),
        )
        if values is not None
    }
    with common.naming(args.output), atomic_open(args.output, overwrite=args.overwrite) as out:
        out.write("i\tj\tscore\t" + "".join(f"{name}\t" for name in extra) + "text_a\ttext_b\n")
        for start in range(0, len(result.scores), WRITE_BLOCK):
            block = slice(start, start + WRITE_BLOCK)
            pairs = result.pairs[block]
            rows, scores = pairs.tolist(), result.scores[block].tolist()
            text_a, text_b = shown[pairs[:, 0]].tolist(), shown[pairs[:, 1]].tolist()
            if not extra:
                columns = zip(rows, scores, text_a, text_b, strict=True)
                out.write("".join([f"{i}\t{j}\t{s:.6f}\t{a}\t{b}\n" for (i, j), s, a, b in columns]))
            else:  # the extra scores joined into one field each line
                blocks = [values[block].tolist() for values in extra.values()]
                more = ["\t".join(f"{v:.6f}" for v in row) for row in zip(*blocks, strict=True)]
                columns_more = zip(rows, scores, more, text_a, text_b, strict=True)
                out.write("".join([f"{i}\t{j}\t{s:.6f}\t{r}\t{a}\t{b}\n" for (i, j), s, r, a, b in columns_more]))
