"""``torchrun --nproc_per_node 2 -m textsiam train``: DDP with the gloo backend on the CPU."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from textsiam import SiameseModel
from textsiam.training import latest_checkpoint
from textsiam.training.sampler import SiameseBatchSampler
from textsiam.training.trainer import _SamplerEpoch


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env() -> dict[str, str]:
    """One torch thread per process (the machine's cores are shared), offline, and textsiam importable."""
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


def torchrun(cfg, cwd, *extra: str) -> str:
    cmd = [
        sys.executable, "-m", "torch.distributed.run",  # = torchrun
        "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
        "-m", "textsiam", "train", "--config", str(cfg), *extra,  # no -q: the test reads the INFO lines
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=subprocess_env(), cwd=cwd)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    return log


@pytest.mark.slow
def test_torchrun_two_processes_train_and_the_model_loads(tmp_path, tiny_config, tiny_model_dir):
    # 40 pairs / batch 8 = 5 batches per epoch; the two processes share them: ceil(5 / 2) = 3 steps per epoch.
    # A checkpoint every 2 steps: checkpoint-4 lies inside the second epoch.
    cfg = tiny_config(epochs=2, eval_steps=2, output_dir=str(tmp_path / "run")).to_file(tmp_path / "ddp.yaml")
    log = torchrun(cfg, tmp_path)
    for rank in (0, 1):
        assert f"distributed training: process {rank} of 2 (local rank {rank}, gloo backend)" in log, log[-5000:]
    assert log.count("model saved to") == 1  # only the main process reports (and writes the model)

    out = tmp_path / "run"
    state = json.loads((latest_checkpoint(out / "checkpoints") / "trainer_state.json").read_text())
    assert state["global_step"] == 6  # a single process takes 10 steps for the same 2 epochs
    assert state["train_batch_size"] == 8  # per device: 16 examples per optimiser step
    assert (out / "evaluation.json").is_file() and (out / "model" / "README.md").is_file()

    model = SiameseModel.from_pretrained(out / "model", device="cpu")
    assert model.encode(["a b c", "d e"]).shape == (2, 32)
    trained = load_file(str(out / "model" / "model.safetensors"))
    start = load_file(str(tiny_model_dir / "model.safetensors"))
    assert any(not torch.equal(trained[k], start[k]) for k in start if k in trained)

    # resuming under torchrun in the middle of epoch 2 reproduces the uninterrupted run
    resumed = tmp_path / "resumed"
    shutil.copytree(out / "checkpoints" / "checkpoint-4", resumed / "checkpoints" / "checkpoint-4")
    shutil.copy(out / "train_config.yaml", resumed / "train_config.yaml")
    assert "resuming from" in torchrun(cfg, tmp_path, "--output-dir", str(resumed), "--resume")
    final = "checkpoints/checkpoint-6/model.safetensors"
    full, again = load_file(str(out / final)), load_file(str(resumed / final))
    assert set(full) == set(again) and all(torch.equal(full[k], again[k]) for k in full)


def test_sampler_epoch_callback_reaches_a_wrapped_sampler():
    """Under DDP + mid-epoch resume, accelerate's wrappers do not pass the epoch on; the callback does."""
    sampler = SiameseBatchSampler(num_examples=10, batch_size=4, seed=0)
    callback = _SamplerEpoch(SimpleNamespace(train_sampler=sampler))
    for done, expected in ((None, 0), (0.0, 0), (1.0, 1), (1.1538461538461537, 1), (2.0, 2)):
        callback.on_epoch_begin(None, SimpleNamespace(epoch=done), None)
        assert sampler.epoch == expected
