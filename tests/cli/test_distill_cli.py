"""``textsiam distill``: a tiny random BERT teacher distilled into static / CNN towers from the command line."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from textsiam import SiameseModel
from textsiam.cli import COMMANDS, main
from textsiam.cli.distill import read_corpus

WORDS = "the a cat dog man woman sat on mat plays guitar stocks fell sharply monday how do i learn python fast".split()
PROBES = ["A man is playing a guitar.", "The cat sits on the mat.", "Stocks fell sharply on Monday.", ""]


def write_corpus(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` random sentences of 3 to 12 words, one per line."""
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "corpus.txt", 60)


def cnn_args(teacher: Path, corpus: Path, out: Path) -> list[str]:
    """A fast CNN run: 8 filters, no vocabulary items."""
    return ["distill", "--teacher", str(teacher), "--tower", "cnn", "--set", "tower_args={num_filters: 8}",
            "--corpus", str(corpus), "--no-vocabulary", "-o", str(out), "-q"]  # fmt: skip


def info(out: Path) -> dict:
    return json.loads((out / "distillation.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- runs
def test_static_student_is_an_ordinary_model(tiny_model_dir, corpus, tmp_path, capsys):
    out = tmp_path / "student"
    argv = ["distill", "--teacher", str(tiny_model_dir), "--tower", "static", "--corpus", str(corpus),
            "-o", str(out), "--no-vocabulary", "--epochs", "2", "-q"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    line = captured.out.strip()
    assert line.startswith(f"distilled static student of {tiny_model_dir} -> {out.resolve()} (60 texts, ")
    assert "cosine to the teacher" in line and line.endswith("s)") and "\n" not in line
    assert captured.err == ""  # -q: no INFO lines, no progress bars
    student = SiameseModel.from_pretrained(out, device="cpu")
    teacher = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    emb = student.encode(PROBES)
    assert emb.shape == (len(PROBES), teacher.embedding_dim) and np.isfinite(emb).all()
    assert (out / "distillation.json").is_file() and not (out / "distill-checkpoint").exists()
    data = info(out)
    assert data["n_texts"] == 60 and len(data["log"]) == 2
    assert data["config"]["tower"] == "static" and data["config"]["vocabulary"] is False


def test_config_then_set_then_options(tiny_model_dir, corpus, tmp_path, capsys):
    config = tmp_path / "distill.yaml"
    config.write_text("tower: lstm\ntower_args: {hidden_size: 8}\nlr: 3e-3\nepochs: 5\nseed: 7\n", encoding="utf-8")
    out = tmp_path / "student"
    argv = [*cnn_args(tiny_model_dir, corpus, out), "--config", str(config), "--set", "epochs=3", "batch_size=16",
            "--epochs", "1", "--batch-size", "32"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("distilled cnn student of")
    got = info(out)["config"]
    # --set replaced the config's tower_args; the cnn preset adds what they leave out
    assert got["tower"] == "cnn" and got["tower_args"] == {"num_filters": 8, "mean_embedding": True}
    assert got["lr"] == 3e-3 and got["seed"] == 7  # from the file (3e-3 read as a number, not YAML 1.1 text)
    assert got["epochs"] == 1 and got["batch_size"] == 32  # options win over --set
    assert got["show_progress"] is False  # -q
    assert len(info(out)["log"]) == 1


def test_corpus_file_is_read_line_by_line(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_bytes("\ufeffone\r\n\n  two  \none\n   \nthree\nfour\n".encode())
    assert read_corpus(path) == ["one", "two", "three", "four"]
    assert read_corpus(path, limit=2) == ["one", "two"]


def test_max_texts(tiny_model_dir, corpus, tmp_path, capsys):
    out = tmp_path / "student"
    assert main([*cnn_args(tiny_model_dir, corpus, out), "--epochs", "1", "--max-texts", "10"]) == 0
    assert "(10 texts, " in capsys.readouterr().out
    assert info(out)["n_texts"] == 10


def test_list_options(capsys):
    assert main(["distill", "--list-options"]) == 0
    text = capsys.readouterr().out
    for name in ("teacher", "tower_args", "checkpoint_steps", "embedding_lr"):
        assert f"\n{name} " in f"\n{text}"
    assert "default='static'" in text  # the command's default tower
    assert "passes over the texts" in text  # the field's comment


# ---------------------------------------------------------------------------------------------- errors
def check_error(argv: list[str], capsys, *words: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("textsiam distill: error: "), err
    for word in words:
        assert word in err, err
    return err


def test_missing_corpus_file(tiny_model_dir, tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    check_error(cnn_args(tiny_model_dir, missing, tmp_path / "out"), capsys, "corpus file not found", str(missing))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("epochs=0", ("epochs must be a positive int", "0")),
        ("unknown_field=1", ("unknown field 'unknown_field'", "valid:")),
        ("tower_args.nope=3", ("tower_args", "nope")),
        ("epochs", ("--set expects key=value",)),
    ],
)
def test_bad_set(tiny_model_dir, corpus, tmp_path, capsys, setting, words):
    check_error([*cnn_args(tiny_model_dir, corpus, tmp_path / "out"), "--set", setting], capsys, *words)
    assert not (tmp_path / "out").exists()


def test_bad_config_file(tiny_model_dir, corpus, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("epochs: [1, 2\n", encoding="utf-8")
    check_error([*cnn_args(tiny_model_dir, corpus, tmp_path / "out"), "-c", str(config)], capsys, str(config), "YAML")


def test_output_with_other_files_needs_overwrite(tiny_model_dir, corpus, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    check_error(cnn_args(tiny_model_dir, corpus, out), capsys, str(out), "holds files", "overwrite")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_resume_without_checkpoint(tiny_model_dir, corpus, tmp_path, capsys):
    check_error([*cnn_args(tiny_model_dir, corpus, tmp_path / "out"), "--resume"], capsys, "resume", "no interrupted")


def test_output_is_required(tiny_model_dir, corpus, capsys):
    check_error(["distill", "--teacher", str(tiny_model_dir), "--corpus", str(corpus)], capsys, "--output")


def test_no_texts_and_no_vocabulary(tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TEXTSIAM_DATA", raising=False)
    argv = ["distill", "--teacher", str(tiny_model_dir), "--no-vocabulary", "-o", str(tmp_path / "out")]
    check_error(argv, capsys, "no texts", "--corpus")
    check_error([*argv, "--data-dir", str(tmp_path / "nowhere")], capsys, "--data-dir", "nowhere")


# ---------------------------------------------------------------------------------------------- kill and resume
@pytest.mark.slow
def test_resume_after_kill_equals_an_uninterrupted_run(tiny_model_dir, tmp_path, capsys, one_torch_thread):
    corpus = write_corpus(tmp_path / "corpus.txt", 240)

    def argv(out: Path) -> list[str]:
        extra = ["--batch-size", "8", "--epochs", "3", "--set", "checkpoint_steps=2"]
        return [*cnn_args(tiny_model_dir, corpus, out), *extra]

    killed, whole = tmp_path / "killed", tmp_path / "whole"
    state = killed / "distill-checkpoint" / "state.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "textsiam", *argv(killed)], stdout=subprocess.DEVNULL, stderr=err, env=env
        )
        try:
            deadline = time.monotonic() + 240
            while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)  # no-op if it has ended
            proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()
    assert state.exists() and not (killed / "distillation.json").exists()  # killed in the middle of the run

    check_error(argv(killed), capsys, "interrupted", "--resume")  # never starts over silently
    assert state.exists()
    assert main([*argv(killed), "--resume"]) == 0
    assert not (killed / "distill-checkpoint").exists()
    assert main(argv(whole)) == 0
    capsys.readouterr()

    log_a, log_b = info(killed)["log"], info(whole)["log"]
    assert len(log_a) == len(log_b) == 3
    for entry_a, entry_b in zip(log_a, log_b, strict=True):
        assert entry_a["loss"] == pytest.approx(entry_b["loss"], rel=1e-5)
        assert entry_a["cosine_to_teacher"] == pytest.approx(entry_b["cosine_to_teacher"], rel=1e-5)
    a, b = (SiameseModel.from_pretrained(p, device="cpu") for p in (killed, whole))
    # exactly: same steps, same arithmetic (one torch thread here as in the killed subprocess; another thread count
    # sums in another order, ~1e-7 apart)
    np.testing.assert_array_equal(a.encode(PROBES), b.encode(PROBES))


# ---------------------------------------------------------------------------------------------- help
def test_help(capsys):
    assert "distill" in COMMANDS and list(COMMANDS).index("distill") == list(COMMANDS).index("train") + 1
    with pytest.raises(SystemExit, match="^0$") as exit_info:  # --help exits with code 0
        main(["distill", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: textsiam distill") and "--resume" in text and "--corpus" in text
    with pytest.raises(SystemExit, match="^0$") as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "distill" in capsys.readouterr().out
