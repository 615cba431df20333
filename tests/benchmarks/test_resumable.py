"""``benchmarks.resumable``: a benchmark run killed after a checkpoint continues from it on the next call, and the
time spent up to that checkpoint counts; a changed config or an unrecorded time starts over."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch


@pytest.fixture
def resumable(import_benchmark: Any) -> Any:
    return import_benchmark("resumable")


@pytest.fixture
def config(tmp_path: Path, tiny_model_dir: Path) -> Any:
    from textsiam.training import TrainConfig

    rows = [(f"a red fox {i} runs", f"the fox number {i % 5} jumps", (i % 5) / 4) for i in range(24)]
    files = []
    for name in ("train", "dev"):
        path = tmp_path / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("text_a", "text_b", "label"), *rows])
        files.append(str(path))
    return TrainConfig(  # 24 pairs / batch 8 = 3 steps an epoch; a checkpoint after each epoch
        model=str(tiny_model_dir), train_dataset=files[0], dev_dataset=files[1], test_datasets=[], epochs=2,
        batch_size=8, learning_rate=1e-3, n_resamples=20, save_total_limit=None,
        output_dir=str(tmp_path / "work" / "r"),
    )  # fmt: skip


class Killed(RuntimeError):
    pass


def killed_after_first_checkpoint(resumable: Any, monkeypatch: pytest.MonkeyPatch, run: Callable[[], Any]) -> None:
    """Call ``run`` with its process 'killed' (an exception) right after its first checkpoint's time is written."""
    save = resumable.TimeAtCheckpoint.on_save

    def killed_after_first_save(self: Any, args: Any, state: Any, control: Any, **kw: Any) -> None:
        save(self, args, state, control, **kw)
        raise Killed("killed after the first checkpoint")

    with monkeypatch.context() as m:
        m.setattr(resumable.TimeAtCheckpoint, "on_save", killed_after_first_save)
        with pytest.raises(Killed, match="killed after the first checkpoint"):
            run()


def test_a_killed_run_resumes_and_its_time_counts(
    resumable: Any, config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.set_num_threads(1)
    work = tmp_path / "work"
    killed_after_first_checkpoint(resumable, monkeypatch, lambda: resumable.train_resumable(config, work, "r", "cmd"))
    progress = json.loads(resumable.progress_path(work, "r").read_text(encoding="utf-8"))["steps"]
    assert list(progress) == ["3"] and progress["3"]["wall_s"] > 0
    assert resumable.resume_point(config, work, "r") == (3, progress["3"])

    outcome = resumable.train_resumable(config, work, "r", "cmd")
    assert outcome.resumed_from == 3 and outcome.result.global_step == 6
    assert outcome.earlier_wall_s == progress["3"]["wall_s"] and outcome.wall_s > outcome.earlier_wall_s
    assert outcome.cpu_s > outcome.earlier_cpu_s == progress["3"]["cpu_s"]
    after = json.loads(resumable.progress_path(work, "r").read_text(encoding="utf-8"))["steps"]
    assert list(after) == ["3", "6"] and after["3"] == progress["3"]
    assert after["6"]["wall_s"] > after["3"]["wall_s"]

    changed = config.with_overrides(["learning_rate=5e-4"])  # another recipe in the same folder: from the start
    assert resumable.resume_point(changed, work, "r") is None
    again = resumable.train_resumable(changed, work, "r", "cmd")
    assert again.resumed_from is None and again.earlier_wall_s == 0.0 and again.result.global_step == 6
    resumable.progress_path(work, "r").unlink()  # no time recorded for the checkpoint: from the start
    assert resumable.resume_point(changed, work, "r") is None


def test_a_killed_sentence_transformers_run_resumes_with_its_dev_choice(
    resumable: Any, config: Any, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.finetune_multitask_st as st_side

    torch.set_num_threads(1)
    config = config.with_overrides([f"data_dir={data_dir}"])
    work, out = tmp_path / "work", Path(config.output_dir)
    # 24 STS-B pairs / batch 8 = 3 steps an epoch, as above
    tasks = {"stsb": {"dataset": "stsb", "loss": "cosent", "max_train_pairs": 24, "max_dev_pairs": 40}}
    killed_after_first_checkpoint(
        resumable,
        monkeypatch,
        lambda: resumable.train_st_resumable(config, tasks, "proportional", config.model, work, "st"),
    )
    saved = json.loads((out / st_side.SELECTION_FILE).read_text(encoding="utf-8"))
    assert saved["step"] == saved["best_step"] == 3 and [h["step"] for h in saved["history"]] == [3]
    assert (out / st_side.BEST_DIR / "model.safetensors").is_file()
    spent = json.loads(resumable.progress_path(work, "st").read_text(encoding="utf-8"))["steps"]["3"]

    record = resumable.train_st_resumable(config, tasks, "proportional", config.model, work, "st")
    assert record["resumed_from_step"] == 3 and record["global_step"] == 6
    assert (record["earlier_wall_s"], record["earlier_cpu_s"]) == (spent["wall_s"], spent["cpu_s"])
    assert [h["step"] for h in record["dev_history"]] == [3, 6]  # the first attempt's evaluation is kept
    assert record["best_dev"] == max(h["mean_dev"] for h in record["dev_history"])

    (out / st_side.SELECTION_FILE).unlink()  # no dev choice with the checkpoint: from the start, its files gone
    again = resumable.train_st_resumable(config, tasks, "proportional", config.model, work, "st")
    assert again["resumed_from_step"] is None and again["earlier_wall_s"] == 0.0 and again["global_step"] == 6
    assert [h["step"] for h in again["dev_history"]] == [3, 6]
    with pytest.raises(ValueError, match="not the dev choice of"):
        st_side.train_st(config, tasks, "proportional", config.model, out, resume_from=out / "checkpoints" / "x-3")
