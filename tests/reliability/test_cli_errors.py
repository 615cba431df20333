"""One error path for the command line: ``textsiam <cmd>: error: <message naming the file>``, exit code 2.

Broken model folders, unwritable outputs, a full disk, Ctrl-C and SIGTERM: never a traceback (unless
``--debug``), never a partial output or a temporary file left behind.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from textsiam.cli import common, main
from textsiam.cli.runtime import describe_error, is_expected_error, raise_terminated


# ---------------------------------------------------------------------------------------------- helpers
class StubModel:
    """Stands in for a loaded model: fast, and each call can run a hook (raise, send a signal, ...)."""

    embedding_dim = 3

    def __init__(self, hook=None) -> None:  # noqa: ANN001
        self.calls = 0
        self.hook = hook

    def _step(self) -> None:
        self.calls += 1
        if self.hook is not None:
            self.hook(self.calls)

    def similarity(self, a, b, batch_size=None):  # noqa: ANN001, ANN201
        self._step()
        return np.full(len(a), 0.5, dtype=np.float32)

    def encode(self, texts, batch_size=None):  # noqa: ANN001, ANN201
        self._step()
        return np.ones((len(texts), self.embedding_dim), dtype=np.float32)


def use_stub(monkeypatch, hook=None) -> None:  # noqa: ANN001
    """Every model the CLI loads is a new :class:`StubModel` running ``hook(call_number)``."""
    monkeypatch.setattr(common, "load_model", lambda args: StubModel(hook))


def pairs_file(folder: Path, n: int = 5) -> Path:
    path = folder / "pairs.tsv"
    path.write_text("".join(f"text {i}\tother {i}\n" for i in range(n)), encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[str]:
    """Temporary files (``.NAME.*.tmp``) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def run_err(argv: list[str], capsys) -> tuple[int, str]:  # noqa: ANN001
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


# ---------------------------------------------------------------------------------------------- outputs
def test_output_folder_is_a_file(tmp_path, monkeypatch, capsys):
    """A parent "folder" that is a regular file (what a read-only folder is for root): one line, exit 2."""
    use_stub(monkeypatch)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    out = blocker / "scores.tsv"
    code, err = run_err(["score", "--pairs", str(pairs_file(tmp_path)), "--output", str(out), "-q"], capsys)
    assert code == 2
    assert err.startswith("textsiam score: error:") and str(blocker) in err
    assert "Traceback" not in err
    assert blocker.read_text() == "x"


