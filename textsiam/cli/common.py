"""What the commands share: argument types, common options, model loading, and reading inputs / naming outputs.

Nothing heavy is imported here at module level (no numpy, torch, transformers, tqdm): ``textsiam --help`` and
``textsiam <command> --help`` must stay fast. The commands import what they need when they run.

The commands call :func:`load_model` as ``common.load_model`` (looked up on this module at call time), so that
a test can replace it with a stub in one place.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from textsiam.io_utils import iter_lines, iter_pairs
from textsiam.io_utils.input_paths import check_input_file


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


# ---------------------------------------------------------------------------------------------- options
QUIET_HELP = "no INFO messages, no progress bars: only results, warnings and errors"
VERBOSE_HELP = "log at DEBUG level (and show the progress bars of transformers)"
DEBUG_HELP = "show the traceback of an error (for bug reports)"


def add_global_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """``--quiet``, ``--verbose`` and ``--debug``: before the command name, or (``after_command``) after it.

    After the command their default is ``SUPPRESS``, so that an option given before the command is kept.
    """
    default = argparse.SUPPRESS if after_command else False
    parser.add_argument("--quiet", "-q", action="store_true", default=default, help=QUIET_HELP)
    parser.add_argument("--verbose", "-v", action="store_true", default=default, help=VERBOSE_HELP)
    parser.add_argument(
        "--debug", action="store_true", default=default, help=argparse.SUPPRESS if after_command else DEBUG_HELP
    )


def add_command(subparsers: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A command's parser (``subparsers.add_parser``) that also takes the global options after its name."""
    parser = subparsers.add_parser(name, **kwargs)
    add_global_options(parser, after_command=True)
    return parser


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that loads a model for inference (see :func:`model_kwargs`)."""
    parser.add_argument("--model", "-m", default=None, help="model directory or Hub name (default: all-MiniLM-L6-v2)")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--max-seq-length", type=positive_int, default=None)
    parser.add_argument(
        "--backend", choices=["torch", "onnx"], default=None, help="inference backend (onnx: ONNX Runtime)"
    )
    parser.add_argument(
        "--quantize", choices=["none", "int8"], default=None, help="int8: dynamic int8 weights (fast CPU path)"
    )


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine local|ray`` and the Ray options (see :func:`run_on_ray`)."""
    g = parser.add_argument_group("engine", "run here, or on a Ray cluster with Ray Data (pip install 'textsiam[ray]')")
    g.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process; ray: Ray Data actors; --output is then a parquet folder with a 'line' column",
    )
    g.add_argument("--ray-address", help="Ray cluster (auto, HOST:6379, ray://HOST:10001); default: a local one")
    g.add_argument("--ray-actors", type=positive_int, default=None, help="model actors (default: up to one per CPU)")
    g.add_argument("--ray-cpus-per-actor", type=positive_float, default=1.0, help="CPUs (torch threads) per actor")


def model_kwargs(args: argparse.Namespace) -> dict:
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


# ---------------------------------------------------------------------------------------------- models
def hush_transformers(args: argparse.Namespace) -> None:
    """No "Loading weights" / "Writing model shards" bars from transformers (and the Hub) unless ``--verbose``
    (and not ``--quiet``).

    Imports transformers: call it in a command that is about to load or save a model anyway.
    """
    if getattr(args, "quiet", False) or not getattr(args, "verbose", False):
        import transformers

        if transformers.utils.logging.is_progress_bar_enabled():
            RESTORE_ON_EXIT.append(transformers.utils.logging.enable_progress_bar)
        transformers.utils.logging.disable_progress_bar()


#: Calls that put back what a command changed in the process (run by ``main`` when it returns, so that calling
#: ``main`` from Python leaves the caller's transformers settings as they were).
RESTORE_ON_EXIT: list[Any] = []


def restore_process_settings() -> None:
    """Run and clear :data:`RESTORE_ON_EXIT`."""
    while RESTORE_ON_EXIT:
        RESTORE_ON_EXIT.pop()()


def from_pretrained(name: str | None, **kwargs: Any):  # noqa: ANN201
    """``SiameseModel.from_pretrained`` with the errors of a broken model folder turned into ``ValueError``.

    ``safetensors`` (truncated or garbage weights) and ``tokenizers`` (a garbage ``tokenizer.json``: a bare
    ``Exception``) raise types the command line would otherwise show as a traceback; they become a
    ``ValueError`` that names the model.
    """
    from textsiam import SiameseModel

    return checked_load(SiameseModel.from_pretrained, name, **kwargs)


