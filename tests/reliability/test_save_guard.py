"""Saving a model never loses a user's files: ``io_utils.atomic_dir`` and ``SiameseModel.save`` (issue #15)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import SENTENCES, make_tiny_model

from textsiam import SiameseModel
from textsiam.io_utils import (
    MODEL_ARTIFACTS,
    atomic_dir,
    is_model_artifact,
    is_model_dir,
    remove_orphaned_copies,
)


def _dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(out.stdout)


def _user_files(folder: Path) -> None:
    (folder / "thesis.txt").write_text("three years of work", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "results.csv").write_text("a,b\n1,2\n", encoding="utf-8")


def _assert_user_files(folder: Path) -> None:
    assert (folder / "thesis.txt").read_text(encoding="utf-8") == "three years of work"
    assert (folder / "sub" / "results.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"


def _fake_save(directory: Path, names: tuple[str, ...] = ("config.json", "model.safetensors", "textsiam.json")) -> None:
    for name in names:
        (directory / name).write_text(f"new {name}", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- what is a model
def test_is_model_dir(tmp_path):
    assert not is_model_dir(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    assert not is_model_dir(tmp_path / "file")
    cases = {
        "textsiam": ["textsiam.json"],
        "st": ["modules.json"],
        "hf": ["config.json", "model.safetensors"],
        "sharded": ["config.json", "model.safetensors.index.json"],
        "bin": ["config.json", "pytorch_model.bin"],
        "onnx": ["config.json", "model.onnx"],
    }
    for name, files in cases.items():
        d = tmp_path / name
        d.mkdir()
        for f in files:
            (d / f).write_text("{}")
        assert is_model_dir(d), name
    for name, files in {
        "config_only": ["config.json"],
        "weights_only": ["model.safetensors"],
        "user": ["a.txt"],
    }.items():
        d = tmp_path / name
        d.mkdir()
        for f in files:
            (d / f).write_text("{}")
        assert not is_model_dir(d), name


def test_artifact_names():
    for name in ("model-00001-of-00003.safetensors", "1_Pooling", "2_Normalize", "2_Dense", "modules.json"):
        assert is_model_artifact(name), name
    for name in ("model.onnx.data", "soup.json"):
        assert is_model_artifact(name), name
    for name in ("thesis.txt", "notes.md", "sub", "results.csv", "model.safetensors.bak", "1_Pooling.txt", "data"):
        assert not is_model_artifact(name), name
    for name in ("pytorch_model.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json"):
        assert not is_model_artifact(name), name  # textsiam never writes pickled weights: they are not its files
    assert not is_model_artifact("README.md") and is_model_artifact("README.md", written={"README.md"})


def test_every_file_a_save_writes_is_a_known_artifact(default_tokenizer, tmp_path):
    """Transformer (with projection and calibrator), LSTM and ONNX saves: nothing they write would be carried over."""
    from textsiam.model.projection import Projection

    tiny = make_tiny_model(default_tokenizer, projection=Projection(32, 8))
    dev = {"text_a": SENTENCES[:4] * 2, "text_b": SENTENCES[2:6] * 2, "label": [1, 0, 1, 0, 0, 1, 0, 1]}
    tiny.calibrate(dev, method="sigmoid")
    saved = {"tiny": tiny.save(tmp_path / "tiny"), "lstm": SiameseModel.lstm(hidden_size=8).save(tmp_path / "lstm")}
    try:
        onnx = SiameseModel.from_pretrained(saved["tiny"], backend="onnx", device="cpu")
    except ImportError:
        onnx = None
    if onnx is not None:
        saved["onnx"] = onnx.save(tmp_path / "onnx")
    assert {"projection.safetensors", "calibration.json"} <= {p.name for p in saved["tiny"].iterdir()}
    for kind, folder in saved.items():
        names = [p.name for p in folder.iterdir()]
        assert names and all(is_model_artifact(n) for n in names), (kind, names)
        assert is_model_dir(folder), kind


def test_the_embedded_model_folder_is_all_artifacts_but_its_extras():
    """The sentence-transformers download shipped with textsiam: only its README / data config are not model files."""
    from textsiam.model.loading import default_model_path

    names = {p.name for p in default_model_path().iterdir()}
    assert {n for n in names if not is_model_artifact(n)} <= {"README.md", ".gitattributes", "data_config.json"}
    assert {"modules.json", "config_sentence_transformers.json", "vocab.txt"} <= names & MODEL_ARTIFACTS


# ---------------------------------------------------------------------------------------------- the rules
def test_absent_and_empty_targets_are_written(tmp_path):
    with atomic_dir(tmp_path / "new") as tmp:
        _fake_save(tmp)
    (tmp_path / "empty").mkdir()
    with atomic_dir(tmp_path / "empty") as tmp:
        _fake_save(tmp)
    for name in ("new", "empty"):
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == [
            "config.json",
            "model.safetensors",
            "textsiam.json",
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "new"]  # no temporary copies


def test_a_folder_of_user_files_is_refused_without_overwrite(tmp_path):
    target = tmp_path / "work"
    target.mkdir()
    _user_files(target)
    with pytest.raises(FileExistsError, match=r"work.*overwrite=True"), atomic_dir(target) as tmp:
        raise AssertionError("the block must not run")
    assert sorted(p.name for p in target.iterdir()) == ["sub", "thesis.txt"]
    _assert_user_files(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]

    with atomic_dir(target, overwrite=True) as tmp:  # with overwrite: the model joins the user's files
        _fake_save(tmp)
    assert sorted(p.name for p in target.iterdir()) == [
        "config.json",
        "model.safetensors",
        "sub",
        "textsiam.json",
        "thesis.txt",
    ]
    _assert_user_files(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_model_save_refuses_a_user_folder_and_keeps_its_files(tiny_model, tmp_path):
    target = tmp_path / "results"
    target.mkdir()
    _user_files(target)
    with pytest.raises(FileExistsError, match="overwrite"):
        tiny_model.save(target)
    _assert_user_files(target)
    tiny_model.save(target, overwrite=True)
    _assert_user_files(target)
    loaded = SiameseModel.from_pretrained(target, device="cpu")
    np.testing.assert_allclose(loaded.encode(SENTENCES), tiny_model.encode(SENTENCES), atol=1e-6)


def test_replacing_a_model_keeps_the_users_files(default_tokenizer, tmp_path):
    old, new = make_tiny_model(default_tokenizer, seed=0), make_tiny_model(default_tokenizer, seed=1)
    target = old.save(tmp_path / "m")
    (target / "notes.md").write_text("my notes", encoding="utf-8")
    (target / "README.md").write_text("my own readme", encoding="utf-8")
    _user_files(target)
    new.save(target)  # a model folder: no overwrite needed
    np.testing.assert_allclose(
        SiameseModel.from_pretrained(target, device="cpu").encode(SENTENCES), new.encode(SENTENCES), atol=1e-6
    )
    assert (target / "notes.md").read_text(encoding="utf-8") == "my notes"
    assert (target / "README.md").read_text(encoding="utf-8") == "my own readme"  # the save wrote none
    _assert_user_files(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_old_artifacts_are_dropped_and_a_new_readme_wins(tmp_path):
    target = tmp_path / "st"
    target.mkdir()
    for name in ("config.json", "model.safetensors", "vocab.txt", "README.md", "notes.md"):
        (target / name).write_text(f"old {name}", encoding="utf-8")
    (target / "modules.json").write_text(json.dumps([{"idx": 1, "path": "1_Pooling", "type": "Pooling"}]))
    (target / "1_Pooling").mkdir()
    (target / "1_Pooling" / "config.json").write_text("{}", encoding="utf-8")
    with atomic_dir(target) as tmp:
        _fake_save(tmp, ("config.json", "model.safetensors", "textsiam.json", "README.md"))
    names = sorted(p.name for p in target.iterdir())
    assert names == ["README.md", "config.json", "model.safetensors", "notes.md", "textsiam.json"]
    assert (target / "README.md").read_text(encoding="utf-8") == "new README.md"
    assert (target / "notes.md").read_text(encoding="utf-8") == "old notes.md"


def test_a_folder_that_fills_during_the_write_is_not_replaced(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(FileExistsError, match="overwrite"), atomic_dir(target) as tmp:
        _fake_save(tmp)
        target.mkdir()
        (target / "thesis.txt").write_text("appeared meanwhile", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in target.iterdir()] == ["thesis.txt"]


def test_the_working_directory_is_never_replaced(tiny_model, tmp_path, monkeypatch):
    work = tmp_path / "project" / "work"
    work.mkdir(parents=True)
    (work / "thesis.txt").write_text("x", encoding="utf-8")
    monkeypatch.chdir(work)
    for path in (".", work, tmp_path / "project", "./"):
        with pytest.raises(ValueError, match="current working directory"):
            tiny_model.save(path, overwrite=True)
        with pytest.raises(ValueError, match="current working directory"), atomic_dir(path, overwrite=True):
            raise AssertionError("the block must not run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]
    assert [p.name for p in work.iterdir()] == ["thesis.txt"]
    tiny_model.save("model")  # a new subfolder of the working directory is fine
    assert is_model_dir(work / "model")


# ---------------------------------------------------------------------------------------------- crash leftovers
def test_orphaned_old_copy_gives_back_the_users_files(tmp_path):
    target = tmp_path / "m"
    with atomic_dir(target) as tmp:
        _fake_save(tmp)
    (target / "notes.md").write_text("new notes", encoding="utf-8")
    pid = _dead_pid()
    # a save killed after the swap, before it moved the user's files over
    old = tmp_path / f".m.old-{pid}-abcd1234"
    old.mkdir()
    _fake_save(old, ("config.json", "model.safetensors", "textsiam.json", "vocab.txt"))
    _user_files(old)
    (old / "notes.md").write_text("old notes", encoding="utf-8")  # the target has its own: that one stays
    (old / "1_Pooling").mkdir()  # listed by the old model's modules.json: the old model's, dropped
    (old / "modules.json").write_text(json.dumps([{"idx": 1, "path": "1_Pooling", "type": "Pooling"}]))
    orphan_tmp = tmp_path / f".m.tmp-{pid}-ffff0000"
    orphan_tmp.mkdir()
    _fake_save(orphan_tmp)
    remove_orphaned_copies(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    _assert_user_files(target)
    assert (target / "notes.md").read_text(encoding="utf-8") == "new notes"
    assert (target / "config.json").read_text(encoding="utf-8") == "new config.json"
    assert not (target / "vocab.txt").exists() and not (target / "1_Pooling").exists()


def test_orphaned_old_copy_is_kept_while_the_target_is_missing(tmp_path, caplog):
    pid = _dead_pid()
    old = tmp_path / f".m.old-{pid}-abcd1234"
    old.mkdir()
    _user_files(old)
    with caplog.at_level(logging.WARNING, logger="textsiam.io_utils"):
        remove_orphaned_copies(tmp_path / "m")
    _assert_user_files(old)
    assert "keeping" in caplog.text and "thesis.txt" in caplog.text
    # an old copy with nothing but model files goes
    only_model = tmp_path / f".m.old-{pid}-00000000"
    only_model.mkdir()
    _fake_save(only_model)
    remove_orphaned_copies(tmp_path / "m")
    assert not only_model.exists() and old.exists()


def _leftovers_of_killed_saves(target: Path, pid: int) -> list[Path]:
    """What saves to ``target`` killed in mid-write (``.tmp-``) and between the swap and the clean-up (``.old-``)
    leave behind, with ``pid`` as the writer's process."""
    half_written = target.parent / f".{target.name}.tmp-{pid}-0badc0de"
    half_written.mkdir()
    (half_written / "model.safetensors").write_bytes(b"x" * 1000)
    previous = target.parent / f".{target.name}.old-{pid}-abcd1234"
    previous.mkdir()
    _fake_save(previous)
    (previous / "results.csv").write_text("the user's, not moved over yet", encoding="utf-8")
    return [half_written, previous]


