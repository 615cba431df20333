"""#24 items 1, 2 and 4 (training side): a run folder's files.

* ``--resume`` from a checkpoint with a poisoned pickle (``rng_state.pth``, ``optimizer.pt``) is a one-line error
  naming the file, raised before anything is written;
* ``--overwrite`` replaces only what the earlier run wrote: the user's files in the model folder, the
  checkpoints folder and the run folder stay;
* every file of a run gets the umask's permissions (checkpoint weights included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
import torch

from textsiam import SiameseModel
from textsiam.cli import main
from textsiam.training import TrainConfig, latest_checkpoint, train
from textsiam.training.run_folder import remove_run_artifacts

from .helpers import fast_config

UMASK = 0o002


@pytest.fixture(scope="module")
def run_config(tiny_model_dir, sts_files):
    """Factory: a 2-step config (16 pairs, batch 8, one epoch) on the tiny model."""

    def make(output_dir: Path) -> TrainConfig:
        return fast_config(tiny_model_dir, sts_files, output_dir=str(output_dir), max_train_pairs=16, epochs=1)

    return make


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, run_config) -> Path:
    """A finished run, trained once per module under umask 002."""
    out = tmp_path_factory.mktemp("runs") / "run"
    before = os.umask(UMASK)
    try:
        train(run_config(out), show_progress=False)
    finally:
        os.umask(before)
    return out


def test_every_file_of_a_run_gets_the_umask_mode(finished_run):
    """Item 4: ``model.safetensors`` of the model and of each checkpoint too (safetensors writes 0o600 files)."""
    modes = {}
    for path in [finished_run, *finished_run.rglob("*")]:
        st = os.lstat(path)
        want = (0o777 if stat.S_ISDIR(st.st_mode) else 0o666) & ~UMASK
        if stat.S_IMODE(st.st_mode) != want:
            modes[str(path.relative_to(finished_run))] = oct(stat.S_IMODE(st.st_mode))
    assert (latest_checkpoint(finished_run / "checkpoints") / "model.safetensors").is_file()
    assert not modes, f"not {oct(0o666 & ~UMASK)} (files) / {oct(0o777 & ~UMASK)} (folders): {modes}"


# ---------------------------------------------------------------------------------------------- item 1
class Poison:
    """Unpickling it creates ``path``: the test's witness that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # noqa: ANN204
        return (open, (str(self.path), "w"))


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", ["rng_state.pth", "optimizer.pt"])
def test_a_poisoned_checkpoint_is_refused_before_anything_is_written(finished_run, run_config, tmp_path, capsys, name):
    """Resuming into a new folder from a checkpoint with a malicious pickle: exit 2, one line naming the file, no
    code run, and the new output folder is not created."""
    ckpt = Path(shutil.copytree(latest_checkpoint(finished_run / "checkpoints"), tmp_path / "ckpt"))
    witness = tmp_path / "code-ran"
    torch.save({"state": Poison(witness)}, ckpt / name)
    out = tmp_path / "new-run"
    cfg = run_config(out).to_file(tmp_path / "run.yaml")
    code = main(["train", "--config", str(cfg), "--output-dir", str(out), "--resume", str(ckpt), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"textsiam train: error: {ckpt / name}: not a safe checkpoint file" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not witness.exists()


def test_a_poisoned_checkpoint_in_the_run_folder_leaves_the_folder_as_it_was(
    finished_run, run_config, tmp_path, capsys
):
    """``--resume`` in place: the run folder (its ``train_config.yaml`` included) is not touched."""
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    witness = tmp_path / "code-ran"
    torch.save({"state": Poison(witness)}, latest_checkpoint(run / "checkpoints") / "optimizer.pt")
    before = _tree(run)
    cfg = run_config(run).to_file(tmp_path / "run.yaml")
    assert main(["train", "--config", str(cfg), "--resume", "-q"]) == 2
    assert "optimizer.pt: not a safe checkpoint file" in capsys.readouterr().err
    assert _tree(run) == before and not witness.exists()


def test_a_damaged_checkpoint_file_is_named(finished_run, run_config, tmp_path):
    ckpt = Path(shutil.copytree(latest_checkpoint(finished_run / "checkpoints"), tmp_path / "ckpt"))
    (ckpt / "scheduler.pt").write_bytes((ckpt / "scheduler.pt").read_bytes()[:100])
    with pytest.raises(ValueError, match=r"scheduler\.pt: not a readable checkpoint file"):
        train(run_config(tmp_path / "new-run"), resume=str(ckpt))
    assert not (tmp_path / "new-run").exists()


def test_only_the_files_the_trainer_loads_are_checked(finished_run):
    """A stock ``Trainer`` checkpoint's ``training_args.bin`` (a pickled object, never loaded on resume) is left
    alone; a file the Trainer does load is still refused."""
    from textsiam.training.checkpoint_check import check_resumable

    ckpt = latest_checkpoint(finished_run / "checkpoints")
    with TemporaryDirectory() as tmp:
        copy = Path(shutil.copytree(ckpt, Path(tmp) / "ckpt"))
        torch.save(argparse.Namespace(learning_rate=1e-3), copy / "training_args.bin")  # pickles a Python object
        check_resumable(copy)  # no error
        shutil.copy(copy / "training_args.bin", copy / "rng_state.pth")
        with pytest.raises(ValueError, match=r"rng_state\.pth: not a safe checkpoint file"):
            check_resumable(copy)


# ---------------------------------------------------------------------------------------------- item 2
def _add_user_files(run: Path) -> dict[Path, str]:
    files = {
        run / "model" / "NOTES.md": "trained on the March data\n",
        run / "model" / "analysis" / "plot.csv": "x,y\n1,2\n",
        run / "checkpoints" / "mine.txt": "my checkpoint notes\n",
        run / "checkpoints" / "checkpoint-2" / "eval-notes.txt": "looked fine\n",
        run / "results" / "table.tex": "\\begin{table}\n",
        run / "report.md": "draft\n",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return files


def test_overwrite_keeps_the_users_files(finished_run, run_config, tmp_path):
    run = Path(shutil.copytree(finished_run, tmp_path / "run2"))
    files = _add_user_files(run)
    (run / "evaluation.json").write_text("{}", encoding="utf-8")  # the earlier run's: replaced
    train(run_config(run), overwrite=True, show_progress=False)
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, path
    assert (run / "evaluation.json").read_text(encoding="utf-8") != "{}"
    assert latest_checkpoint(run / "checkpoints").name == "checkpoint-2"
    assert SiameseModel.from_pretrained(run / "model", device="cpu").encode("a b").shape == (32,)


def test_remove_run_artifacts_removes_only_what_a_run_writes(finished_run, tmp_path):
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    files = _add_user_files(run)
    (run / "model" / "2024_results").mkdir()  # shaped like a module folder, but not in modules.json
    remove_run_artifacts(run)
    left = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    assert left == sorted(str(p.relative_to(run)) for p in files)
    assert (run / "model" / "2024_results").is_dir()
