"""Crash safety of training: ``textsiam train`` SIGKILLed mid-epoch and resumed equals the uninterrupted run.

(``test_train_run.py::test_resume_reproduces_the_uninterrupted_run`` stops training cleanly from a callback; here
the process is killed for real, at whatever point it has reached.)
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from textsiam.training import latest_checkpoint

from .helpers import make_sts_rows, write_csv
from .test_distributed import subprocess_env

STEPS_PER_EPOCH = 25  # 200 pairs / batch 8
EPOCHS = 2


def _train_cmd(cfg, out, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "textsiam",
        "train",
        "--config",
        str(cfg),
        "--output-dir",
        str(out),
        *extra,
    ]  # no -q: INFO lines are read


def _run(cmd, cwd) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=subprocess_env(), cwd=cwd)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return proc.stdout + proc.stderr


def _step(checkpoint) -> int:
    return int(checkpoint.name.split("-")[1]) if checkpoint is not None else 0


def _assert_same_weights(a, b) -> None:
    wa, wb = load_file(str(a)), load_file(str(b))
    assert set(wa) == set(wb)
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_equals_uninterrupted_run(tmp_path, tiny_config):
    train = write_csv(tmp_path / "train.csv", make_sts_rows(STEPS_PER_EPOCH * 8, 5))
    # a checkpoint (and a dev evaluation) every 5 steps; dropout on, so the RNG state must be restored too
    cfg = tiny_config(train_dataset=str(train), epochs=EPOCHS, eval_steps=5, logging_steps=5, n_resamples=0)
    cfg_file = cfg.to_file(tmp_path / "crash.yaml")
    total = STEPS_PER_EPOCH * EPOCHS

    full = tmp_path / "full"
    _run(_train_cmd(cfg_file, full), tmp_path)

    crashed = tmp_path / "crashed"
    proc = subprocess.Popen(
        _train_cmd(cfg_file, crashed),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=subprocess_env(),
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 600
        while _step(latest_checkpoint(crashed / "checkpoints")) <= STEPS_PER_EPOCH:  # kill in the second epoch
            assert proc.poll() is None, "training ended before a checkpoint of its second epoch"
            assert time.monotonic() < deadline, "no checkpoint of the second epoch after 10 minutes"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_at = _step(latest_checkpoint(crashed / "checkpoints"))
    assert STEPS_PER_EPOCH < killed_at < total, f"killed after step {killed_at}: not inside the second epoch"
    assert not (crashed / "model").exists()  # the run did not finish

    log = _run(_train_cmd(cfg_file, crashed, "--resume"), tmp_path)
    assert "resuming from" in log
    state = json.loads((latest_checkpoint(crashed / "checkpoints") / "trainer_state.json").read_text())
    assert state["global_step"] == total
    final = f"checkpoints/checkpoint-{total}/model.safetensors"
    _assert_same_weights(full / final, crashed / final)
    _assert_same_weights(full / "model" / "model.safetensors", crashed / "model" / "model.safetensors")  # best model


def test_a_half_written_checkpoint_is_skipped(tmp_path):
    for step in (5, 10):
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (tmp_path / "checkpoint-15").mkdir()  # killed before its trainer_state.json
    assert latest_checkpoint(tmp_path).name == "checkpoint-10"
    (tmp_path / "checkpoint-10" / "trainer_state.json").write_text('{"global_step": 1')  # killed mid-write
    assert latest_checkpoint(tmp_path).name == "checkpoint-5"