def test_a_load_removes_the_leftovers_of_killed_saves(tiny_model, tmp_path):
    """#24 item 5: a load from a path cleans up after dead saves to it, as the docs say (and as a save does)."""
    path = tiny_model.save(tmp_path / "m")
    _leftovers_of_killed_saves(path, _dead_pid())
    live = _leftovers_of_killed_saves(path.parent / "other", _dead_pid()) + [tmp_path / f".m.tmp-{os.getpid()}-1"]
    live[-1].mkdir()  # a save of this process, still running: not touched
    loaded = SiameseModel.from_pretrained(path, device="cpu")
    np.testing.assert_allclose(loaded.encode(SENTENCES), tiny_model.encode(SENTENCES), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m", *(p.name for p in live)])
    assert (path / "results.csv").read_text(encoding="utf-8") == "the user's, not moved over yet"


def test_a_load_restores_a_model_only_from_a_dead_saves_copy(tiny_model, tmp_path):
    """A save killed between its two renames leaves the previous model in ``.m.old-PID-*``: a load puts it back,
    but not while that save's process still runs (it is about to rename the new model into place)."""
    path = tiny_model.save(tmp_path / "m")
    running = tmp_path / f".m.old-{os.getpid()}-abcd1234"
    os.rename(path, running)
    with pytest.raises(ValueError, match="no model directory at"):
        SiameseModel.from_pretrained(path, device="cpu")
    assert running.is_dir() and not path.exists()
    os.rename(running, tmp_path / f".m.old-{_dead_pid()}-abcd1234")
    loaded = SiameseModel.from_pretrained(path, device="cpu")
    np.testing.assert_allclose(loaded.encode(SENTENCES), tiny_model.encode(SENTENCES), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_a_live_writers_copies_are_left_alone(tmp_path):
    target = tmp_path / "m"
    target.mkdir()
    live = tmp_path / f".m.old-{os.getpid()}-abcd1234"
    live.mkdir()
    _user_files(live)
    remove_orphaned_copies(target)
    _assert_user_files(live)
    assert list(target.iterdir()) == []


def test_user_entries_that_look_like_model_files_are_kept(tiny_model, tmp_path):
    """A user's ``2024_results/`` (shaped like a module folder) and ``pytorch_model_backup.bin`` survive a save."""
    path = tiny_model.save(tmp_path / "m")
    (path / "2024_results").mkdir()
    (path / "2024_results" / "scores.csv").write_text("a,b\n")
    (path / "pytorch_model_backup.bin").write_bytes(b"mine")
    tiny_model.save(path)
    assert (path / "2024_results" / "scores.csv").read_text() == "a,b\n"
    assert (path / "pytorch_model_backup.bin").read_bytes() == b"mine"
    assert (path / "1_Pooling").is_dir()  # the save's own module folder


def test_a_users_pickled_weights_survive_a_save(tiny_model, tmp_path):
    """#24 item 3: textsiam never writes ``pytorch_model.bin``; one the user put into a saved folder stays."""
    path = tiny_model.save(tmp_path / "m")
    (path / "pytorch_model.bin").write_bytes(b"the user's pickled weights")
    (path / "pytorch_model.bin.index.json").write_text("{}")
    tiny_model.save(path)
    assert (path / "pytorch_model.bin").read_bytes() == b"the user's pickled weights"
    assert (path / "pytorch_model.bin.index.json").read_text() == "{}"


def test_overwrite_into_a_folder_without_a_model_replaces_only_what_the_save_writes(tmp_path):
    """``overwrite=True`` on a non-model folder: a file with a model-like name that the save does not write stays."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "merges.txt").write_text("my merges")
    (folder / "notes.md").write_text("notes")
    model = SiameseModel.lstm(hidden_size=8, seed=0)  # an LSTM save writes no merges.txt
    model.save(folder, overwrite=True)
    assert (folder / "merges.txt").read_text() == "my merges" and (folder / "notes.md").read_text() == "notes"
    assert (folder / "textsiam.json").is_file()


def test_a_stale_module_folder_of_the_old_model_is_dropped(tiny_model, tmp_path):
    """Module folders the old ``modules.json`` listed are the old model's: they go when the new save lacks them."""
    from textsiam.model.siamese import Projection

    tiny_model.projection = Projection(32, 8)
    path = tiny_model.save(tmp_path / "m")
    assert (path / "2_Dense").is_dir()
    tiny_model.projection = None
    tiny_model.save(path)
    assert not (path / "2_Dense").exists() and (path / "1_Pooling").is_dir()


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_a_saved_folder_honours_the_umask_without_changing_it(tmp_path, monkeypatch, mask):
    """The folder gets ``0o777 & ~umask`` and the umask is never set: setting it, even to read it and put it back,
    changes it for a moment for every thread, and a file another thread created then would get no umask."""
    before = os.umask(mask)
    try:

        def no_umask_changes(_mask: int) -> int:
            raise AssertionError("os.umask called during a save")

        monkeypatch.setattr(os, "umask", no_umask_changes)
        with atomic_dir(tmp_path / "model") as tmp:
            (tmp / "config.json").write_text("{}", encoding="utf-8")
        monkeypatch.undo()
    finally:
        os.umask(before)
    assert (tmp_path / "model" / "config.json").is_file()
    assert (os.stat(tmp_path / "model").st_mode & 0o777) == 0o777 & ~mask
