"""Encode and score text files on a Ray cluster with Ray Data (``textsiam encode/score --engine ray``).

The pipeline is plain Ray Data:

1. read the input lazily into blocks of rows that carry their line number
   (:class:`~textsiam.distributed.ray_datasource.LinesDatasource`, a ``FileBasedDatasource`` like the one behind
   ``ray.data.read_text``);
2. ``map_batches`` with a callable class in an actor pool (``compute=ray.data.ActorPoolStrategy``): every actor
   loads the model once and encodes / scores the batches it receives with :meth:`SiameseModel.encode` /
   :meth:`SiameseModel.similarity`, so the numbers equal the single-process ones;
3. ``write_parquet`` into the output folder. Rows arrive in no particular order; the ``line`` column (1-based
   line number of the input file) restores it, and :func:`read_embeddings` / :func:`read_scores` do so.

Output columns: ``encode_file`` writes ``line`` (int64) and ``embedding`` (``fixed_size_list<float32>[D]``);
``score_file`` writes ``line``, ``text_a``, ``text_b`` and ``score`` (float32). A local output folder is written
as a temporary sibling and renamed into place, so a failed run leaves no partial output; it is never replaced
without ``overwrite=True``.

Ray logs as much as textsiam does: when textsiam's logger does not show INFO (``-q``, or a Python program that did not
ask for INFO), Ray and Ray Data log errors only, the actors' output is not forwarded, and Ray's core worker prints
only fatal errors (:func:`quiet_ray`).

Ray is an optional dependency (``pip install "textsiam[ray]"``) and is imported only when these functions run.
On a multi-node cluster the input file, the model (unless it is the embedded default or a Hub name) and the
output folder must be reachable from every node: a shared filesystem, or URIs such as ``s3://bucket/dir``
(written directly, without the rename).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from textsiam.io_utils import atomic_dir

logger = logging.getLogger(__name__)

__all__ = ["encode_file", "read_embeddings", "read_scores", "require_ray", "score_file"]

RAY_INSTALL_HINT = 'the Ray engine needs Ray Data: pip install "textsiam[ray]" (or pip install "ray[data]")'


def require_ray() -> ModuleType:
    """Import ``ray`` (with Ray Data), or raise ``ImportError`` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ImportError(f"{RAY_INSTALL_HINT} ({err})") from err
    return ray


# ---------------------------------------------------------------------------------------------- actors
class _ModelActor:
    """Loads the model once per actor (Ray constructs one per actor of the pool)."""

    def __init__(self, model: str | None, model_kwargs: dict[str, Any], batch_size: int, num_threads: int) -> None:
        import torch

        from textsiam.model.siamese import SiameseModel

        device = "cuda" if torch.cuda.is_available() else "cpu"  # Ray exposes a GPU only to actors that asked
        self.model = SiameseModel.from_pretrained(model, device=device, num_threads=num_threads, **model_kwargs)
        self.batch_size = batch_size


class _EncodeActor(_ModelActor):
    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts = batch.column("text").to_pylist()
        emb = np.asarray(self.model.encode(texts, batch_size=self.batch_size), dtype=np.float32)
        emb = emb.reshape(len(texts), self.model.embedding_dim)
        flat = pa.array(emb.reshape(-1), type=pa.float32())
        embedding = pa.FixedSizeListArray.from_arrays(flat, self.model.embedding_dim)
        return pa.Table.from_arrays([batch.column("line"), embedding], names=["line", "embedding"])


class _ScoreActor(_ModelActor):
    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        a = batch.column("text_a").to_pylist()
        b = batch.column("text_b").to_pylist()
        scores = np.asarray(self.model.similarity(a, b, batch_size=self.batch_size), dtype=np.float32)
        return batch.append_column("score", pa.array(scores, type=pa.float32()))


# ---------------------------------------------------------------------------------------------- helpers
#: Ray's loggers, set to ERROR while a quiet run lasts (``ray.data`` logs each execution at INFO).
RAY_LOGGERS = ("ray", "ray.data", "ray.util", "ray._private")
#: Environment of the Ray processes a quiet run starts: the C++ core worker logs only fatal errors (its "E" lines
#: are advice, e.g. on actor constructor arguments), and Ray Data does not print execution plans.
QUIET_RAY_ENV = {"RAY_BACKEND_LOG_LEVEL": "fatal", "RAY_DATA_DISABLE_PROGRESS_BARS": "1"}


