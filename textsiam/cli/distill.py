"""``textsiam distill``: distil a sentence encoder (the teacher) into a new static, CNN or LSTM tower; no labels.

The texts are ``--corpus FILE`` (one per line, read as a stream), else the default corpus of the data folder
(:func:`~textsiam.training.distill.default_corpus`: the training-split sentences plus augmented copies), else
none (the teacher's vocabulary only). The run is :func:`~textsiam.training.distill.distill` with its progress bars,
checkpoints (``OUTPUT/distill-checkpoint/``) and ``--resume``; the student is an ordinary saved model.

Config values come from the built-in defaults, then ``--config FILE``, then ``--set key=value``, then the explicit
options (``--teacher``, ``--tower``, ``--epochs`` ...): each level overrides the one before.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from textsiam.cli import common

logger = logging.getLogger("textsiam")


def add_parser(subparsers: Any) -> None:
    """Register ``textsiam distill``."""
    p = common.add_command(
        subparsers,
        "distill",
        help="distil a model into a fast static / CNN / LSTM tower (no labels needed)",
        description="Train a new static, CNN or LSTM tower on the teacher's tokenizer to reproduce the teacher's "
        "embeddings of a corpus (and of each vocabulary token). Corpus: --corpus FILE, else the training-split "
        "sentences of the datasets in --data-dir / $TEXTSIAM_DATA (plus --copies augmented copies), else the "
        "vocabulary only. Config: the defaults, then --config, then --set, then the options below. "
        "See --list-options for the fields.",
    )
    p.add_argument(
        "--teacher",
        "-t",
        default=None,
        metavar="MODEL",
        help="teacher model dir or Hub name (default: the embedded all-MiniLM-L6-v2)",
    )
    p.add_argument("--tower", choices=["static", "cnn", "lstm"], default=None, help="student tower (default: static)")
    p.add_argument("--output", "-o", default=None, metavar="DIR", help="folder to save the student in (required)")
    g = p.add_argument_group("corpus")
    g.add_argument(
        "--corpus",
        default=None,
        metavar="FILE",
        help="UTF-8 text file, one text per line, streamed (blank lines skipped, duplicates dropped; "
        "default: the data folder's training sentences)",
    )
    g.add_argument(
        "--max-texts",
        type=common.positive_int,
        default=None,
        metavar="N",
        help="use only the first N texts of the corpus",
    )
    g.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="folder with the datasets, for the default corpus (default: $TEXTSIAM_DATA)",
    )
    g.add_argument(
        "--copies",
        type=common.non_negative_int,
        default=None,
        metavar="N",
        help="default corpus: augmented copies of each sentence (default: 1)",
    )
    g.add_argument("--no-vocabulary", action="store_true", help="do not add each vocabulary token as a text")
    c = p.add_argument_group("config")
    c.add_argument("--config", "-c", default=None, metavar="FILE", help="YAML or JSON mapping of config fields")
    c.add_argument(
        "--set",
        "-s",
        action="append",
        nargs="+",
        metavar="KEY=VALUE",
        help="override config fields, e.g. --set lr=1e-3 tower_args={hidden_size: 128} or "
        "tower_args.hidden_size=128 (repeatable)",
    )
    c.add_argument(
        "--pca-dims",
        type=common.positive_int,
        default=None,
        metavar="N",
        help="learn the teacher's embeddings reduced to N dimensions (PCA)",
    )
    c.add_argument("--epochs", type=common.positive_int, default=None, metavar="N", help="passes over the texts")
    c.add_argument("--batch-size", type=common.positive_int, default=None, metavar="N", help="texts per step")
    c.add_argument("--seed", type=int, default=None, metavar="N", help="seed: same seed and texts, same student")
    c.add_argument("--list-options", action="store_true", help="print every config field with its default and exit")
    r = p.add_argument_group("run")
    r.add_argument("--resume", action="store_true", help="continue the interrupted run in --output (same options)")
    r.add_argument(
        "--overwrite",
        action="store_true",
        help="start over in an --output that holds an interrupted run, or save into one that holds other files",
    )
    p.set_defaults(func=cmd_distill)


def cmd_distill(args: argparse.Namespace) -> int:
    """Distil; print one line naming the student, its folder, the texts and the final cosine to the teacher."""
    from textsiam.training.distill import distill

    if args.list_options:
        print(describe_fields())
        return 0
    if not args.output:
        raise ValueError("--output DIR is required: the folder to save the student in")
    config = build_config(args)
    texts, source = corpus_texts(args)
    if not texts and not config.vocabulary:
        raise ValueError(
            f"no texts to distil on ({source}) and --no-vocabulary (or vocabulary: false): give --corpus FILE "
            "or --data-dir DIR, or keep the vocabulary"
        )
    logger.info("%d texts from %s%s", len(texts), source, " plus the vocabulary" if config.vocabulary else "")
    common.hush_transformers(args)
    result = distill(config, texts, resume=args.resume)
    cosine = result.log[-1]["cosine_to_teacher"] if result.log else float("nan")
    seconds = result.train_seconds + result.teacher_seconds
    print(
        f"distilled {config.tower} student of {result.teacher_name} -> {result.output_dir} "
        f"({result.n_texts} texts, cosine to the teacher {cosine:.4f}, {seconds:.1f}s)"
    )
    return 0


# ---------------------------------------------------------------------------------------------- the config
def build_config(args: argparse.Namespace) -> Any:
    """The :class:`~textsiam.training.distill.DistillConfig` of the command: defaults < ``--config`` < ``--set`` <
    the explicit options. Every problem is a :class:`~textsiam.training.distill.DistillConfigError`."""
    from textsiam.training.distill import DistillConfig, DistillConfigError

    data: dict[str, Any] = read_config_file(args.config) if args.config else {}
    from textsiam.training.config_assignments import apply_assignments

    problems = apply_assignments(data, [item for group in args.set or [] for item in group], field_types())
    if problems:
        raise DistillConfigError(problems)
    explicit = {
        "teacher": args.teacher,
        "tower": args.tower,
        "pca_dims": args.pca_dims,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }
    data.update({key: value for key, value in explicit.items() if value is not None})
    if args.no_vocabulary:
        data["vocabulary"] = False
    if args.overwrite:
        data["overwrite"] = True
    if args.quiet:
        data["show_progress"] = False
    data["output_dir"] = args.output
    return DistillConfig.from_dict(data)


def field_types() -> dict[str, Any]:
    """``{field: type hint}`` of :class:`~textsiam.training.distill.DistillConfig`."""
    from textsiam.training.config_fields import field_types as types_of
    from textsiam.training.distill import DistillConfig

    return types_of(DistillConfig)


def read_config_file(path: str) -> dict[str, Any]:
    """The fields of a YAML (``yaml.safe_load``) or ``.json`` config file, each read by its type hint.

    Raises:
        FileNotFoundError: no such file.
        DistillConfigError: not UTF-8 / YAML / JSON, not a mapping, unknown fields or values that do not fit.
    """
    import json

    from textsiam.training.config_values import convert, load_yaml
    from textsiam.training.distill import DistillConfigError

    p = common.input_file(path, "config file")
    try:
        text = p.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise DistillConfigError([f"{p}: not valid UTF-8 (byte {err.start}: {err.reason})"]) from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else load_yaml(text)
    except (ValueError, RecursionError) as err:  # load_yaml's message says "not valid YAML (...)"
        raise DistillConfigError(
            [f"{p}: invalid JSON: {err}" if p.suffix.lower() == ".json" else f"{p}: {err}"]
        ) from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise DistillConfigError([f"{p}: a config file must be a mapping of field names to values"])
    types = field_types()
    out: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        if key not in types:
            problems.append(f"{p}: unknown field {key!r}; valid: {', '.join(types)}")
            continue
        try:
            out[key] = convert(value, types[key], key)
        except (ValueError, TypeError) as err:
            problems.append(f"{p}: {err}")
    if problems:
        raise DistillConfigError(problems)
    return out


def describe_fields() -> str:
    """Every config field: name, type, default and the comment of its declaration (``--list-options``)."""
    import dataclasses

    from textsiam.training.config_values import type_name
    from textsiam.training.distill import DistillConfig

    types, comments = field_types(), field_comments(DistillConfig)
    rows = []
    for f in dataclasses.fields(DistillConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        row = f"{f.name:<24} {type_name(types[f.name]):<34} default={default!r}"
        rows.append(f"{row}\n    {comments[f.name]}" if comments.get(f.name) else row)
    return "\n".join(rows)


def field_comments(cls: type) -> dict[str, str]:
    """``{field: the # comment(s) of its declaration}`` read from the class's source (empty if it is missing)."""
    import dataclasses
    import inspect
    import io
    import tokenize

    names = {f.name for f in dataclasses.fields(cls)}
    try:
        source = inspect.getsource(cls)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (OSError, TypeError, tokenize.TokenError, SyntaxError):
        return {}
    comments: dict[str, list[str]] = {}
    current: str | None = None
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string == "def":
            break
        follows = tokens[i + 1] if i + 1 < len(tokens) else None
        field_start = follows is not None and follows.string == ":" and tok.start[1] == 4
        if tok.type == tokenize.NAME and tok.string in names and field_start:
            current = tok.string
        elif tok.type == tokenize.COMMENT and current is not None and not tok.string.startswith("# ---"):
            comments.setdefault(current, []).append(tok.string.lstrip("#").strip())
    return {name: " ".join(parts) for name, parts in comments.items()}


# ---------------------------------------------------------------------------------------------- the corpus
def corpus_texts(args: argparse.Namespace) -> tuple[list[str], str]:
    """``(texts, where they came from)``: ``--corpus``, else the data folder's default corpus, else none."""
    import os
    from pathlib import Path

    if args.corpus:
        if args.copies is not None or args.data_dir is not None:
            logger.warning("--copies and --data-dir make the default corpus; with --corpus they are ignored")
        path = common.input_file(args.corpus, "corpus file")
        return read_corpus(path, args.max_texts), str(path)
    data_dir = args.data_dir or os.environ.get("TEXTSIAM_DATA") or None
    if args.data_dir and not Path(args.data_dir).expanduser().is_dir():
        raise FileNotFoundError(f"--data-dir: no such folder: {args.data_dir}")
    if data_dir is None or not Path(data_dir).expanduser().is_dir():
        why = "no data folder: no --corpus, --data-dir or $TEXTSIAM_DATA"
        if data_dir is not None:
            why = f"$TEXTSIAM_DATA={data_dir} is not a folder"
        return [], why
    from textsiam.training.distill import default_corpus

    copies = 1 if args.copies is None else args.copies
    # the originals come first, so the first N texts are those of the first N sentences (no need to augment all)
    texts = default_corpus(data_dir, copies=copies, limit=args.max_texts)
    if args.max_texts is not None:
        texts = texts[: args.max_texts]
    return texts, f"the training sentences of {data_dir} ({copies} augmented cop{'y' if copies == 1 else 'ies'} each)"


def read_corpus(path: Any, limit: int | None = None) -> list[str]:
    """The texts of a file, one per line, streamed: surrounding whitespace stripped, blank lines skipped,
    duplicates dropped (first kept); at most ``limit`` texts (the rest of the file is not read)."""
    seen: dict[str, None] = {}
    for _, line in common.read_lines(path):
        text = line.strip()
        if text:
            seen.setdefault(text, None)
            if limit is not None and len(seen) >= limit:
                break
    return list(seen)
