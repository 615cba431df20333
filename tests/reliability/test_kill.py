"""Killed commands leave nothing behind for long: SIGKILL, then the same command again (issue #15).

A ``textsiam`` subprocess is SIGKILLed while it writes (its temporary output / work folder / run folder
exists), then the same command runs to completion in this process; afterwards no temporary file of the killed
run remains (``.NAME.PID.*.tmp``, ``.NAME.tmp-*``, ``.NAME.old-*``, ``textsiam-mine-PID-*``). SIGTERM and
Ctrl-C (SIGINT) remove the temporary output on the way out.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from textsiam.cli import main
from textsiam.training import TrainConfig, latest_checkpoint

WORDS = "cat dog runs on the mat a big small red market fell rose sharply today bird sings".split()
POLL_S = 0.002


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=6)) for _ in range(n)]


def _env(tmp_path: Path) -> dict[str, str]:
    systmp = tmp_path / "systmp"
    systmp.mkdir(exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["TMPDIR"] = str(systmp)  # the mining work folder goes here, where the test can see it
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


def _start(argv: list[str], tmp_path: Path, default_sigint: bool = False) -> subprocess.Popen:
    log = open(tmp_path / "child.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "textsiam.cli", *argv],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(tmp_path),
        cwd=tmp_path,
        # a SIGINT that is ignored at start-up (e.g. a background job) stays ignored in Python: undo that
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if default_sigint else None,
    )


def _wait_for(
    proc: subprocess.Popen, ready: Callable[[], bool], what: str, tmp_path: Path, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            log = (tmp_path / "child.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"the command ended (rc {proc.returncode}) before {what}:\n{log}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(POLL_S)


def _signal(proc: subprocess.Popen, sig: int) -> int:
    try:
        proc.send_signal(sig)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _temp_outputs(folder: Path, name: str) -> list[str]:
    """Names in ``folder`` of temporaries of an atomic write of ``name``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


def _pairs_file(tmp_path: Path, n: int) -> Path:
    texts = _texts(2 * n)
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{a}\t{b}\n" for a, b in zip(texts[:n], texts[n:], strict=True)), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- score / encode
@pytest.mark.slow
def test_sigkilled_score_then_rerun_leaves_no_temp_file(tiny_model_dir, tmp_path):
    pairs = _pairs_file(tmp_path, 1500)
    out = tmp_path / "scores.tsv"
    argv = ["score", "--pairs", str(pairs), "-o", str(out), "-m", str(tiny_model_dir), "-q"]
    slow = ["--chunk-size", "1", "--batch-size", "1"]  # one pair per forward pass: the write takes a while
    proc = _start([*argv, *slow], tmp_path)
    _wait_for(proc, lambda: bool(_temp_outputs(tmp_path, out.name)), "the temporary output", tmp_path)
    assert _signal(proc, signal.SIGKILL) == -signal.SIGKILL
    (left,) = _temp_outputs(tmp_path, out.name)
    assert left.startswith(f".scores.tsv.{proc.pid}.") and not out.exists()

    assert main(argv) == 0  # nothing was published, so no --overwrite is needed
    assert _temp_outputs(tmp_path, out.name) == []
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1501


@pytest.mark.slow
def test_sigkilled_encode_then_rerun_leaves_no_temp_file(tiny_model_dir, tmp_path):
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(_texts(1500)) + "\n", encoding="utf-8")
    out = tmp_path / "emb.npy"
    out.write_bytes(b"an earlier result")  # replaced only by a complete run with --overwrite
    argv = ["encode", str(src), "-o", str(out), "-m", str(tiny_model_dir), "-q", "--overwrite"]
    proc = _start([*argv, "--chunk-size", "1", "--batch-size", "1"], tmp_path)
    _wait_for(proc, lambda: bool(_temp_outputs(tmp_path, out.name)), "the temporary output", tmp_path)
    assert _signal(proc, signal.SIGKILL) == -signal.SIGKILL
    assert len(_temp_outputs(tmp_path, out.name)) == 1
    assert out.read_bytes() == b"an earlier result"

    assert main(argv) == 0
    assert _temp_outputs(tmp_path, out.name) == []
    assert np.load(out).shape == (1500, 32)


