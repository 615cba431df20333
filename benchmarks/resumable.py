"""Resumable textsiam training for the benchmark scripts, with honest times.

A long benchmark run killed part-way (a session's end, a reboot) continues on the next call from its latest
checkpoint instead of starting over, and the time its earlier attempts spent up to that checkpoint still counts:
each checkpoint's save writes the run's time so far (wall and CPU, from the start of the first attempt; teachers,
silver labels and data preparation included) to ``WORK/.progress/NAME.json``, with the config asked for. Work done
after the last checkpoint of a killed attempt is lost and not counted, as an uninterrupted run would not do it.

A run resumes only when all three hold: a complete checkpoint, a recorded time for it, and the same config as the
attempt that recorded it. Otherwise it starts over (``overwrite``: the run's own files only).

    outcome = train_resumable(config, work_dir, "mrpc_plain", command())
    outcome.result.model_dir, outcome.wall_s, outcome.resumed_from

sentence-transformers' side of a benchmark resumes the same way (:func:`train_st_resumable`), when its dev choice
was written with the checkpoint (``benchmarks.finetune_multitask_st.persist_selection``).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)

#: the folder of the work directory that holds each run's checkpoint times
PROGRESS_DIR = ".progress"


@dataclass
class Outcome:
    """What :func:`train_resumable` returns."""

    result: Any  # textsiam.training.TrainResult of the attempt that finished
    resumed_from: int | None  # the checkpoint step this attempt continued from; None = trained from the start
    earlier_wall_s: float  # wall seconds the earlier attempts spent up to that checkpoint (0 without one)
    earlier_cpu_s: float  # their CPU seconds
    wall_s: float  # the run's wall seconds: earlier attempts up to the checkpoint + this attempt
    cpu_s: float  # and CPU seconds


def progress_path(work: Path, name: str) -> Path:
    """``WORK/.progress/NAME.json``: the time of run ``NAME`` at each of its checkpoints."""
    return Path(work) / PROGRESS_DIR / f"{name}.json"


def read_progress(work: Path, name: str) -> dict[str, Any]:
    """``{"config": {...}, "steps": {step: {"wall_s": ..., "cpu_s": ...}}}`` of run ``NAME`` (empty if none was
    recorded or it is unreadable)."""
    path = progress_path(work, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("steps"), dict) else {}


class TimeAtCheckpoint(TrainerCallback):
    """Writes the run's time so far to the progress file after every checkpoint save."""

    def __init__(self, path: Path, clock: Callable[[], tuple[float, float]], progress: dict[str, Any]):
        self.path, self.clock, self.progress = path, clock, progress

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        wall, cpu = self.clock()
        self.progress["steps"][str(state.global_step)] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(self.progress, indent=1) + "\n", encoding="utf-8")
        partial.replace(self.path)  # never half-written


def resume_point(config: Any, work: Path, name: str) -> tuple[int, dict[str, float]] | None:
    """The checkpoint step to continue run ``NAME`` from and the time spent up to it, or None (start over)."""
    from textsiam.evaluation.results import to_jsonable
    from textsiam.training.run_folder import latest_checkpoint

    ckpt = latest_checkpoint(Path(config.output_dir) / "checkpoints")
    if ckpt is None:
        return None
    step = int(ckpt.name.rsplit("-", 1)[1])
    progress = read_progress(work, name)
    same = progress.get("config") == to_jsonable(config.to_dict())
    spent = progress.get("steps", {}).get(str(step))
    if not same or spent is None:
        why = "no time was recorded for it" if spent is None else "its config changed"
        logger.info("%s: not resuming from %s (%s): training from the start", name, ckpt.name, why)
        return None
    return step, spent


def start_clock(
    config: Any, work: Path, name: str, point: tuple[int, dict[str, float]] | None
) -> tuple[TimeAtCheckpoint, tuple[float, float]]:
    """The callback that records run ``NAME``'s time at its checkpoints, its clock counting from the time spent
    before ``point`` (the checkpoint resumed from, None: from zero), and that earlier ``(wall_s, cpu_s)``."""
    from textsiam.evaluation.results import to_jsonable

    before_wall, before_cpu = (point[1]["wall_s"], point[1]["cpu_s"]) if point else (0.0, 0.0)
    steps = {k: v for k, v in read_progress(work, name).get("steps", {}).items() if point and int(k) <= point[0]}
    progress = {"config": to_jsonable(config.to_dict()), "steps": steps}
    wall0, cpu0 = time.perf_counter(), time.process_time()

    def clock() -> tuple[float, float]:
        return before_wall + time.perf_counter() - wall0, before_cpu + time.process_time() - cpu0

    if point:
        logger.info("%s: resuming from checkpoint-%d (%.0f s spent before it)", name, point[0], before_wall)
    return TimeAtCheckpoint(progress_path(work, name), clock, progress), (before_wall, before_cpu)


def train_resumable(config: Any, work: Path, name: str, command: str) -> Outcome:
    """Train ``config`` (``textsiam.training.train``), resuming run ``NAME`` of ``work`` when it can (see above)."""
    from textsiam.training import train

    point = resume_point(config, work, name)
    callback, (before_wall, before_cpu) = start_clock(config, work, name, point)
    clock = callback.clock
    result = train(
        config, resume=bool(point), overwrite=not point, callbacks=[callback], command=command, show_progress=False
    )
    wall, cpu = clock()
    return Outcome(result, point[0] if point else None, before_wall, before_cpu, round(wall, 3), round(cpu, 3))


def train_st_resumable(
    config: Any, tasks: dict[str, Any], sampler: str, start_model: str | None, work: Path, name: str
) -> dict[str, Any]:
    """Train ``config`` with sentence-transformers (``benchmarks.finetune_multitask_st.train_st``) into
    ``config.output_dir``, resuming run ``NAME`` of ``work`` when it can: the rules above, and the dev choice
    written with the checkpoint. Starting over removes the earlier attempt's checkpoints first (the run's own
    files). Returns ``train_st``'s record with ``resumed_from_step``, ``earlier_wall_s`` and ``earlier_cpu_s``."""
    from benchmarks.finetune_multitask_st import saved_selection_step, train_st

    out = Path(config.output_dir)
    point = resume_point(config, work, name)
    if point and saved_selection_step(out) != point[0]:
        logger.info("%s: not resuming from checkpoint-%d (no dev choice was written with it)", name, point[0])
        point = None
    if point is None:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    callback, (before_wall, before_cpu) = start_clock(config, work, name, point)
    resume_from = out / "checkpoints" / f"checkpoint-{point[0]}" if point else None
    record = train_st(config, tasks, sampler, start_model, out, callbacks=[callback], resume_from=resume_from)
    return {
        **record,
        "resumed_from_step": point[0] if point else None,
        "earlier_wall_s": before_wall,
        "earlier_cpu_s": before_cpu,
    }
