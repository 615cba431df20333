"""SIGKILL during ``SiameseModel.save`` over an existing model leaves a loadable model: the old one or the new one.

(``test_siamese.py`` simulates interruptions in-process; here a real process is killed.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import SENTENCES, make_tiny_model

from textsiam import SiameseModel

SAVER = r"""
import sys, time
from pathlib import Path
from textsiam import SiameseModel

target, new, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
model = SiameseModel.from_pretrained(new, device="cpu")
if mode == "stall":  # stop inside the save, after the weights are written, until killed
    write = model.encoder.save

    def slow(directory):
        write(directory)
        print("written", flush=True)
        time.sleep(600)

    model.encoder.save = slow
    model.save(target)
else:  # save over and over; the parent kills at a random moment
    print("saving", flush=True)
    while True:
        model.save(target)
"""


def _start(target, new, mode: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-c", SAVER, str(target), str(new), mode]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def _kill_after(proc: subprocess.Popen, marker: str, delay: float) -> None:
    try:
        line = proc.stdout.readline()
        assert line.strip() == marker, f"saver said {line!r}"
        time.sleep(delay)
        assert proc.poll() is None, "the saver ended by itself"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_sigkill_during_save_keeps_a_loadable_model(tmp_path, default_tokenizer):
    old, new = make_tiny_model(default_tokenizer, seed=0), make_tiny_model(default_tokenizer, seed=1)
    new_dir = new.save(tmp_path / "new")
    target = old.save(tmp_path / "models" / "m")
    emb_old, emb_new = old.encode(SENTENCES), new.encode(SENTENCES)
    assert not np.allclose(emb_old, emb_new)

    # killed in the middle of writing: the previous model is still there, untouched
    _kill_after(_start(target, new_dir, "stall"), "written", 0.0)
    assert any(p.name.startswith(".m.tmp-") for p in target.parent.iterdir())  # the half-written copy
    np.testing.assert_array_equal(SiameseModel.from_pretrained(target, device="cpu").encode(SENTENCES), emb_old)

    # killed at random moments of repeated saves: always the old or the new model, complete
    rng = random.Random(0)
    for _ in range(3):
        _kill_after(_start(target, new_dir, "loop"), "saving", rng.uniform(0.0, 1.5))
        emb = SiameseModel.from_pretrained(target, device="cpu").encode(SENTENCES)
        assert np.array_equal(emb, emb_old) or np.array_equal(emb, emb_new)
    assert {p.name for p in target.parent.iterdir() if not p.name.startswith(".")} == {"m"}

    # the next save removes the copies the killed processes left behind (their PIDs are gone). A kill at a
    # random moment may leave nothing (between two saves), so leave one copy for certain first.
    _kill_after(_start(target, new_dir, "stall"), "written", 0.0)
    assert any(p.name.startswith(".m.tmp-") for p in target.parent.iterdir())
    new.save(target)
    assert [p.name for p in target.parent.iterdir()] == ["m"]
