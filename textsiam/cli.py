"""The ``textsiam`` command line: score, encode, evaluate, train, ...

Errors: every expected failure (a bad argument, a malformed input or model file, a missing or unwritable
path, a full disk) prints one line ``textsiam <command>: error: <message naming the file>`` on stderr and
exits with code 2; ``--debug`` shows the traceback instead. Ctrl-C exits with 130, SIGTERM with 143, in
both cases after the ``finally`` blocks have removed any temporary output.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.io_utils import atomic_open, atomic_path, check_output, iter_lines, iter_pairs

logger = logging.getLogger("textsiam")


# ---------------------------------------------------------------------------------------------- helpers
def _from_pretrained(name: str | None, **kwargs: Any):  # noqa: ANN202
    """``SiameseModel.from_pretrained`` with the errors of a broken model folder turned into ``ValueError``.

    ``safetensors`` (truncated or garbage weights) and ``tokenizers`` (a garbage ``tokenizer.json``: a bare
    ``Exception``) raise types the command line would otherwise show as a traceback; they become a
    ``ValueError`` that names the model.
    """
    import json

    from safetensors import SafetensorError

    from textsiam import SiameseModel

    try:
        return SiameseModel.from_pretrained(name, **kwargs)
    except ImportError as err:  # e.g. --backend onnx without the optional extra: a clean one-line error
        raise ValueError(str(err)) from err
    except (SafetensorError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot load the model {name or '(default)'}: {type(err).__name__}: {err}") from err
    except Exception as err:
        if type(err) is not Exception:  # only the bare Exception of the Rust bindings (tokenizers)
            raise
        raise ValueError(f"cannot load the model {name or '(default)'}: {err}") from err


def _load_model(args: argparse.Namespace):  # noqa: ANN202
    if getattr(args, "quiet", False):
        import transformers

        transformers.utils.logging.disable_progress_bar()
    return _from_pretrained(args.model, **_model_kwargs(args))


@contextlib.contextmanager
def _naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """Give an ``OSError`` without a file name (a failed write or read: ENOSPC, EIO, ...) the name ``path``."""
    try:
        yield
    except OSError as err:
        if err.filename is not None or err.errno is None:
            raise
        raise OSError(err.errno, err.strerror or os.strerror(err.errno), os.fspath(path)) from err


def _check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse to replace a file or a non-empty directory at ``out`` unless ``overwrite``."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --overwrite to replace it")


def _model_kwargs(args: argparse.Namespace) -> dict:
    """The ``SiameseModel.from_pretrained`` options given on the command line."""
    kwargs: dict = {}
    if getattr(args, "similarity", None):
        kwargs["similarity"] = args.similarity
    if getattr(args, "max_seq_length", None) is not None:
        kwargs["max_seq_length"] = args.max_seq_length
    if getattr(args, "backend", None):
        kwargs["backend"] = args.backend
    if getattr(args, "quantize", None) not in (None, "none"):
        kwargs["quantize"] = args.quantize
    return kwargs


def _run_on_ray(args: argparse.Namespace, kind: str) -> int:
    """``--engine ray``: encode / score the file with Ray Data; the output is a parquet folder."""
    from textsiam.distributed import ray_engine

    if kind == "score" and (args.pairs is None or args.texts):
        raise ValueError("--engine ray scores a file: give --pairs FILE (and no texts)")
    if not args.output:
        raise ValueError("--engine ray writes a folder of parquet files: give --output DIR")
    run = ray_engine.encode_file if kind == "encode" else ray_engine.score_file
    try:
        run(
            args.input if kind == "encode" else args.pairs,
            args.output,
            args.model,
            model_kwargs=_model_kwargs(args),
            batch_size=args.batch_size,
            block_rows=args.chunk_size,
            num_actors=args.ray_actors,
            num_cpus_per_actor=args.ray_cpus_per_actor,
            address=args.ray_address,
            overwrite=args.overwrite,
            show_progress=not args.quiet,
        )
    except ImportError as err:  # Ray is an optional extra: a clean one-line error
        raise ValueError(str(err)) from err
    return 0


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` lazily; a non-UTF-8 line raises with ``file:line``."""
    with _naming(path), open(path, "rb") as fh:
        yield from iter_lines(fh, str(path))


