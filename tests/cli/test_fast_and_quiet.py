"""The command line is fast to start, quiet when asked, says each warning once and ends quietly on ``| head``."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from textsiam.cli import COMMANDS, build_parser, common, main

HEAVY = ("torch", "transformers", "numpy", "faiss", "datasets")


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("RANK", None)
    return env


def _textsiam() -> list[str]:
    """The ``textsiam`` console script of this environment (else ``python -m textsiam``)."""
    script = Path(sys.executable).with_name("textsiam")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "textsiam"]


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    return subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=300, **kwargs)


class StubModel:
    """A fast stand-in for a loaded model."""

    embedding_dim = 3

    def similarity(self, a, b, batch_size=None):  # noqa: ANN001, ANN201
        return np.full(len(a), 0.5, dtype=np.float32)


def _pairs(folder: Path, n: int = 5, long_text: str | None = None) -> Path:
    path = folder / "pairs.tsv"
    rows = [f"text {i}\tother {i}\n" for i in range(n)]
    if long_text is not None:
        rows.append(f"{long_text}\tshort\n")
    path.write_text("".join(rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- fast start
def test_importing_the_cli_loads_nothing_heavy():
    code = f"import textsiam.cli, sys; print([m for m in {HEAVY!r} if m in sys.modules])"
    proc = _run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_help_exits_0():
    for argv in (["--help"], ["score", "--help"]):
        proc = _run([*_textsiam(), *argv])
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("usage: textsiam") and proc.stderr == ""


def test_the_registry_names_the_commands():
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    names = ["score", "rerank", "encode", "mine", "evaluate", "train", "distill", "soup", "export"]
    assert list(subparsers.choices) == list(COMMANDS) == names


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit, match="^0$") as info:  # --help exits with code 0
        main([command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: textsiam {command}")


# ---------------------------------------------------------------------------------------------- global options
@pytest.mark.parametrize("option", ["quiet", "verbose", "debug"])
def test_global_options_before_and_after_the_command(option):
    flag = f"--{option}"
    parse = build_parser().parse_args
    assert getattr(parse([flag, "score", "a", "b"]), option) is True
    assert getattr(parse(["score", "a", "b", flag]), option) is True
    assert getattr(parse(["score", "a", "b"]), option) is False
    assert parse(["-q", "encode", "x", "-o", "e.npy"]).quiet is True
    assert parse(["train", "-q", "-v"]).verbose is True


# ---------------------------------------------------------------------------------------------- quiet and once
def test_quiet_prints_only_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", lambda args: StubModel())
    assert main(["score", "--pairs", str(_pairs(tmp_path, 3)), "-q"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["text_a\ttext_b\tscore"] + [f"text {i}\tother {i}\t0.500000" for i in range(3)]
    assert err == ""
    out_file = tmp_path / "s.tsv"
    assert main(["-q", "score", "--pairs", str(_pairs(tmp_path, 3)), "-o", str(out_file)]) == 0
    assert capsys.readouterr() == ("", "")


def test_default_shows_the_info_line_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", lambda args: StubModel())
    out_file = tmp_path / "s.tsv"
    assert main(["score", "--pairs", str(_pairs(tmp_path, 3)), "-o", str(out_file)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count(f"INFO textsiam: wrote 3 scores to {out_file}") == 1


@pytest.mark.slow  # a subprocess that imports torch
def test_end_to_end_quiet_and_default(tiny_model_dir, tmp_path):
    """A real process: ``-q`` writes nothing on stderr; by default the INFO line, the truncation warning once
    and no "Loading weights" bar of transformers."""
    pairs = _pairs(tmp_path, 3)
    proc = _run([*_textsiam(), "score", "--pairs", str(pairs), "-m", str(tiny_model_dir), "-q"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines()[0] == "text_a\ttext_b\tscore" and len(proc.stdout.splitlines()) == 4

    pairs = _pairs(tmp_path, 3, long_text=" ".join(["word"] * 300))  # longer than the tiny model's 64 tokens
    out = tmp_path / "scores.tsv"
    proc = _run([*_textsiam(), "score", "--pairs", str(pairs), "-m", str(tiny_model_dir), "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count(f"INFO textsiam: wrote 4 scores to {out}") == 1, proc.stderr
    assert proc.stderr.count("were truncated") == 1, proc.stderr
    assert "Loading weights" not in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------- closed stdout
class ClosedPipe:
    """A stdout whose reader went away."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    def flush(self) -> None:
        pass


def test_closed_stdout_ends_quietly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "load_model", lambda args: StubModel())
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["score", "--pairs", str(_pairs(tmp_path))]) == 141
    assert capsys.readouterr().err == ""


def test_a_broken_output_file_is_still_an_error(tmp_path, monkeypatch, capsys):
    """Only stdout's reader going away is quiet; a broken pipe with a file name is reported."""

    def fail(args):  # noqa: ANN001, ANN202
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE), str(tmp_path / "fifo"))

    monkeypatch.setattr(common, "load_model", fail)
    assert main(["score", "a", "b"]) == 2
    assert capsys.readouterr().err.startswith("textsiam score: error:")


@pytest.mark.slow  # a subprocess that imports torch
def test_head_closes_the_pipe(tiny_model_dir, tmp_path):
    """``textsiam score --pairs big.tsv | head -1``: exit 0 or 141, nothing on stderr."""
    pairs = _pairs(tmp_path, 10_000)  # ~200 kB of output: more than the pipe holds
    argv = [*_textsiam(), "score", "--pairs", str(pairs), "-m", str(tiny_model_dir), "-q", "--chunk-size", "500"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        assert proc.stdout.readline() == "text_a\ttext_b\tscore\n"
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code in (0, 141), err
    assert err == ""


# ---------------------------------------------------------------------------------------------- mine
def test_mine_checks_a_cosine_threshold_before_loading(tmp_path, monkeypatch, capsys):
    def never(args):  # noqa: ANN001, ANN202
        raise AssertionError("the model must not load")

    monkeypatch.setattr(common, "load_model", never)
    src = tmp_path / "texts.txt"
    src.write_text("a\nb\n", encoding="utf-8")
    assert main(["mine", str(src), "-o", str(tmp_path / "p.tsv"), "--threshold", "1.5", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("textsiam mine: error: threshold 1.5 is outside [-1, 1]"), err
    assert not (tmp_path / "p.tsv").exists()


def test_main_leaves_transformers_progress_bars_as_it_found_them(tiny_model_dir, capsys):
    """Calling ``main`` from Python (a notebook, a test) must not change the caller's transformers settings."""
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    assert main(["score", "a cat", "a dog", "-m", str(tiny_model_dir), "-q"]) == 0
    assert hf_logging.is_progress_bar_enabled()