# ---------------------------------------------------------------------------------------------- mine
@pytest.mark.slow
def test_sigkilled_mine_then_rerun_leaves_no_work_folder(tiny_model_dir, tmp_path, monkeypatch):
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(_texts(1500)) + "\n", encoding="utf-8")
    out = tmp_path / "dups.tsv"
    systmp = tmp_path / "systmp"
    argv = ["mine", str(src), "-o", str(out), "-m", str(tiny_model_dir), "-q", "--threshold", "0.9"]
    proc = _start([*argv, "--chunk-size", "10", "--batch-size", "1"], tmp_path)

    def work_dirs() -> list[str]:
        return sorted(p.name for p in systmp.iterdir() if p.name.startswith(f"textsiam-mine-{proc.pid}-"))

    _wait_for(proc, lambda: bool(work_dirs()), "the mining work folder", tmp_path)
    assert _signal(proc, signal.SIGKILL) == -signal.SIGKILL
    assert len(work_dirs()) == 1  # SIGKILL: nothing could clean up

    monkeypatch.setattr(tempfile, "tempdir", str(systmp))  # the rerun uses the same temp folder
    assert main(argv) == 0
    assert work_dirs() == [] and list(systmp.iterdir()) == []
    assert _temp_outputs(tmp_path, out.name) == []
    assert out.read_text(encoding="utf-8").startswith("i\tj\tscore\ttext_a\ttext_b\n")


# ---------------------------------------------------------------------------------------------- SIGTERM / SIGINT
@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_remove_the_temporary_output(tiny_model_dir, tmp_path, sig, code):
    pairs = _pairs_file(tmp_path, 1500)
    out = tmp_path / "scores.tsv"
    argv = ["score", "--pairs", str(pairs), "-o", str(out), "-m", str(tiny_model_dir), "-q"]
    proc = _start([*argv, "--chunk-size", "1", "--batch-size", "1"], tmp_path, default_sigint=True)
    _wait_for(proc, lambda: bool(_temp_outputs(tmp_path, out.name)), "the temporary output", tmp_path)
    rc = _signal(proc, sig)
    log = (tmp_path / "child.log").read_text(errors="replace")
    assert rc == code, log[-3000:]
    assert _temp_outputs(tmp_path, out.name) == [] and not out.exists()
    assert "Traceback" not in log


# ---------------------------------------------------------------------------------------------- train
def _train_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(1)
    paths = []
    for name, n in (("train.csv", 200), ("dev.csv", 24)):
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text_a", "text_b", "label"])
            for a, b in zip(_texts(n, seed=len(name)), _texts(n, seed=len(name) + 1), strict=True):
                writer.writerow([a, b, round(rng.uniform(0, 5), 2)])
        paths.append(path)
    return paths[0], paths[1]


def _no_run_leftovers(out: Path) -> None:
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers


@pytest.mark.slow
def test_sigkilled_train_then_rerun(tiny_model_dir, tmp_path, capsys):
    train_csv, dev_csv = _train_files(tmp_path)
    cfg = TrainConfig(
        model=str(tiny_model_dir),
        train_dataset=str(train_csv),
        dev_dataset=str(dev_csv),
        test_datasets=[],
        epochs=1,
        batch_size=8,
        eval_steps=5,  # 25 steps: a checkpoint (and a dev evaluation) every 5
        learning_rate=1e-3,
        logging_steps=5,
        n_resamples=0,
        eval_batch_size=32,
        save_total_limit=None,
    ).to_file(tmp_path / "tiny.yaml")
    out = tmp_path / "run"
    argv = ["train", "--config", str(cfg), "--output-dir", str(out), "-q"]

    # 1. killed before its first checkpoint: --resume says what to do, a plain rerun starts over
    proc = _start(argv, tmp_path)
    _wait_for(proc, lambda: (out / "train_config.yaml").is_file(), "train_config.yaml", tmp_path)
    assert _signal(proc, signal.SIGKILL) == -signal.SIGKILL
    assert latest_checkpoint(out / "checkpoints") is None, "the run reached a checkpoint before it was killed"
    assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "stopped before its first checkpoint" in err and "without --resume" in err
    assert main(argv) == 0
    assert (out / "model" / "textsiam.json").is_file()
    _no_run_leftovers(out)

    # 2. killed after a checkpoint of a run over a finished one: that run needs --overwrite (or --resume)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    shutil.rmtree(out / "checkpoints")  # so that the checkpoint waited for is the new run's
    proc = _start([*argv, "--overwrite"], tmp_path)
    _wait_for(proc, lambda: latest_checkpoint(out / "checkpoints") is not None, "a checkpoint", tmp_path)
    assert _signal(proc, signal.SIGKILL) == -signal.SIGKILL
    assert not (out / "model").exists()
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "--resume" in err
    assert main([*argv, "--overwrite"]) == 0
    assert (out / "model" / "textsiam.json").is_file()
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # never a file that is not the run's
    _no_run_leftovers(out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