def _read_pairs(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line_number, text_a, text_b)`` from a TSV of pairs. A ``text_a<TAB>text_b`` header is skipped."""
    with _naming(path), open(path, "rb") as fh:
        yield from iter_pairs(fh, str(path))


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
    if args.engine == "ray":
        return _run_on_ray(args, "score")
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
    # first pass: validate the whole file and count it (for the progress bar) without holding the pairs
    total = sum(1 for _ in _read_pairs(pairs_path))
    model = _load_model(args)
    from tqdm.auto import tqdm

    def run(out) -> int:  # noqa: ANN001
        # streams: one chunk of pairs in memory at a time, whatever the size of the file
        out.write("text_a\ttext_b\tscore\n")
        n = 0
        with tqdm(total=total, desc="Scoring", unit="pair", disable=args.quiet) as bar:
            for chunk in _chunks(_read_pairs(pairs_path), args.chunk_size):
                scores = model.similarity([c[1] for c in chunk], [c[2] for c in chunk], batch_size=args.batch_size)
                out.write("".join(f"{a}\t{b}\t{s:.6f}\n" for (_, a, b), s in zip(chunk, scores, strict=True)))
                n += len(chunk)
                bar.update(len(chunk))
        return n

    if args.output:
        with _naming(args.output), atomic_open(args.output, overwrite=args.overwrite) as out:
            n = run(out)
        logger.info("wrote %d scores to %s", n, args.output)
    else:
        run(sys.stdout)
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return _run_on_ray(args, "encode")
    src = Path(args.input)
    if not src.is_file():
        raise FileNotFoundError(f"input file not found: {src}")
    check_output(args.output, args.overwrite)
    if not str(args.output).endswith(".npy"):
        raise ValueError(f"--output must end with .npy, got {args.output}")
    n = sum(1 for _ in _read_lines(src))  # first pass: count (and validate UTF-8) without holding the text
    model = _load_model(args)
    from tqdm.auto import tqdm

    with _naming(args.output), atomic_path(args.output, overwrite=args.overwrite) as tmp:
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


class _LineTexts:
    """The lines of a text file as a lazily read iterable of texts with a known length (for progress bars)."""

    def __init__(self, path: Path, n: int) -> None:
        self.path = path
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[str]:
        return (text for _, text in _read_lines(self.path))


def cmd_mine(args: argparse.Namespace) -> int:
    from textsiam.mining import check_mining_args, mine_duplicates

    src = Path(args.input)
    if not src.is_file():
        raise FileNotFoundError(f"input file not found: {src}")
    check_output(args.output, args.overwrite)
    check_mining_args(  # bad arguments fail before the model loads
        threshold=args.threshold,
        top_k=args.top_k,
        index=args.index,
        precision=args.precision,
        chunk_size=args.chunk_size,
        nprobe=args.nprobe,
        ef_search=args.ef_search,
    )
    n = sum(1 for _ in _read_lines(src))  # first pass: count and validate UTF-8 without holding the text
    model = _load_model(args)
    if args.calibrated:
        from textsiam.calibration import NotCalibratedError
        from textsiam.mining import mining_calibrator

        try:
            mining_calibrator(model)
        except NotCalibratedError as err:
            raise ValueError(str(err)) from err
    result = mine_duplicates(
        _LineTexts(src, n),
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
    # second pass: keep only the texts that occur in a pair
    needed = np.zeros(result.stats["n_texts"], dtype=bool)
    needed[result.pairs.ravel()] = True
    texts = {i: t for i, (_, t) in enumerate(_read_lines(src)) if i < len(needed) and needed[i]}

    def clean(text: str) -> str:
        return text.replace("\t", " ")  # a tab inside a text would shift the columns

    with _naming(args.output), atomic_open(args.output, overwrite=args.overwrite) as out:
        out.write("i\tj\tscore\ttext_a\ttext_b\n")
        for (i, j), score in zip(result.pairs.tolist(), result.scores.tolist(), strict=True):
            out.write(f"{i}\t{j}\t{score:.6f}\t{clean(texts[i])}\t{clean(texts[j])}\n")
    st = result.stats
    logger.info(
        "wrote %d pairs (score >= %g, top-%d, %s) among %d texts to %s; encode %.1f s, index %.1f s, search %.1f s",
        len(result),
        args.threshold,
        args.top_k,
        st.get("index_factory"),
        st["n_texts"],
        args.output,
        st["encode_s"],
        st["index_s"],
        st["search_s"],
    )
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
    out = Path(args.output)
    _check_output_dir(out, args.overwrite)
    if args.quiet:
        import transformers

        transformers.utils.logging.disable_progress_bar()
    quantize = None if args.quantize == "none" else args.quantize
    model = _from_pretrained(args.model, backend=args.format, quantize=quantize, device="cpu")
    with _naming(out):
        path = model.save(out)
    logger.info("exported %s (%s, quantize=%s) to %s", model.name_or_path, args.format, quantize, path)
    return 0


def cmd_soup(args: argparse.Namespace) -> int:
    import json

    from textsiam.evaluation import make_dev_metric
    from textsiam.training.averaging import soup_models

    out = Path(args.output)
    _check_output_dir(out, args.overwrite)
    if args.dev_split == "test":
        raise ValueError("--dev-split test: a soup is chosen on dev data, never on the test split")
    if args.quiet:
        import transformers

        transformers.utils.logging.disable_progress_bar()
    metric = make_dev_metric(args.dev_dataset, args.data_dir, split=args.dev_split, batch_size=args.batch_size)
    model, report = soup_models(args.models, metric)
    with _naming(out):
        path = model.save(out)
    with _naming(path / "soup.json"), atomic_open(path / "soup.json", "w", overwrite=args.overwrite) as fh:
        json.dump({"dev_dataset": args.dev_dataset, "dev_split": args.dev_split, **report.to_dict()}, fh, indent=2)
    print(f"soup of {len(report.soup_members)} model(s), dev {report.metric_name}: {report.final_dev:.2f}")
    for trial in report.trials:
        print(f"  {'kept   ' if trial['kept'] else 'dropped'} {' + '.join(trial['members'])}: {trial['dev']:.2f}")
    logger.info("saved the soup to %s", path)
    return 0


# ---------------------------------------------------------------------------------------------- argument types
def _int(text: str, minimum: int) -> int:
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        value = None
    if value is None or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse ``type=``: an integer >= 1 (a clean ``error: argument ...`` and exit code 2 otherwise)."""
    return _int(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse ``type=``: an integer >= 0."""
    return _int(text, 0)


def finite_float(text: str) -> float:
    """An argparse ``type=``: a finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse ``type=``: a finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


# ---------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textsiam", description="Text similarity with Siamese networks.")
    parser.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG level")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, **kwargs)
        # also accepted after the command; SUPPRESS keeps a --debug given before it
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return p

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", "-m", default=None, help="model directory or Hub name (default: all-MiniLM-L6-v2)")
        p.add_argument("--batch-size", type=positive_int, default=64)
        p.add_argument("--max-seq-length", type=positive_int, default=None)
        p.add_argument(
            "--backend", choices=["torch", "onnx"], default=None, help="inference backend (onnx: ONNX Runtime)"
        )
        p.add_argument(
            "--quantize", choices=["none", "int8"], default=None, help="int8: dynamic int8 weights (fast CPU path)"
        )
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")

    def engine_args(p: argparse.ArgumentParser) -> None:
        g = p.add_argument_group("engine", "run here, or on a Ray cluster with Ray Data (pip install 'textsiam[ray]')")
        g.add_argument(
            "--engine",
            choices=["local", "ray"],
            default="local",
            help="local: this process; ray: Ray Data actors; --output is then a parquet folder with a 'line' column",
        )
        g.add_argument("--ray-address", help="Ray cluster (auto, HOST:6379, ray://HOST:10001); default: a local one")
        g.add_argument(
            "--ray-actors", type=positive_int, default=None, help="model actors (default: up to one per CPU)"
        )
        g.add_argument("--ray-cpus-per-actor", type=positive_float, default=1.0, help="CPUs (torch threads) per actor")

    p = add_parser("score", help="score two texts, or a TSV file of pairs")
    p.add_argument("texts", nargs="*", help="two texts to compare")
    p.add_argument("--pairs", help="TSV file: text_a<TAB>text_b per line (a 'text_a<TAB>text_b' header is skipped)")
    p.add_argument("--output", "-o", help="write text_a, text_b, score as TSV here (default: stdout)")
    p.add_argument("--similarity", choices=["cosine", "dot", "euclidean", "manhattan", "malstm"])
    p.add_argument("--chunk-size", type=positive_int, default=10_000, help="pairs read into memory at a time")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    model_args(p)
    engine_args(p)
    p.set_defaults(func=cmd_score)

    p = add_parser("encode", help="embed a text file, one text per line, into a .npy matrix")
    p.add_argument("input")
    p.add_argument("--output", "-o", required=True, help="output .npy file, (N, D) float32")
    p.add_argument("--chunk-size", type=positive_int, default=10_000, help="lines read into memory at a time")
    p.add_argument("--overwrite", action="store_true")
    model_args(p)
    engine_args(p)
    p.set_defaults(func=cmd_encode)

    p = add_parser(
        "mine",
        help="find near-duplicate texts in a file, one text per line (faiss index)",
        description="Mine near-duplicates: every line's top-k most similar lines, and the pairs with a cosine "
        "similarity of at least --threshold, written as TSV i, j (0-based line numbers, i < j), score, text_a, "
        "text_b, best first. Exact search below 100k lines, an HNSW graph above (see --index).",
    )
    p.add_argument("input", help="text file, one text per line (UTF-8)")
    p.add_argument("--output", "-o", required=True, help="TSV of pairs: i, j, score, text_a, text_b")
    p.add_argument("--threshold", "-t", type=finite_float, default=0.8, help="lowest score of a reported pair (0.8)")
    p.add_argument("--top-k", "-k", type=positive_int, default=10, help="neighbours searched per text (10)")
    p.add_argument("--index", choices=["auto", "flat", "hnsw", "ivf"], default="auto", help="auto: flat < 100k, hnsw")
    p.add_argument("--precision", choices=["float16", "int8", "float32"], default="float16")
    p.add_argument(
        "--ef-search", type=positive_int, default=128, help="HNSW candidates per query (more: slower, more exact)"
    )
    p.add_argument(
        "--nprobe", type=positive_int, default=None, help="IVF lists searched per text (default max(32, nlist/16))"
    )
    p.add_argument("--calibrated", action="store_true", help="threshold and scores on the model's calibrated scale")
    p.add_argument("--work-dir", default=None, help="keep the memory-mapped embeddings here (default: a temp dir)")
    p.add_argument("--chunk-size", type=positive_int, default=10_000, help="lines read, encoded and searched at a time")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    model_args(p)
    p.set_defaults(func=cmd_mine, batch_size=32)  # smaller batches: less transient memory, as fast on a CPU

    p = add_parser("evaluate", help="evaluate a model on STS-B, SICK, MRPC, Quora")
    p.add_argument("--datasets", nargs="+", default=["stsb", "sick", "mrpc", "quora"])
    p.add_argument("--split", default="test")
    p.add_argument("--data-dir", default=None, help="folder with the datasets (default: $TEXTSIAM_DATA, else Hub)")
    p.add_argument("--output", "-o", help="write the results as JSON here")
    p.add_argument(
        "--n-resamples", type=non_negative_int, default=1000, help="bootstrap resamples for the CIs (0: none)"
    )
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--overwrite", action="store_true")
    model_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = add_parser(
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

    p = add_parser(
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
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--output", "-o", required=True, help="directory to save the soup to (with soup.json)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_soup)

    p = add_parser(
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


# ---------------------------------------------------------------------------------------------- errors and signals
#: Exit codes: an expected error, Ctrl-C (128 + SIGINT), SIGTERM (128 + SIGTERM).
EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM, so that ``finally`` blocks run (temporary files are removed).

    A ``SystemExit`` (code 143): ``except Exception`` handlers do not swallow it, and if it escapes
    :func:`main` the interpreter still exits with 143.
    """

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` (main thread only); the old handler is restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def is_expected_error(err: BaseException) -> bool:
    """Whether ``err`` is a failure to report in one line (bad input, files, disk) rather than a bug.

    ``ValueError`` (``ConfigError``, ``DataFormatError``, ``json.JSONDecodeError``, ``UnicodeDecodeError``),
    ``TypeError``, ``OSError`` (missing, existing, unreadable or unwritable paths, a full disk), a
    ``safetensors.SafetensorError``, ``textsiam.calibration.NotCalibratedError`` and the bare ``Exception``
    that the Rust ``tokenizers`` bindings raise for a malformed ``tokenizer.json``.
    """
    if isinstance(err, (ValueError, TypeError, OSError)) or type(err) is Exception:
        return True
    from safetensors import SafetensorError

    from textsiam.calibration import NotCalibratedError

    return isinstance(err, (SafetensorError, NotCalibratedError))


def describe_error(err: BaseException) -> str:
    """The one-line message of an expected error; an ``OSError`` names its file (``path: No space left ...``)."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        where = os.fsdecode(err.filename)
        if err.filename2 is not None:
            where += f" -> {os.fsdecode(err.filename2)}"
        return f"{where}: {err.strerror}"
    return str(err) or type(err).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textsiam`` console script.

    Returns the exit code: 0, 2 for an expected error (one line on stderr; ``--debug`` re-raises it with its
    traceback), 130 for Ctrl-C and 143 for SIGTERM. Argument errors exit with 2 from ``argparse``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    prog = f"textsiam {args.command}"
    try:
        with _sigterm_raises():
            return int(args.func(args) or 0)
    except Terminated:
        if args.debug:
            raise
        print(f"{prog}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if args.debug or not is_expected_error(err):
            raise
        print(f"{prog}: error: {describe_error(err)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
