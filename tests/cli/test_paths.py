"""#24: what the commands say about the paths they are given, and what they write where (second reliability round).

* An input that exists but is not a regular file (a directory, a FIFO, a device) is named as such, not "not found".
* ``score A B -o FILE`` writes the score to FILE (as ``--pairs`` does) instead of ignoring ``-o``.
* An output that is an input (also via a symbolic or hard link) is refused before any work, even with --overwrite.
* ``export`` / ``soup`` pass ``--overwrite`` to the save, and ``soup`` checks its output before evaluating.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from textsiam.cli import common, main


class StubModel:
    """A fast stand-in for a loaded model (score and encode)."""

    embedding_dim = 3

    def similarity(self, a, b, batch_size=None):  # noqa: ANN001, ANN201
        return 0.25 if isinstance(a, str) else np.full(len(a), 0.5, dtype=np.float32)

    def encode(self, texts, batch_size=None):  # noqa: ANN001, ANN201
        return np.ones((len(texts), self.embedding_dim), dtype=np.float32)


def no_model(args) -> None:  # noqa: ANN001
    """``common.load_model`` for a command that must fail before it loads a model."""
    pytest.fail("the command loaded the model before refusing its arguments")


def run_err(argv: list[str], capsys) -> tuple[int, str]:  # noqa: ANN001
    code = main(argv)
    return code, capsys.readouterr().err


def one_line_error(err: str, command: str) -> None:
    assert err.startswith(f"textsiam {command}: error: "), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


# ---------------------------------------------------------------------------------------------- inputs (item 2)
def _commands(path: str, tmp_path: Path, teacher: str) -> dict[str, list[str]]:
    return {
        "score": ["score", "--pairs", path],
        "encode": ["encode", path, "-o", str(tmp_path / "e.npy")],
        "mine": ["mine", path, "-o", str(tmp_path / "pairs.tsv")],
        "evaluate": ["evaluate", "--pairs", path, "--task", "sts"],
        "distill": ["distill", "--teacher", teacher, "--corpus", path, "--no-vocabulary", "-o", str(tmp_path / "s")],
    }


@pytest.mark.parametrize("command", ["score", "encode", "mine", "evaluate", "distill"])
def test_a_directory_is_not_called_missing(tmp_path, monkeypatch, capsys, command):
    monkeypatch.setattr(common, "load_model", no_model)
    folder = tmp_path / "adir"
    folder.mkdir()
    code, err = run_err([*_commands(str(folder), tmp_path, str(tmp_path))[command], "-q"], capsys)
    assert code == 2
    one_line_error(err, command)
    assert f"{folder} is a directory, not a file" in err and "not found" not in err


@pytest.mark.parametrize("command", ["score", "encode", "mine", "evaluate", "distill"])
def test_a_fifo_is_refused_without_blocking(tmp_path, monkeypatch, capsys, command):
    """A FIFO can be read once; the commands read their input twice (count, then process): refused, by ``stat``
    alone (opening a FIFO with no writer would block the test)."""
    monkeypatch.setattr(common, "load_model", no_model)
    fifo = tmp_path / "stream"
    os.mkfifo(fifo)
    code, err = run_err([*_commands(str(fifo), tmp_path, str(tmp_path))[command], "-q"], capsys)
    assert code == 2
    one_line_error(err, command)
    assert f"{fifo} is a FIFO (named pipe), not a regular file" in err and "save the stream to a file" in err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", no_model)
    code, err = run_err(["encode", "/dev/zero", "-o", str(tmp_path / "e.npy"), "-q"], capsys)
    assert code == 2
    one_line_error(err, "encode")
    assert "/dev/zero is a character device, not a regular file" in err
    assert list(tmp_path.iterdir()) == []


def test_a_missing_input_is_still_not_found(tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    code, err = run_err(["encode", str(missing), "-o", str(tmp_path / "e.npy"), "-q"], capsys)
    assert code == 2 and f"input file not found: {missing}" in err
    dangling = tmp_path / "link.txt"
    dangling.symlink_to(missing)
    code, err = run_err(["encode", str(dangling), "-o", str(tmp_path / "e.npy"), "-q"], capsys)
    assert code == 2 and f"{dangling} is a symbolic link to {missing}, which does not exist" in err


# ---------------------------------------------------------------------------------------------- score -o (item 3)
def test_score_two_texts_writes_the_output(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", lambda args: StubModel())
    out = tmp_path / "out.tsv"
    assert main(["score", "A cat", "A\tdog\nbarks", "-o", str(out), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text(encoding="utf-8") == "text_a\ttext_b\tscore\nA cat\tA dog barks\t0.250000\n"
    # like every output: not replaced without --overwrite (checked before the model loads), replaced with it
    monkeypatch.setattr(common, "load_model", no_model)
    code, err = run_err(["score", "A cat", "A dog", "-o", str(out), "-q"], capsys)
    assert code == 2 and "already exists; pass --overwrite" in err
    monkeypatch.setattr(common, "load_model", lambda args: StubModel())
    assert main(["score", "x", "y", "-o", str(out), "--overwrite", "-q"]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[1] == "x\ty\t0.250000"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv"]  # no temporary file left


def test_score_two_texts_without_output_prints(monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", lambda args: StubModel())
    assert main(["score", "A cat", "A dog", "-q"]) == 0
    assert capsys.readouterr().out == "0.250000\n"


# ---------------------------------------------------------------------------------------------- output is input (5)
def _alias(src: Path, how: str) -> Path:
    if how == "same":
        return src
    other = src.with_name(f"{how}-{src.name}")
    if how == "symlink":
        other.symlink_to(src)
    else:
        os.link(src, other)
    return other


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("command", ["score", "encode", "mine", "evaluate"])
def test_output_that_is_the_input_is_refused(tmp_path, monkeypatch, capsys, command, how):
    monkeypatch.setattr(common, "load_model", no_model)
    name = {"score": "t.tsv", "encode": "t.npy", "mine": "t.txt", "evaluate": "t.tsv"}[command]
    src = tmp_path / name
    text = "text_a\ttext_b\tlabel\na cat\ta dog\t1.5\nrain\tsun\t0.5\n"
    src.write_text(text, encoding="utf-8")
    out = _alias(src, how)
    argv = {
        "score": ["score", "--pairs", str(src)],
        "encode": ["encode", str(src)],
        "mine": ["mine", str(src)],
        "evaluate": ["evaluate", "--pairs", str(src), "--task", "sts"],
    }[command]
    code, err = run_err([*argv, "-o", str(out), "--overwrite", "-q"], capsys)
    assert code == 2
    one_line_error(err, command)
    assert f"--output {out} is the input file {src}" in err and "would replace the input" in err
    assert ("under another name" in err) == (how != "same")
    assert src.read_text(encoding="utf-8") == text
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------------------- export / soup (item 8)
def _user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "userdir"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    return folder


def test_export_overwrite_reaches_the_save(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "from_pretrained", lambda name, **kwargs: tiny_model)
    folder = _user_folder(tmp_path)
    code, err = run_err(["export", "-m", "some-model", "-o", str(folder), "-q"], capsys)
    assert code == 2 and "pass --overwrite" in err
    code, err = run_err(["export", "-m", "some-model", "-o", str(folder), "--overwrite", "-q"], capsys)
    assert code == 0, err
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine\n"  # a save keeps what it did not write
    assert (folder / "model.safetensors").is_file() and (folder / "textsiam.json").is_file()


def test_export_output_that_is_the_model_is_refused(tiny_model_dir, monkeypatch, capsys):
    monkeypatch.setattr(common, "from_pretrained", no_model)
    code, err = run_err(["export", "-m", str(tiny_model_dir), "-o", str(tiny_model_dir), "--overwrite", "-q"], capsys)
    assert code == 2 and f"is the input model {tiny_model_dir}" in err


class FakeReport:
    metric_name = "spearman"
    final_dev = 80.0
    soup_members = ["a", "b"]
    trials = [{"kept": True, "members": ["a"], "dev": 79.0}, {"kept": True, "members": ["a", "b"], "dev": 80.0}]

    def to_dict(self) -> dict:
        return {"soup_members": self.soup_members}


def _stub_soup(monkeypatch, model) -> list[str]:  # noqa: ANN001
    """Stub the dev metric and the soup; returns the log of what ran."""
    import textsiam.evaluation
    import textsiam.training.averaging

    ran: list[str] = []

    def make_dev_metric(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        ran.append("metric")
        return None

    def soup_models(models, metric):  # noqa: ANN001, ANN202
        ran.append("soup")
        return model, FakeReport()

    monkeypatch.setattr(textsiam.evaluation, "make_dev_metric", make_dev_metric)
    monkeypatch.setattr(textsiam.training.averaging, "soup_models", soup_models)
    return ran


def test_soup_overwrite_reaches_the_save(tiny_model, tmp_path, monkeypatch, capsys):
    ran = _stub_soup(monkeypatch, tiny_model)
    folder = _user_folder(tmp_path)
    argv = ["soup", "m1", "m2", "-d", "sick", "-o", str(folder), "--overwrite", "-q"]
    code, err = run_err(argv, capsys)
    assert code == 0, err
    assert ran == ["metric", "soup"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert (folder / "soup.json").is_file() and (folder / "model.safetensors").is_file()


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_soup_checks_its_output_before_evaluating(tiny_model, tmp_path, monkeypatch, capsys, overwrite):
    ran = _stub_soup(monkeypatch, tiny_model)
    blocker = tmp_path / "soup"
    blocker.write_text("not a folder", encoding="utf-8")
    code, err = run_err(["soup", "m1", "m2", "-d", "sick", "-o", str(blocker), *overwrite, "-q"], capsys)
    assert code == 2
    one_line_error(err, "soup")
    assert f"--output {blocker} exists and is not a directory" in err
    assert ran == []  # nothing was evaluated
    assert blocker.read_text(encoding="utf-8") == "not a folder"
