"""#24 item 4: every file a save writes gets the permissions the umask gives (``0o666 & ~umask``), whatever mode its
writer chose (``safetensors.save_file`` writes ``0o600`` files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from textsiam import SiameseModel
from textsiam.io_utils import atomic_path
from textsiam.model.projection import Projection

MASKS = [0o002, 0o027]


@pytest.fixture(params=MASKS, ids=[f"umask{m:03o}" for m in MASKS])
def umask(request):
    """Run the test under this umask (restored after)."""
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def _modes(root: Path) -> dict[str, int]:
    """Relative path -> permission bits of every file and folder under ``root`` (links skipped)."""
    out = {}
    for path in [root, *root.rglob("*")]:
        st = os.lstat(path)
        if not stat.S_ISLNK(st.st_mode):
            out[str(path.relative_to(root))] = stat.S_IMODE(st.st_mode)
    return out


def assert_umask_modes(root: Path, mask: int) -> None:
    """Files under ``root`` are ``0o666 & ~mask``, folders ``0o777 & ~mask``."""
    want_file, want_dir = 0o666 & ~mask, 0o777 & ~mask
    wrong = {
        name: oct(mode)
        for name, mode in _modes(root).items()
        if mode != (want_dir if (root / name).is_dir() else want_file)
    }
    assert not wrong, f"want files {oct(want_file)}, folders {oct(want_dir)}; got {wrong}"


def test_every_file_of_a_model_save_gets_the_umask_mode(tiny_model, tmp_path, umask):
    tiny_model.projection = Projection(32, 8)  # projection.safetensors and 2_Dense/model.safetensors too
    path = tiny_model.save(tmp_path / "m")
    assert {"model.safetensors", "projection.safetensors", "2_Dense/model.safetensors"} <= set(_modes(path))
    assert_umask_modes(path, umask)
    lstm = SiameseModel.lstm(hidden_size=8, seed=0).save(tmp_path / "lstm")
    assert_umask_modes(lstm, umask)


def test_a_safetensors_file_written_through_atomic_path_gets_the_umask_mode(tmp_path, umask):
    with atomic_path(tmp_path / "out" / "state.safetensors") as tmp:
        save_file({"x": torch.zeros(2)}, str(tmp))
    assert_umask_modes(tmp_path / "out", umask)


def test_a_distillation_checkpoint_gets_the_umask_mode(tmp_path, umask):
    from textsiam.training.distill import DistillCheckpoint

    student = torch.nn.Linear(4, 2)
    optimizer = torch.optim.AdamW(student.parameters())
    student(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    checkpoint = DistillCheckpoint(tmp_path / "run" / "distill-checkpoint")
    checkpoint.save_state(student, [optimizer], [schedule], {"epoch": 1})
    assert (checkpoint.directory / "state.safetensors").is_file()
    assert_umask_modes(checkpoint.directory, umask)