@contextlib.contextmanager
def quiet_ray() -> Iterator[None]:
    """While the block runs, Ray and Ray Data log errors only (see :data:`RAY_LOGGERS`, :data:`QUIET_RAY_ENV`);
    the loggers' levels and the environment are restored afterwards."""
    saved_env = {k: os.environ.get(k) for k in QUIET_RAY_ENV}
    loggers = [logging.getLogger(name) for name in RAY_LOGGERS]
    saved_levels = [lg.level for lg in loggers]
    os.environ.update(QUIET_RAY_ENV)
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, saved_levels, strict=True):
            lg.setLevel(level)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: What the Ray core worker prints while ``ray.init`` starts it, and a quiet run drops: its note that it read
#: :data:`QUIET_RAY_ENV`'s log level (printed at INFO whatever that level is).
QUIET_INIT_LINES = ("Set ray log level from environment variable",)


@contextlib.contextmanager
def dropping_stderr_lines(drop: tuple[str, ...]) -> Iterator[None]:
    """While the block runs, what this process writes to file descriptor 2 (Ray's C++ core included) is held
    back; afterwards it is written to ``sys.stderr`` without the lines that contain one of ``drop``. Nothing is
    held back when ``drop`` is empty."""
    if not drop:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode("utf-8", errors="replace").splitlines(keepends=True):
                if not any(d in line for d in drop):
                    sys.stderr.write(line)


def _is_uri(path: str | os.PathLike[str]) -> bool:
    return "://" in os.fspath(path)


def _local_or_uri(path: str | os.PathLike[str], what: str) -> str:
    """An absolute local path (Ray workers do not share the driver's working directory) or the URI as given."""
    if _is_uri(path):
        return os.fspath(path)
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise FileNotFoundError(f"{what} not found: {p}")
    return str(p)


def _model_ref(model: str | os.PathLike[str] | None) -> str | None:
    """What the actors load: an absolute path for a local model, else the Hub name (checked before Ray starts)."""
    if model is None:
        return None
    name = os.fspath(model)
    local = Path(name).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ValueError(f"model path {name!r} is not a directory")
        return str(local.resolve())
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ValueError(f"no model directory at {name!r} (and it is not a Hub name of the form 'org/name')")
    return name


def _check_output(output: str | os.PathLike[str], overwrite: bool) -> bool:
    """Refuse an existing output unless ``overwrite``; return whether it exists."""
    if _is_uri(output):
        import pyarrow.fs

        fs, root = pyarrow.fs.FileSystem.from_uri(os.fspath(output))
        exists = fs.get_file_info(root).type != pyarrow.fs.FileType.NotFound
        if exists and not overwrite:
            raise FileExistsError(f"{output} already exists; pass --overwrite to replace it")
        return exists
    target = Path(output).expanduser()
    if target.exists() and not target.is_dir():
        raise ValueError(f"output {target} exists and is not a directory (the Ray engine writes a parquet folder)")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(f"{target} already exists and is not empty; pass --overwrite to replace it")
    return target.exists()


@contextlib.contextmanager
def _output_dir(output: str | os.PathLike[str], overwrite: bool) -> Iterator[str]:
    """Yield the folder Ray writes to: a temporary sibling renamed over ``output`` on success (local paths)."""
    exists = _check_output(output, overwrite)
    if _is_uri(output):  # object stores have no atomic rename: remove the earlier parquet parts, write in place
        if exists:
            import pyarrow.fs

            fs, root = pyarrow.fs.FileSystem.from_uri(os.fspath(output))
            for info in fs.get_file_info(pyarrow.fs.FileSelector(root, recursive=False)):
                if info.type == pyarrow.fs.FileType.File and _is_output_part(info.base_name):
                    fs.delete_file(info.path)
        yield os.fspath(output)
        return
    with atomic_dir(output, overwrite=overwrite, replaces=_is_output_part) as tmp:
        yield str(tmp)


def _is_output_part(name: str) -> bool:
    """A file Ray wrote for an earlier run of the same output (a parquet part); other files are kept."""
    return name.endswith(".parquet")


