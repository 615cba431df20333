"""The ``textsiam`` command line: score, encode, evaluate, train, ..."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from textsiam.io_utils import atomic_open, atomic_path, check_output

logger = logging.getLogger("textsiam")

PAIR_HEADER = ("text_a", "text_b")


# ---------------------------------------------------------------------------------------------- helpers
def _load_model(args: argparse.Namespace):  # noqa: ANN202
    from textsiam.siamese import SiameseModel

    if getattr(args, "quiet", False):
        import transformers

        transformers.utils.logging.disable_progress_bar()
    kwargs = {}
    if getattr(args, "similarity", None):
        kwargs["similarity"] = args.similarity
    if getattr(args, "max_seq_length", None):
        kwargs["max_seq_length"] = args.max_seq_length
    return SiameseModel.from_pretrained(args.model, **kwargs)


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` lazily; a non-UTF-8 line raises with ``file:line``."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"{path}:{lineno}: not valid UTF-8 ({err.reason})") from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            yield lineno, line.rstrip("\r\n")


def _read_pairs(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line_number, text_a, text_b)`` from a TSV of pairs. A ``text_a<TAB>text_b`` header is skipped."""
    for lineno, line in _read_lines(path):
        fields = line.split("\t")
        if lineno == 1 and tuple(f.strip().lower() for f in fields[:2]) == PAIR_HEADER:
            continue
        if len(fields) < 2:
            raise ValueError(
                f"{path}:{lineno}: expected two tab-separated texts (text_a<TAB>text_b), found {len(fields)} field"
            )
        yield lineno, fields[0], fields[1]


def _chunks(it: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in it:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------------------------- commands
def cmd_score(args: argparse.Namespace) -> int:
    if args.pairs is None:
        if len(args.texts) != 2:
            raise ValueError("give two texts to score, or --pairs FILE")
        model = _load_model(args)
        print(f"{model.similarity(args.texts[0], args.texts[1]):.6f}")
        return 0
    if args.texts:
        raise ValueError("give either two texts or --pairs FILE, not both")
    pairs_path = Path(args.pairs)
    if not pairs_path.is_file():
        raise FileNotFoundError(f"pairs file not found: {pairs_path}")
    if args.output:
        check_output(args.output, args.overwrite)
    model = _load_model(args)
    from tqdm.auto import tqdm

    def run(out) -> int:  # noqa: ANN001
        out.write("text_a\ttext_b\tscore\n")
        n = 0
        bar = tqdm(desc="Scoring", unit="pair", disable=args.quiet)
        for chunk in _chunks(_read_pairs(pairs_path), args.chunk_size):
            scores = model.similarity([c[1] for c in chunk], [c[2] for c in chunk], batch_size=args.batch_size)
            for (_, a, b), s in zip(chunk, scores, strict=True):
                out.write(f"{a}\t{b}\t{s:.6f}\n")
            n += len(chunk)
            bar.update(len(chunk))
        bar.close()
        return n

    if args.output:
        with atomic_open(args.output) as out:
            n = run(out)
        logger.info("wrote %d scores to %s", n, args.output)
    else:
        run(sys.stdout)
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    src = Path(args.input)
    if not src.is_file():
        raise FileNotFoundError(f"input file not found: {src}")
    check_output(args.output, args.overwrite)
    if not str(args.output).endswith(".npy"):
        raise ValueError(f"--output must end with .npy, got {args.output}")
    n = sum(1 for _ in _read_lines(src))  # first pass: count (and validate UTF-8) without holding the text
    model = _load_model(args)
    from tqdm.auto import tqdm

    with atomic_path(args.output) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, model.embedding_dim))
        row = 0
        with tqdm(total=n, desc="Encoding", unit="text", disable=args.quiet) as bar:
            for chunk in _chunks(_read_lines(src), args.chunk_size):
                emb = model.encode([t for _, t in chunk], batch_size=args.batch_size)
                out[row : row + len(chunk)] = emb
                row += len(chunk)
                bar.update(len(chunk))
        out.flush()
        del out
    logger.info("wrote %d x %d embeddings to %s", n, model.embedding_dim, args.output)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from textsiam.evaluation import evaluate

    if args.output:
        check_output(args.output, args.overwrite)
    model = _load_model(args)
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