def make_read_only(monkeypatch, folder: Path) -> list[str]:  # noqa: ANN001
    """Make ``folder`` behave as a folder without write permission, for root too (root ignores ``chmod``).

    As the kernel would for a ``0o555`` folder, creating, linking, renaming or removing an entry in ``folder`` (or
    below it) raises ``PermissionError(EACCES)`` naming the path; reading and listing still work. Returns the list
    of refused paths, so a test can check that the command really tried to write there.
    """
    refused: list[str] = []
    root = os.path.realpath(folder)

    def inside(path) -> bool:  # noqa: ANN001
        if isinstance(path, int):  # a file descriptor
            return False
        parent = os.path.dirname(os.path.realpath(os.fsdecode(path)))
        return parent == root or parent.startswith(root + os.sep)

    def deny(path) -> None:  # noqa: ANN001
        refused.append(os.fsdecode(path))
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

    real_open, real_builtin_open = os.open, open

    def os_open(path, flags, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if flags & os.O_CREAT and inside(path) and not os.path.lexists(path):
            deny(path)
        return real_open(path, flags, *args, **kwargs)

    def builtin_open(file, mode="r", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if any(c in mode for c in "wxa") and inside(file) and not os.path.lexists(file):
            deny(file)
        return real_builtin_open(file, mode, *args, **kwargs)

    def refuse_first(real):  # noqa: ANN001, ANN202
        def call(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if inside(path):
                deny(path)
            return real(path, *args, **kwargs)

        return call

    def refuse_either(real):  # noqa: ANN001, ANN202
        def call(src, dst, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            for path in (dst, src):
                if inside(path):
                    deny(path)
            return real(src, dst, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr("builtins.open", builtin_open)
    for name in ("mkdir", "unlink", "remove", "rmdir"):
        monkeypatch.setattr(os, name, refuse_first(getattr(os, name)))
    for name in ("link", "rename", "replace", "symlink"):
        monkeypatch.setattr(os, name, refuse_either(getattr(os, name)))
    return refused


@pytest.mark.parametrize(
    ("command", "output"),
    [("encode", "e.npy"), ("score", "scores.tsv"), ("encode", "sub/e.npy"), ("score", "sub/scores.tsv")],
)
def test_read_only_output_folder(tmp_path, monkeypatch, capsys, command, output):
    """An output in (or below) a folder without write permission: one line naming the folder, exit 2, no file."""
    use_stub(monkeypatch)
    src = pairs_file(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    refused = make_read_only(monkeypatch, folder)
    out = folder / output
    argv = ["score", "--pairs", str(src)] if command == "score" else ["encode", str(src)]
    code, err = run_err([*argv, "--output", str(out), "-q"], capsys)
    assert refused, "the command never tried to write into the read-only folder"
    assert code == 2, err
    assert err.startswith(f"textsiam {command}: error: {folder}"), err
    assert "Permission denied" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    monkeypatch.undo()
    assert list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.tsv", "ro"]


def _disk_full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a failed write or fsync raises it: no file name


@pytest.mark.parametrize("command", ["score", "encode"])
def test_full_disk_names_the_output_and_leaves_nothing(tmp_path, monkeypatch, capsys, command):
    use_stub(monkeypatch)
    src = pairs_file(tmp_path)
    out = tmp_path / ("scores.tsv" if command == "score" else "emb.npy")
    monkeypatch.setattr(os, "fsync", _disk_full)
    argv = ["score", "--pairs", str(src)] if command == "score" else ["encode", str(src)]
    code, err = run_err([*argv, "--output", str(out), "-q"], capsys)
    assert code == 2
    assert err.startswith(f"textsiam {command}: error:")
    assert str(out) in err and "No space left on device" in err
    assert "Traceback" not in err and "Errno" not in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_os_error_is_reported_with_its_file(tmp_path, capsys):
    """A missing pairs file or config file: the path is in the message."""
    missing = tmp_path / "nope.tsv"
    code, err = run_err(["score", "--pairs", str(missing), "-q"], capsys)
    assert code == 2 and err.startswith("textsiam score: error:") and str(missing) in err
    code, err = run_err(["train", "--config", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and err.startswith("textsiam train: error:") and "nope.yaml" in err


@pytest.mark.parametrize("command", ["score", "encode"])
def test_output_that_appears_meanwhile_is_not_replaced(tmp_path, monkeypatch, capsys, command):
    """Without --overwrite an output created while the command runs is kept (create-exclusively at the end)."""
    src = pairs_file(tmp_path)
    out = tmp_path / ("scores.tsv" if command == "score" else "emb.npy")

    def someone_else_writes(call: int) -> None:
        if call == 1:
            out.write_text("precious")

    use_stub(monkeypatch, someone_else_writes)
    argv = ["score", "--pairs", str(src)] if command == "score" else ["encode", str(src)]
    code, err = run_err([*argv, "--output", str(out), "-q"], capsys)
    assert code == 2 and err.startswith(f"textsiam {command}: error:") and str(out) in err
    assert out.read_text() == "precious"
    assert leftovers(tmp_path) == []
    # with --overwrite it is replaced (the stub writes it again during the run)
    out.unlink()
    assert main([*argv, "--output", str(out), "-q", "--overwrite"]) == 0
    assert out.read_bytes() != b"precious"


# ---------------------------------------------------------------------------------------------- broken model folders
def _broken_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_json(path: Path, **changes) -> None:  # noqa: ANN003
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


BROKEN_MODELS = {
    "truncated_weights": ("model.safetensors", _truncate),
    "garbage_weights": ("model.safetensors", lambda p: p.write_bytes(b"\x00garbage" * 64)),
    "garbage_tokenizer": ("tokenizer.json", lambda p: p.write_text("this is not a tokenizer {{{")),
    "tokenizer_wrong_structure": (
        "tokenizer.json",
        lambda p: p.write_text('{"version": "1.0", "added_tokens": [], "model": {"type": "WordPiece"}}'),
    ),
    "textsiam_json_is_a_list": ("textsiam.json", lambda p: p.write_text("[1, 2, 3]")),
    "textsiam_json_bad_type": ("textsiam.json", lambda p: _edit_json(p, max_seq_length="abc")),
    "config_json_invalid": ("config.json", lambda p: p.write_text('{"hidden_size": 32,,}')),
    "tensor_shape_mismatch": ("config.json", lambda p: _edit_json(p, hidden_size=64)),
    "config_json_wrong_type": ("config.json", lambda p: _edit_json(p, hidden_size="x")),
}


@pytest.mark.parametrize("case", list(BROKEN_MODELS))
def test_broken_model_folder_is_one_line_naming_the_file(tiny_model_dir, tmp_path, capsys, case):
    filename, corrupt = BROKEN_MODELS[case]
    model_dir = _broken_copy(tiny_model_dir, tmp_path / "model")
    corrupt(next(model_dir.rglob(filename)))
    code, err = run_err(["score", "a", "b", "--model", str(model_dir), "-q"], capsys)
    assert code == 2, err
    assert err.startswith("textsiam score: error:"), err
    assert filename in err, err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tiny_model_dir, tmp_path):
    model_dir = _broken_copy(tiny_model_dir, tmp_path / "model")
    _truncate(model_dir / "model.safetensors")
    for argv in (["--debug", "score", "a", "b"], ["score", "a", "b", "--debug"]):
        # the loader's error, re-raised as is (with its traceback) instead of the one-line report
        with pytest.raises(ValueError, match=r"model\.safetensors: not a readable safetensors file") as info:
            main([*argv, "--model", str(model_dir), "-q"])
        assert is_expected_error(info.value)


def test_bare_tokenizers_exception_becomes_a_value_error(monkeypatch, capsys):
    """The Rust ``tokenizers`` bindings raise a bare ``Exception``; the CLI reports it in one line."""
    from textsiam import SiameseModel

    def fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise Exception("data did not match any variant of untagged enum ModelWrapper at line 1 column 9")

    monkeypatch.setattr(SiameseModel, "from_pretrained", fail)
    code, err = run_err(["score", "a", "b", "--model", "/some/model", "-q"], capsys)
    assert code == 2 and err.startswith("textsiam score: error: cannot load the model /some/model")
    assert "untagged enum" in err


def test_strict_dataclass_errors_of_a_loader_become_one_line(monkeypatch, capsys):
    """huggingface_hub's strict-dataclass errors (a config.json field of the wrong type) are no ValueError: a loader
    that lets one through still gives one line and exit 2, naming config.json."""
    from huggingface_hub import errors

    if not hasattr(errors, "StrictDataclassFieldValidationError"):
        pytest.skip("huggingface_hub has no strict dataclasses")
    from textsiam import SiameseModel

    def fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise errors.StrictDataclassFieldValidationError(field="hidden_size", cause=TypeError("expected int, got str"))

    monkeypatch.setattr(SiameseModel, "from_pretrained", fail)
    code, err = run_err(["score", "a", "b", "--model", "/some/model", "-q"], capsys)
    assert code == 2 and err.startswith("textsiam score: error: cannot load the model /some/model: config.json:")
    assert "hidden_size" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_expected_error_types():
    from safetensors import SafetensorError

    from textsiam.calibration import NotCalibratedError
    from textsiam.training import ConfigError

    expected = [
        ValueError("x"),
        TypeError("x"),
        OSError(errno.ENOSPC, "No space left on device", "f"),
        FileExistsError("x"),
        PermissionError(errno.EACCES, "Permission denied", "f"),
        json.JSONDecodeError("bad", "{", 0),
        ConfigError(["x"]),
        NotCalibratedError("x"),
        SafetensorError("x"),
        Exception("tokenizers"),
    ]
    assert all(is_expected_error(e) for e in expected)
    assert not any(is_expected_error(e) for e in (RuntimeError("x"), KeyError("x"), AttributeError("x")))
    assert describe_error(PermissionError(errno.EACCES, "Permission denied", "/x/y")) == "/x/y: Permission denied"


def test_a_bug_is_not_hidden(tmp_path, monkeypatch):
    """An unexpected exception (a bug) keeps its traceback."""

    def bug(call: int) -> None:
        raise RuntimeError("a bug")

    use_stub(monkeypatch, bug)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["score", "--pairs", str(pairs_file(tmp_path)), "--output", str(tmp_path / "o.tsv"), "-q"])
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------- interrupts
def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    def interrupt(call: int) -> None:
        if call == 2:
            raise KeyboardInterrupt

    use_stub(monkeypatch, interrupt)
    out = tmp_path / "scores.tsv"
    argv = ["score", "--pairs", str(pairs_file(tmp_path)), "--output", str(out), "--chunk-size", "2", "-q"]
    code, err = run_err(argv, capsys)
    assert code == 130 and err.strip() == "textsiam score: interrupted"
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["score", "encode"])
def test_sigterm_exits_143_and_leaves_nothing(tmp_path, monkeypatch, capsys, command):
    before = signal.getsignal(signal.SIGTERM)

    def terminate(call: int) -> None:
        if call == 2:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises in this thread at once; the sleep is never finished

    use_stub(monkeypatch, terminate)
    out = tmp_path / ("scores.tsv" if command == "score" else "emb.npy")
    src = pairs_file(tmp_path)
    argv = ["score", "--pairs", str(src)] if command == "score" else ["encode", str(src)]
    code, err = run_err([*argv, "--output", str(out), "--chunk-size", "2", "-q"], capsys)
    assert code == 143 and err.strip() == f"textsiam {command}: terminated"
    assert not out.exists() and leftovers(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is restored


def test_sigterm_handler_only_while_main_runs(tmp_path, monkeypatch):
    seen = []
    use_stub(monkeypatch, lambda call: seen.append(signal.getsignal(signal.SIGTERM)))
    before = signal.getsignal(signal.SIGTERM)
    assert main(["score", "--pairs", str(pairs_file(tmp_path)), "-q"]) == 0
    assert seen and seen[0] is raise_terminated
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.slow  # a subprocess that imports torch
def test_sigterm_to_the_process(tiny_model_dir, tmp_path):
    """End to end: ``kill -TERM`` a running ``textsiam encode``: exit code 143, no temporary file, no output."""
    import subprocess
    import sys

    src = tmp_path / "texts.txt"
    src.write_text("".join(f"line number {i} of many\n" for i in range(300_000)), encoding="utf-8")
    out = tmp_path / "emb.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    argv = [sys.executable, "-m", "textsiam", "encode", str(src), "-o", str(out), "--model", str(tiny_model_dir), "-q"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read()
        assert leftovers(tmp_path), "the encoding never started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert err.strip().endswith("textsiam encode: terminated"), err
    assert not out.exists() and leftovers(tmp_path) == []
