"""The ``textsiam`` command line: score, encode, evaluate, train, ...

One module per command (``textsiam/cli/<command>.py``, with ``add_parser(subparsers)`` and the command
function); :data:`COMMANDS` lists them, one line each. :mod:`textsiam.cli.common` holds what the commands
share (argument types, model options, inputs and outputs), :mod:`textsiam.cli.runtime` how a command runs
(logging, errors, signals). Nothing heavy (numpy, torch, transformers, ...) is imported before a command
runs, so ``--help`` is fast.

Output: results on stdout; textsiam's INFO messages on stderr (``-q/--quiet``: only warnings and errors, no
progress bars; ``-v/--verbose``: DEBUG). The global options are accepted before and after the command name.

Errors: every expected failure (a bad argument, a malformed input or model file, a missing or unwritable
path, a full disk) prints one line ``textsiam <command>: error: <message naming the file>`` on stderr and
exits with code 2; ``--debug`` shows the traceback instead. Ctrl-C exits with 130, SIGTERM with 143, in
both cases after the ``finally`` blocks have removed any temporary output. A closed stdout (``| head``)
ends the command quietly with 141.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator

from textsiam.cli import common
from textsiam.cli.common import add_global_options
from textsiam.cli.runtime import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    describe_error,
    is_closed_stdout,
    is_expected_error,
    logging_to_stderr,
    sigterm_raises,
    silence_stdout,
)

__all__ = ["COMMANDS", "build_parser", "main"]

#: The commands, in the order of ``textsiam --help``: name -> the module with its ``add_parser(subparsers)``.
COMMANDS: dict[str, str] = {
    "score": "textsiam.cli.score",
    "rerank": "textsiam.cli.rerank",
    "encode": "textsiam.cli.encode",
    "mine": "textsiam.cli.mine",
    "evaluate": "textsiam.cli.evaluate",
    "train": "textsiam.cli.train",
    "distill": "textsiam.cli.distill",
    "soup": "textsiam.cli.soup",
    "export": "textsiam.cli.export",
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``textsiam`` command line (each command adds its own sub-parser)."""
    parser = argparse.ArgumentParser(prog="textsiam", description="Text similarity with Siamese networks.")
    add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textsiam`` console script.

    Returns the exit code: 0, 2 for an expected error (one line on stderr; ``--debug`` re-raises it with its
    traceback), 130 for Ctrl-C, 143 for SIGTERM and 141 when the reader of stdout went away. Argument errors
    exit with 2 from ``argparse``.
    """
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    prog = f"textsiam {args.command}"
    with logging_to_stderr(quiet=args.quiet, verbose=args.verbose), restoring_settings():
        try:
            with sigterm_raises():
                code = int(args.func(args) or 0)
                sys.stdout.flush()  # a closed pipe shows up here rather than at the interpreter's exit
                return code
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
            if is_closed_stdout(err):  # `textsiam score --pairs big.tsv | head -1`: not an error
                silence_stdout()
                return EXIT_BROKEN_PIPE
            if args.debug or not is_expected_error(err):
                raise
            print(f"{prog}: error: {describe_error(err)}", file=sys.stderr)
            return EXIT_ERROR


@contextlib.contextmanager
def restoring_settings() -> Iterator[None]:
    """Undo the process-wide settings a command changed (transformers' progress bars) when ``main`` returns."""
    try:
        yield
    finally:
        common.restore_process_settings()