def cmd_train(args: argparse.Namespace) -> int:
    import shlex

    from textsiam.training import TrainConfig, describe_fields, train

    if args.list_options:
        print(describe_fields())
        return 0
    config = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    overrides = [item for group in args.set or [] for item in group]
    if args.output_dir:
        overrides.append(f"output_dir={args.output_dir}")
    config = config.with_overrides(overrides) if overrides else config
    config.validate()
    if args.quiet:
        import transformers

        transformers.utils.logging.disable_progress_bar()
    argv = getattr(args, "argv", None)
    command = shlex.join(["textsiam", *argv]) if argv is not None else None
    resume = args.resume if args.resume is not None else False
    result = train(config, resume=resume, overwrite=args.overwrite, command=command)
    if os.environ.get("RANK", "0") != "0":  # torchrun: only the main process reports
        return 0
    if result.evaluation is not None:
        print(result.evaluation.to_markdown())
    print(f"model saved to {result.model_dir}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from textsiam.siamese import SiameseModel

    out = Path(args.output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --overwrite to replace it")
    if args.quiet:
        import transformers

        transformers.utils.logging.disable_progress_bar()
    quantize = None if args.quantize == "none" else args.quantize
    try:
        model = SiameseModel.from_pretrained(args.model, backend=args.format, quantize=quantize, device="cpu")
    except ImportError as err:  # the optional onnx extra is missing: a clean one-line error
        raise ValueError(str(err)) from err
    path = model.save(out)
    logger.info("exported %s (%s, quantize=%s) to %s", model.name_or_path, args.format, quantize, path)
    return 0


# ---------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textsiam", description="Text similarity with Siamese networks.")
    parser.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", "-m", default=None, help="model directory or Hub name (default: all-MiniLM-L6-v2)")
        p.add_argument("--batch-size", type=int, default=64)
        p.add_argument("--max-seq-length", type=int, default=None)
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")

    p = sub.add_parser("score", help="score two texts, or a TSV file of pairs")
    p.add_argument("texts", nargs="*", help="two texts to compare")
    p.add_argument("--pairs", help="TSV file: text_a<TAB>text_b per line (a 'text_a<TAB>text_b' header is skipped)")
    p.add_argument("--output", "-o", help="write text_a, text_b, score as TSV here (default: stdout)")
    p.add_argument("--similarity", choices=["cosine", "dot", "euclidean", "manhattan", "malstm"])
    p.add_argument("--chunk-size", type=int, default=10_000, help="pairs read into memory at a time")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    model_args(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("encode", help="embed a text file, one text per line, into a .npy matrix")
    p.add_argument("input")
    p.add_argument("--output", "-o", required=True, help="output .npy file, (N, D) float32")
    p.add_argument("--chunk-size", type=int, default=10_000, help="lines read into memory at a time")
    p.add_argument("--overwrite", action="store_true")
    model_args(p)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("evaluate", help="evaluate a model on STS-B, SICK, MRPC, Quora")
    p.add_argument("--datasets", nargs="+", default=["stsb", "sick", "mrpc", "quora"])
    p.add_argument("--split", default="test")
    p.add_argument("--data-dir", default=None, help="folder with the datasets (default: $TEXTSIAM_DATA, else Hub)")
    p.add_argument("--output", "-o", help="write the results as JSON here")
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    model_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "train",
        help="fine-tune a model from a YAML/JSON config",
        description="Fine-tune a Siamese model. Every config field can be overridden with --set key=value "
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
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
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
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textsiam`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as err:
        print(f"textsiam {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