def checked_load(load: Any, name: str | None, **kwargs: Any):  # noqa: ANN201
    """``load(name, **kwargs)`` with the errors of a broken model folder turned into ``ValueError`` (see
    :func:`from_pretrained`), a ``config.json`` field of the wrong type (``huggingface_hub``'s strict-dataclass
    errors) among them."""
    import json

    from safetensors import SafetensorError

    from textsiam.encoders.loading import strict_config_errors

    try:
        return load(name, **kwargs)
    except ImportError as err:  # e.g. --backend onnx without the optional extra: a clean one-line error
        raise ValueError(str(err)) from err
    except (SafetensorError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot load the model {name or '(default)'}: {type(err).__name__}: {err}") from err
    except strict_config_errors() as err:  # a config.json field of the wrong type (huggingface_hub: no ValueError)
        message = " ".join(str(err).split())
        raise ValueError(f"cannot load the model {name or '(default)'}: config.json: {message}") from err
    except Exception as err:
        if type(err) is not Exception:  # only the bare Exception of the Rust bindings (tokenizers)
            raise
        raise ValueError(f"cannot load the model {name or '(default)'}: {err}") from err


def load_model(args: argparse.Namespace):  # noqa: ANN201
    """The model of ``--model`` with the options of :func:`add_model_options`."""
    hush_transformers(args)
    return from_pretrained(args.model, **model_kwargs(args))


# ---------------------------------------------------------------------------------------------- cross-encoders
# The detection lives in the model layer (textsiam.model.model_kind), imported when a command runs: importing it
# here would load textsiam.model (torch) at start-up.
def is_cross_encoder_config(config: Any) -> bool:
    """Whether the parsed ``config.json`` ``config`` is a cross-encoder's (:mod:`textsiam.model.model_kind`)."""
    from textsiam.model.model_kind import is_cross_encoder_config as detect

    return detect(config)


def model_config(name: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The parsed ``config.json`` of ``--model`` when it can be read here: a folder, or a Hub model already in the
    local cache (:func:`textsiam.model.model_kind.model_config`); ``None`` otherwise."""
    from textsiam.model.model_kind import model_config as read

    return read(name)


def is_cross_encoder_model(name: str | os.PathLike[str] | None) -> bool:
    """Whether ``--model`` names a cross-encoder (:func:`textsiam.model.model_kind.is_cross_encoder_model`)."""
    from textsiam.model.model_kind import is_cross_encoder_model as detect

    return detect(name)


def refuse_non_cross_encoder(name: Any, architectures: Any) -> None:
    """``ValueError`` when ``architectures`` (of a ``config.json``) are known and name no cross-encoder."""
    from textsiam.model.model_kind import CROSS_ENCODER_ARCHITECTURE

    if isinstance(architectures, (list, tuple)) and architectures:
        if not is_cross_encoder_config({"architectures": list(architectures)}):
            raise ValueError(
                f"{name} is not a cross-encoder: its config.json names {', '.join(map(str, architectures))}, not a "
                f"...{CROSS_ENCODER_ARCHITECTURE} model, so its scores would come from a new, untrained head; give a "
                "cross-encoder folder or Hub name"
            )


def add_positive_label_option(parser: argparse.ArgumentParser) -> None:
    """``--positive-label``: the label of a cross-encoder with several labels whose probability is a pair's score."""
    parser.add_argument(
        "--positive-label",
        default=None,
        metavar="LABEL",
        help="a cross-encoder with several labels: the label (index or name) whose probability is a pair's score "
        "(default: label 1 of two; required for three or more)",
    )


def positive_label(text: str | None) -> int | str | None:
    """The value of ``--positive-label``: an index when it is an integer, else a label name."""
    if text is None:
        return None
    stripped = text.strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else stripped


def load_cross_encoder(args: argparse.Namespace):  # noqa: ANN201
    """The cross-encoder of ``args.model`` (:class:`textsiam.model.cross_encoder.CrossEncoder`), with the maximum
    length of ``--max-length`` (``rerank``) or ``--max-seq-length`` (``evaluate``).

    Raises:
        ValueError: ``--backend`` or ``--quantize`` (twin-tower options), a model that cannot be loaded, or one that
            is no cross-encoder (an encoder the loader would put a new, random head on).
    """
    for option in ("backend", "quantize"):
        if getattr(args, option, None) not in (None, "none", "torch"):
            raise ValueError(f"--{option} applies to twin towers; {args.model} is a cross-encoder")
    config = model_config(args.model)
    refuse_non_cross_encoder(args.model, (config or {}).get("architectures"))  # before a slow load, when it can tell
    hush_transformers(args)
    try:
        from textsiam.model.cross_encoder import CrossEncoder
    except ImportError as err:  # a clean one-line error rather than a traceback
        raise ValueError(f"cannot load the cross-encoder {args.model}: {err}") from err

    kwargs: dict[str, Any] = {}
    max_length = getattr(args, "max_length", None) or getattr(args, "max_seq_length", None)
    if max_length is not None:
        kwargs["max_length"] = max_length
    model = checked_load(CrossEncoder.from_pretrained, args.model, **kwargs)
    refuse_non_cross_encoder(args.model, getattr(getattr(model, "config", None), "architectures", None))  # Hub
    return model


def run_on_ray(args: argparse.Namespace, kind: str) -> int:
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
            model_kwargs=model_kwargs(args),
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


# ---------------------------------------------------------------------------------------------- inputs and outputs
@contextlib.contextmanager
def naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """Give an ``OSError`` without a file name (a failed write or read: ENOSPC, EIO, ...) the name ``path``."""
    try:
        yield
    except OSError as err:
        if err.filename is not None or err.errno is None:
            raise
        raise OSError(err.errno, err.strerror or os.strerror(err.errno), os.fspath(path)) from err


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Check the output folder of a model save before any work, as the save will (``SiameseModel.save``).

    Refused: something at ``out`` that is not a folder (even with ``--overwrite``: a save never replaces a file),
    the current working folder or one that contains it, and a non-empty folder unless ``overwrite``.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {out} exists and is not a directory: a model is saved as a folder")
    target = out.expanduser().resolve()
    with contextlib.suppress(OSError):  # a deleted working folder cannot be inside target
        cwd = Path.cwd().resolve()
        if target == cwd or target in cwd.parents:
            raise ValueError(
                f"--output {out} is the current working folder or contains it; give the path of a new folder"
            )
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --overwrite to replace it")


def input_file(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """``path`` as a ``Path`` if it is a regular file; otherwise an error that says what it is (see
    :func:`textsiam.io_utils.input_paths.check_input_file`: not found, a directory, a FIFO, a device, ...)."""
    return check_input_file(path, what)


def check_not_an_input(
    output: str | os.PathLike[str], *inputs: str | os.PathLike[str] | None, what: str = "input file"
) -> None:
    """``ValueError`` if ``output`` is one of ``inputs``: the same file by another name too (a symbolic or hard
    link: same device and inode), so that ``--overwrite`` never replaces the input with the output. ``what``
    names the inputs in the message (e.g. ``"input model"`` for folders).

    Call it before any work (and before the output is checked, so that the message names the real problem).
    """
    for given in inputs:
        if given is None:
            continue
        try:
            same = os.path.samefile(output, given)
        except (OSError, ValueError):  # one of them does not exist (yet): they cannot be the same file
            continue
        if same:
            how = "" if os.path.abspath(output) == os.path.abspath(given) else " under another name"
            raise ValueError(
                f"--output {output} is the {what} {given}{how}: writing it would replace the input; "
                "choose another output path"
            )


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` lazily; a non-UTF-8 line raises with ``file:line``."""
    with naming(path), open(path, "rb") as fh:
        yield from iter_lines(fh, str(path))


def read_pairs(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line_number, text_a, text_b)`` from a TSV of pairs. A ``text_a<TAB>text_b`` header is skipped."""
    with naming(path), open(path, "rb") as fh:
        yield from iter_pairs(fh, str(path))


def count(items: Iterable[Any]) -> int:
    """The number of items (a first pass over a file: counts and validates it without holding it)."""
    return sum(1 for _ in items)


def add_column_options(p: argparse.ArgumentParser) -> None:
    """``--text-a-column``, ``--text-b-column``, ``--label-column``: the columns of your own pair files."""
    g = p.add_argument_group(
        "columns of your own files",
        "default: text_a/text_b/label, or sentence-transformers' names (sentence1, "
        "sentence2, score, anchor, positive, question1, question2, is_duplicate)",
    )
    g.add_argument("--text-a-column", default=None, metavar="NAME", help="column of the first text")
    g.add_argument("--text-b-column", default=None, metavar="NAME", help="column of the second text")
    g.add_argument("--label-column", default=None, metavar="NAME", help="column of the label or score")
