"""Output files, input pairs, mining arguments and run folders: no clobbering, no silent loss (issue #15)."""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from textsiam.io_utils import atomic_file, atomic_open, atomic_path, check_output, iter_pairs


def _dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(out.stdout)


@pytest.fixture
def umask():
    """Set the process umask for a test (restored afterwards)."""
    before = os.umask(0o022)
    os.umask(before)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(before)


# ---------------------------------------------------------------------------------------------- temp files
def test_temp_file_name_carries_the_pid(tmp_path):
    with atomic_path(tmp_path / "out.tsv") as tmp:
        assert tmp.parent == tmp_path
        assert re.fullmatch(rf"\.out\.tsv\.{os.getpid()}\.[0-9A-Za-z]+\.tmp", tmp.name), tmp.name
        tmp.write_text("x")
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]


def test_stale_temp_files_of_dead_processes_are_swept(tmp_path):
    dead = _dead_pid()
    stale = [tmp_path / f".out.tsv.{dead}.abcd1234.tmp", tmp_path / f".out.tsv.{dead}.x.tmp"]
    kept = [
        tmp_path / f".out.tsv.{os.getppid()}.abcd1234.tmp",  # a live process (the test runner's parent)
        tmp_path / f".other.tsv.{dead}.abcd1234.tmp",  # another output
        tmp_path / ".out.tsv.q1w2e3r4.tmp",  # no PID: not ours to judge
        tmp_path / "out.tsv.tmp",
    ]
    for p in stale + kept:
        p.write_text("leftover")
    with atomic_open(tmp_path / "out.tsv") as fh:
        fh.write("fresh\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.tsv", *(p.name for p in kept)])
    assert (tmp_path / "out.tsv").read_text() == "fresh\n"


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_final_file_honours_the_umask(tmp_path, umask, mask):
    umask(mask)
    with atomic_open(tmp_path / "a.tsv") as fh:
        fh.write("x")
    with atomic_path(tmp_path / "b.npy") as tmp:
        np.save(tmp, np.zeros(2))
    for name in ("a.tsv", "b.npy"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask, name


def test_temp_file_is_removed_on_error_and_interrupt(tmp_path):
    for exc in (ValueError("bad line"), KeyboardInterrupt("interrupted mid-write"), SystemExit(143)):
        with pytest.raises(type(exc), match=f"^{re.escape(str(exc))}$"), atomic_open(tmp_path / "out.tsv") as fh:
            fh.write("partial")
            raise exc
        assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- overwrite
def test_no_overwrite_refuses_an_existing_file_before_the_work(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("precious")
    with pytest.raises(FileExistsError, match="--overwrite"), atomic_open(target, overwrite=False):
        raise AssertionError("the block must not run")
    assert target.read_text() == "precious" and [p.name for p in tmp_path.iterdir()] == ["out.tsv"]


def test_no_overwrite_never_replaces_a_file_that_appears_meanwhile(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(FileExistsError, match="appeared while .* --overwrite"):
        with atomic_open(target, overwrite=False) as fh:
            fh.write("ours")
            target.write_text("theirs")  # another program writes the same output while we work
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]  # no temp file left
    # and when nothing appeared, the file is published
    with atomic_open(tmp_path / "new.tsv", overwrite=False) as fh:
        fh.write("ours")
    assert (tmp_path / "new.tsv").read_text() == "ours"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.tsv", "out.tsv"]


def test_no_overwrite_without_hard_links(tmp_path, monkeypatch):
    def no_links(src, dst, *args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic_file.os, "link", no_links)
    with atomic_open(tmp_path / "a.tsv", overwrite=False) as fh:
        fh.write("ours")
    assert (tmp_path / "a.tsv").read_text() == "ours"
    with pytest.raises(FileExistsError, match="appeared while"), atomic_open(tmp_path / "b.tsv", overwrite=False) as fh:
        fh.write("ours")
        (tmp_path / "b.tsv").write_text("theirs")
    assert (tmp_path / "b.tsv").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tsv", "b.tsv"]


def _non_regular(tmp_path):
    """(name, path) of a symbolic link to a file, a dangling link, a directory and a FIFO."""
    (tmp_path / "real.tsv").write_text("the link's target")
    os.symlink(tmp_path / "real.tsv", tmp_path / "link.tsv")
    os.symlink(tmp_path / "nowhere.tsv", tmp_path / "dangling.tsv")
    (tmp_path / "dir.tsv").mkdir()
    (tmp_path / "dir.tsv" / "inside.txt").write_text("x")
    found = {"symbolic link": tmp_path / "link.tsv", "dangling": tmp_path / "dangling.tsv"}
    found["directory"] = tmp_path / "dir.tsv"
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.tsv")
        found["FIFO"] = tmp_path / "fifo.tsv"
    return found


def test_overwrite_never_replaces_what_is_not_a_regular_file(tmp_path):
    paths = _non_regular(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    for kind, path in paths.items():
        what = "symbolic link" if kind == "dangling" else kind
        with pytest.raises(FileExistsError, match=f"is a {what}, not a regular file"):
            check_output(path, overwrite=True)
        with pytest.raises(FileExistsError, match="not a regular file"), atomic_open(path, overwrite=True):
            raise AssertionError("the block must not run")
        with pytest.raises(FileExistsError, match="not a regular file"), atomic_open(path, overwrite=False):
            raise AssertionError("the block must not run")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert os.path.islink(paths["symbolic link"]) and (tmp_path / "real.tsv").read_text() == "the link's target"
    assert (paths["directory"] / "inside.txt").is_file()


def test_a_symlink_that_appears_meanwhile_is_not_replaced(tmp_path):
    (tmp_path / "real.tsv").write_text("keep")
    target = tmp_path / "out.tsv"
    with pytest.raises(FileExistsError, match="symbolic link"), atomic_open(target) as fh:
        fh.write("ours")
        os.symlink(tmp_path / "real.tsv", target)
    assert os.path.islink(target) and (tmp_path / "real.tsv").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv", "real.tsv"]


def test_check_output(tmp_path):
    path = tmp_path / "new" / "sub" / "out.tsv"
    assert check_output(path, overwrite=False) == path and path.parent.is_dir()
    path.write_text("x")
    with pytest.raises(FileExistsError, match="--overwrite"):
        check_output(path, overwrite=False)
    assert check_output(path, overwrite=True) == path


def test_cli_refuses_to_write_through_a_symlink(tiny_model_dir, tmp_path, capsys):
    from textsiam.cli import main

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a cat\ta dog\n", encoding="utf-8")
    (tmp_path / "real.tsv").write_text("keep")
    os.symlink(tmp_path / "real.tsv", tmp_path / "out.tsv")
    argv = ["score", "--pairs", str(pairs), "-o", str(tmp_path / "out.tsv"), "-m", str(tiny_model_dir), "-q"]
    assert main([*argv, "--overwrite"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert os.path.islink(tmp_path / "out.tsv") and (tmp_path / "real.tsv").read_text() == "keep"


# ---------------------------------------------------------------------------------------------- pairs
def test_a_third_field_is_an_error(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"text_a\ttext_b\na\tb\nc\td\te\n")
    with open(path, "rb") as fh, pytest.raises(ValueError, match=r"pairs\.tsv:3: expected two .*found 3 fields"):
        list(iter_pairs(fh, str(path)))
    path.write_bytes(b"a\tb\nc\n")
    with open(path, "rb") as fh, pytest.raises(ValueError, match=r"pairs\.tsv:2: .*found 1 field$"):
        list(iter_pairs(fh, str(path)))
    path.write_bytes(b"text_a\ttext_b\na\tb\n\tempty\n")
    with open(path, "rb") as fh:
        assert list(iter_pairs(fh, str(path))) == [(2, "a", "b"), (3, "", "empty")]


def test_cli_score_rejects_a_third_field(tiny_model_dir, tmp_path, capsys):
    from textsiam.cli import main

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\nc\td\tgold score 4.5\n", encoding="utf-8")
    out = tmp_path / "scores.tsv"
    assert main(["score", "--pairs", str(pairs), "-o", str(out), "-m", str(tiny_model_dir), "-q"]) == 2
    assert f"{pairs}:2: expected two tab-separated texts" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.tsv"]


# ---------------------------------------------------------------------------------------------- mining
def _unit_rows(n: int = 30, dim: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


@pytest.mark.parametrize("threshold", [1.5, -2.0, 1.0001])
def test_mining_threshold_outside_the_cosine_range(threshold):
    from textsiam.mining import mine_embeddings

    with pytest.raises(ValueError, match=r"outside \[-1, 1\].*cosine"):
        mine_embeddings(_unit_rows(), threshold=threshold)


def test_mining_threshold_edges_are_fine():
    from textsiam.mining import check_mining_args, mine_embeddings

    for threshold in (-1.0, 1.0, 0):
        mine_embeddings(_unit_rows(), threshold=threshold, top_k=2, precision="float32")
    # the command line's check before the model loads: the old private name still works
    from textsiam.mining import check_mining_args as _check_common

    assert _check_common(threshold=3.0, top_k=1, index="auto", precision="float16", chunk_size=10) == 3.0
    with pytest.raises(ValueError, match="cosine"):
        check_mining_args(1.5, 1, "auto", "float16", 10, calibrated=False)


def test_calibrated_threshold_lies_in_the_calibrator_range(tiny_model):
    from textsiam.calibration import Calibrator
    from textsiam.mining import mine_duplicates, mine_embeddings, mining_calibrator

    texts = ["a cat", "a dog", "the cat", "stocks fell", "a cat sat", "dogs bark", "markets rose", "cats purr"]
    dev = {"text_a": texts, "text_b": texts[1:] + texts[:1], "label": [1, 0, 1, 0, 1, 0, 1, 0]}
    tiny_model.calibrate(dev, method="sigmoid")
    assert mining_calibrator(tiny_model) is tiny_model.calibrator
    for bad in (1.5, -0.1):
        with pytest.raises(ValueError, match=r"outside \[0, 1\], the range of a probability"):
            mine_duplicates(texts, tiny_model, threshold=bad, calibrated=True)
    mine_duplicates(texts, tiny_model, threshold=0.5, calibrated=True, top_k=2)
    # an STS calibrator maps onto the gold range seen in fitting (here 0-5): 4 is a valid threshold there
    sts = Calibrator(method="linear", target="sts").fit([-0.5, 0.2, 0.9], [0.0, 2.5, 5.0])
    mine_embeddings(_unit_rows(), threshold=4.0, calibrator=sts, top_k=2)
    with pytest.raises(ValueError, match=r"outside \[0, 5\]"):
        mine_embeddings(_unit_rows(), threshold=6.0, calibrator=sts)


def test_mine_cli_threshold_out_of_range(tiny_model_dir, tmp_path, capsys):
    from textsiam.cli import main

    src = tmp_path / "texts.txt"
    src.write_text("a cat\na dog\n", encoding="utf-8")
    for threshold in ("1.5", "-2"):
        argv = ["mine", str(src), "-o", str(tmp_path / "pairs.tsv"), "-m", str(tiny_model_dir), "-q"]
        assert main([*argv, "--threshold", threshold]) == 2
        assert "[-1, 1]" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.txt"]


def test_mining_work_folder_carries_the_pid_and_stale_ones_are_swept(tmp_path, monkeypatch):
    from textsiam.mining import mine_embeddings

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = _dead_pid()
    stale = tmp_path / f"textsiam-mine-{dead}-abcd1234"
    live = tmp_path / f"textsiam-mine-{os.getppid()}-abcd1234"  # a running process: not touched
    other = tmp_path / "textsiam-mine-q1w2e3"  # an older name without PID: not ours to judge
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "embeddings.float16.bin").write_bytes(b"\0" * 8)
    seen = []

    def chunks():
        seen.extend(p.name for p in tmp_path.iterdir())  # while mining runs
        yield _unit_rows()

    mine_embeddings(chunks(), threshold=0.5, top_k=2)
    mine_dirs = [n for n in seen if n.startswith(f"textsiam-mine-{os.getpid()}-")]
    assert len(mine_dirs) == 1 and stale.name not in seen
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


# ---------------------------------------------------------------------------------------------- run folders
def _run_folder(tmp_path, *, checkpoint: str | None = "partial", extra: tuple[str, ...] = ()):
    out = tmp_path / "run"
    out.mkdir()
    (out / "train_config.yaml").write_text("epochs: 1\n")
    if checkpoint is not None:
        ckpt = out / "checkpoints" / "checkpoint-5"
        ckpt.mkdir(parents=True)
        (ckpt / "model.safetensors").write_bytes(b"half")
        if checkpoint == "complete":
            (ckpt / "trainer_state.json").write_text('{"global_step": 5}')
    for name in extra:
        (out / name).write_text("x")
    return out


def test_run_killed_before_its_first_checkpoint_starts_over(tmp_path, caplog):
    from textsiam.training.run_folder import prepare_output_dir as _prepare_output_dir

    out = _run_folder(tmp_path, extra=(f".train_config.yaml.{_dead_pid()}.abcd1234.tmp",))
    with pytest.raises(
        FileNotFoundError, match=r"stopped before its first checkpoint; start it again without --resume"
    ):
        _prepare_output_dir(out, resume=True, overwrite=False)
    with caplog.at_level(logging.WARNING, logger="textsiam.training.run_folder"):
        assert _prepare_output_dir(out, resume=False, overwrite=False) is None
    assert "starting over" in caplog.text
    assert not (out / "train_config.yaml").exists() and not (out / "checkpoints").exists()
    # an empty checkpoints folder (killed before the Trainer wrote anything) too
    out2 = tmp_path / "run2"
    (out2 / "checkpoints").mkdir(parents=True)
    (out2 / "train_config.yaml").write_text("epochs: 1\n")
    assert _prepare_output_dir(out2, resume=False, overwrite=False) is None
    assert list(out2.iterdir()) == []


@pytest.mark.parametrize(
    ("checkpoint", "extra"),
    [("complete", ()), ("partial", ("notes.txt",)), ("partial", ("evaluation.json",)), (None, ("model",))],
)
def test_a_run_worth_keeping_needs_overwrite_or_resume(tmp_path, checkpoint, extra):
    from textsiam.training.run_folder import prepare_output_dir as _prepare_output_dir

    out = _run_folder(tmp_path, checkpoint=checkpoint, extra=extra)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(FileExistsError, match=r"--overwrite.*--resume"):
        _prepare_output_dir(out, resume=False, overwrite=False)
    assert sorted(p.name for p in out.iterdir()) == before
    if checkpoint == "complete":
        assert _prepare_output_dir(out, resume=True, overwrite=False).endswith("checkpoint-5")
    else:
        with pytest.raises(FileNotFoundError, match="--overwrite"):
            _prepare_output_dir(out, resume=True, overwrite=False)
    if "model" in extra:  # a file where the run's model folder goes: not textsiam's, so never removed
        with pytest.raises(FileExistsError, match=r"model exists and is not a folder"):
            _prepare_output_dir(out, resume=False, overwrite=True)
        assert (out / "model").read_text() == "x" and sorted(p.name for p in out.iterdir()) == before
        return
    assert _prepare_output_dir(out, resume=False, overwrite=True) is None
    assert sorted(p.name for p in out.iterdir()) == (["notes.txt"] if "notes.txt" in extra else [])


def test_an_interrupt_just_after_the_temporary_file_appears_leaves_nothing(tmp_path, monkeypatch):
    """A signal that lands between creating the temporary file and entering the block (seen under load in CI:
    SIGINT right after the file appeared) must still remove it."""
    real_close = os.close
    calls = []

    def close_then_interrupt(fd):
        real_close(fd)
        if not calls:
            calls.append(fd)
            raise KeyboardInterrupt("a signal just after the file appeared")

    target = tmp_path / "out.tsv"
    monkeypatch.setattr(atomic_file.os, "close", close_then_interrupt)
    with pytest.raises(KeyboardInterrupt, match="a signal just after the file appeared"):
        with atomic_file.atomic_path(target):
            pass
    monkeypatch.undo()
    assert calls and sorted(p.name for p in tmp_path.iterdir()) == []
