"""How a command runs: its log messages and warnings on stderr, its errors, signals and a closed stdout.

* Logging: textsiam's INFO messages (``wrote N scores to X``) on stderr by default, WARNING and up with
  ``--quiet``, DEBUG with ``--verbose``; other libraries' loggers at WARNING (DEBUG with ``--verbose``).
  Python ``warnings`` are logged too (logger ``py.warnings``), and a warning whose text was already logged
  is not shown again (textsiam's truncation warning is both logged and ``warnings.warn``-ed).
* Errors: :func:`is_expected_error` / :func:`describe_error` decide what is reported in one line.
* Signals: :func:`sigterm_raises` turns SIGTERM into :class:`Terminated` so that ``finally`` blocks run.
* A closed stdout (``textsiam score --pairs big.tsv | head -1``): :func:`is_closed_stdout` and
  :func:`silence_stdout`; the command ends quietly with :data:`EXIT_BROKEN_PIPE`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

#: Exit codes: an expected error, Ctrl-C (128 + SIGINT), SIGTERM (128 + SIGTERM), a closed stdout (128 + SIGPIPE).
EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_BROKEN_PIPE = 2, 130, 143, 141
#: Format of the log lines on stderr.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


# ---------------------------------------------------------------------------------------------- logging
class OnceFilter(logging.Filter):
    """Drops a warning (or worse) whose text was already shown; other records pass."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        text = record.getMessage()
        if text in self.seen:
            return False
        self.seen.add(text)
        return True


def log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A ``warnings.showwarning`` that logs the warning's text (``py.warnings``; the category unless UserWarning)."""
    text = str(message) if issubclass(category, UserWarning) else f"{category.__name__}: {message}"
    logging.getLogger("py.warnings").warning("%s", text)


@contextlib.contextmanager
def logging_to_stderr(quiet: bool = False, verbose: bool = False) -> Iterator[None]:
    """While the block runs, log to stderr at the levels of ``--quiet`` / ``--verbose`` (see the module doc).

    ``--verbose`` wins over ``--quiet`` for the log level. The loggers' levels, the handler and
    ``warnings.showwarning`` are restored afterwards (``main`` may run several times in one process).
    """
    root, own = logging.getLogger(), logging.getLogger("textsiam")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(OnceFilter())
    saved = root.level, own.level, warnings.showwarning
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    own.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    warnings.showwarning = log_warning
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        own.setLevel(saved[1])
        warnings.showwarning = saved[2]


# ---------------------------------------------------------------------------------------------- signals
class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM, so that ``finally`` blocks run (temporary files are removed).

    A ``SystemExit`` (code 143): ``except Exception`` handlers do not swallow it, and if it escapes
    :func:`textsiam.cli.main` the interpreter still exits with 143.
    """

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


def raise_terminated(signum: int, frame: Any) -> None:
    """The SIGTERM handler of :func:`sigterm_raises`."""
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` (main thread only); the old handler is restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


# ---------------------------------------------------------------------------------------------- errors
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


def is_closed_stdout(err: BaseException) -> bool:
    """Whether ``err`` says that the reader of stdout went away (``| head``).

    A ``BrokenPipeError`` without a file name: the writes to an output file are named (``common.naming``).
    """
    return isinstance(err, BrokenPipeError) and err.filename is None


def silence_stdout() -> None:
    """Point stdout at ``/dev/null``, so that the interpreter's last flush of stdout does not fail again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. captured in a test)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