def _user_error(err: BaseException) -> BaseException | None:
    """The textsiam error (bad input line, missing model, ...) inside the exceptions Ray wraps it in."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if type(e) in (ValueError, TypeError, FileNotFoundError):
            return e
        if getattr(e, "actor_init_failed", False):  # ActorDiedError keeps only the text of the actor's error
            found = re.findall(r"^\s*(?:\S+\s+)?(\w+(?:Error|Exception)): (.+)$", str(e), flags=re.MULTILINE)
            detail = ": ".join(found[-1]) if found else str(e).splitlines()[0]
            return ValueError(f"a Ray actor could not load the model: {detail}")
        stack += [e.__cause__, e.__context__, getattr(e, "cause", None)]
    return None


def _run(
    kind: str,
    source: str,
    output: str | os.PathLike[str],
    model: str | os.PathLike[str] | None,
    model_kwargs: dict[str, Any] | None,
    batch_size: int,
    block_rows: int,
    num_actors: int | None,
    num_cpus_per_actor: float,
    num_gpus_per_actor: float,
    address: str | None,
    overwrite: bool,
    show_progress: bool,
) -> str:
    for name, value in (("batch_size", batch_size), ("block_rows", block_rows)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if num_actors is not None and (not isinstance(num_actors, int) or num_actors < 1):
        raise ValueError(f"num_actors must be a positive int or None, got {num_actors!r}")
    if num_cpus_per_actor <= 0 or num_gpus_per_actor < 0:
        raise ValueError(
            f"need num_cpus_per_actor > 0 and num_gpus_per_actor >= 0, got {num_cpus_per_actor}, {num_gpus_per_actor}"
        )
    source = _local_or_uri(source, "input file" if kind == "text" else "pairs file")
    model_ref = _model_ref(model)
    _check_output(output, overwrite)  # fail before Ray starts
    ray = require_ray()
    from textsiam.distributed.ray_datasource import LinesDatasource

    started = False
    quiet = not logger.isEnabledFor(logging.INFO)  # Ray says what textsiam says: nothing below WARNING under -q
    stack = contextlib.ExitStack()
    if quiet:
        stack.enter_context(quiet_ray())
    if not ray.is_initialized():
        logger.info("connecting to Ray %s", f"at {address}" if address else "(starting a local instance)")
        kwargs: dict[str, Any] = {"address": address, "logging_level": logging.ERROR if quiet else logging.WARNING}
        if quiet:
            kwargs["log_to_driver"] = False  # the actors' own stdout / stderr
        if address is None:
            kwargs["include_dashboard"] = False
        try:
            with dropping_stderr_lines(QUIET_INIT_LINES if quiet else ()):
                ray.init(**kwargs)
        except BaseException:
            stack.close()  # Ray's loggers and environment as they were, also when it did not start
            raise
        started = True
    elif address:
        logger.warning("Ray is already initialised in this process; ignoring address=%r", address)
    ctx = ray.data.DataContext.get_current()
    progress_before = ctx.enable_progress_bars
    ctx.enable_progress_bars = bool(show_progress)
    try:
        if num_actors is not None:
            compute = ray.data.ActorPoolStrategy(size=num_actors)
        else:
            cpus = float(ray.cluster_resources().get("CPU", 1.0))
            compute = ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, int(cpus // num_cpus_per_actor)))
        actor = _EncodeActor if kind == "text" else _ScoreActor
        threads = max(1, int(num_cpus_per_actor))
        start = time.perf_counter()
        # The actors may hold every CPU of the cluster; reading lines and writing parquet are light, so they
        # reserve none (with a CPU each they could wait forever for the actors to finish).
        with _output_dir(output, overwrite) as out_dir:
            datasource = LinesDatasource(source, kind=kind, block_rows=block_rows)
            ds = ray.data.read_datasource(datasource, num_cpus=0)
            ds = ds.map_batches(
                actor,
                batch_size=block_rows,
                batch_format="pyarrow",
                compute=compute,
                fn_constructor_args=(model_ref, dict(model_kwargs or {}), batch_size, threads),
                num_cpus=num_cpus_per_actor,
                num_gpus=num_gpus_per_actor or None,
            )
            try:
                ds.write_parquet(out_dir, ray_remote_args={"num_cpus": 0})
            except Exception as err:
                cause = _user_error(err)
                if cause is not None:
                    raise type(cause)(str(cause)) from err
                raise
        logger.info("wrote %s results to %s in %.1fs", kind, output, time.perf_counter() - start)
    finally:
        ctx.enable_progress_bars = progress_before
        if started:
            ray.shutdown()
        stack.close()
    return os.fspath(output)


# ---------------------------------------------------------------------------------------------- public API
def encode_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    model: str | os.PathLike[str] | None = None,
    *,
    model_kwargs: dict[str, Any] | None = None,
    batch_size: int = 64,
    block_rows: int = 10_000,
    num_actors: int | None = None,
    num_cpus_per_actor: float = 1,
    num_gpus_per_actor: float = 0,
    address: str | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> str:
    """Embed a text file (one text per line) on Ray; write ``line``, ``embedding`` as parquet to ``output``.

    Args:
        input: the text file (a local path, or a URI pyarrow reads, e.g. ``s3://...``).
        output: the parquet folder to create (refused if it exists and is not empty, unless ``overwrite``).
        model: model directory or Hub name (default: the embedded all-MiniLM-L6-v2), loaded once per actor.
        model_kwargs: more arguments of :meth:`SiameseModel.from_pretrained` (``max_seq_length``, ...).
        batch_size: texts per forward pass.
        block_rows: lines per block, the unit of work handed to an actor.
        num_actors: actors in the pool (default: an autoscaling pool of up to one per ``num_cpus_per_actor``
            CPUs of the cluster).
        num_cpus_per_actor: CPUs Ray reserves for each actor (also its torch thread count).
        num_gpus_per_actor: GPUs per actor (``> 0`` runs the model on the actor's GPU).
        address: Ray cluster address (``"auto"``, ``"HOST:6379"``, ``"ray://HOST:10001"``); default: the Ray
            instance already initialised in this process, else a new local one (shut down afterwards).
        overwrite: replace an existing output.
        show_progress: Ray Data progress bars.

    Returns:
        ``output``. Read it back in input order with :func:`read_embeddings`.
    """
    return _run(
        "text", input, output, model, model_kwargs, batch_size, block_rows, num_actors, num_cpus_per_actor,
        num_gpus_per_actor, address, overwrite, show_progress,
    )  # fmt: skip


def score_file(
    pairs: str | os.PathLike[str],
    output: str | os.PathLike[str],
    model: str | os.PathLike[str] | None = None,
    *,
    model_kwargs: dict[str, Any] | None = None,
    batch_size: int = 64,
    block_rows: int = 10_000,
    num_actors: int | None = None,
    num_cpus_per_actor: float = 1,
    num_gpus_per_actor: float = 0,
    address: str | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> str:
    """Score a TSV of pairs (``text_a<TAB>text_b`` per line) on Ray; write ``line, text_a, text_b, score``.

    The pairs file is read as ``textsiam score --pairs`` reads it (a ``text_a<TAB>text_b`` header line is
    skipped; a line without a tab is an error naming ``file:line``). The arguments are those of
    :func:`encode_file`; ``model_kwargs`` may set ``similarity``. Read the result with :func:`read_scores`.
    """
    return _run(
        "pairs", pairs, output, model, model_kwargs, batch_size, block_rows, num_actors, num_cpus_per_actor,
        num_gpus_per_actor, address, overwrite, show_progress,
    )  # fmt: skip


def _read_parquet_dir(output: str | os.PathLike[str]) -> Any:
    import pyarrow.parquet as pq

    if not _is_uri(output) and not Path(output).is_dir():
        raise FileNotFoundError(f"no output folder at {output}")
    if not _is_uri(output) and not any(p.suffix == ".parquet" for p in Path(output).iterdir()):
        return None  # an empty input gives an empty folder
    return pq.read_table(os.fspath(output)).sort_by("line")


def read_embeddings(output: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(lines, embeddings)`` of an :func:`encode_file` output, in input order: ``(N,)`` int64, ``(N, D)`` float32."""
    table = _read_parquet_dir(output)
    if table is None:
        return np.empty((0,), dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    column = table.column("embedding").combine_chunks()
    dim = column.type.list_size
    emb = column.values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dim)
    return table.column("line").to_numpy(), emb


def read_scores(output: str | os.PathLike[str]) -> Any:
    """The ``line, text_a, text_b, score`` rows of a :func:`score_file` output as a pandas DataFrame, in input order."""
    import pandas as pd

    table = _read_parquet_dir(output)
    if table is None:
        return pd.DataFrame({"line": [], "text_a": [], "text_b": [], "score": []})
    return table.to_pandas().reset_index(drop=True)
