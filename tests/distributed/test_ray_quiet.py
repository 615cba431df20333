"""#24 item 8: ``--engine ray -q`` is quiet: no Ray, Ray Data or core-worker lines on stderr."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("ray")


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_quiet_ray_run_prints_nothing(tiny_model_dir, tmp_path):
    """Ray is started by the command itself (in a subprocess), as a user's ``textsiam encode --engine ray -q``."""
    src = tmp_path / "texts.txt"
    src.write_text("A man is playing a guitar.\nA cat sleeps.\nStocks fell.\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    argv = ["encode", str(src), "--engine", "ray", "--output", str(tmp_path / "out"), "--model", str(tiny_model_dir)]
    run = subprocess.run(
        [sys.executable, "-m", "textsiam", *argv, "-q"], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == "", run.stderr
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [".parquet"]


def test_dropping_stderr_lines_keeps_the_other_lines(capfd):
    from textsiam.distributed.ray_engine import dropping_stderr_lines, quiet_ray

    with dropping_stderr_lines(("Set ray log level",)):
        os.write(2, b"kept 1\n[I] logging.cc: Set ray log level from environment variable\nkept 2\n")
    assert capfd.readouterr().err == "kept 1\nkept 2\n"
    before = os.environ.get("RAY_BACKEND_LOG_LEVEL")
    with quiet_ray():
        assert os.environ["RAY_BACKEND_LOG_LEVEL"] == "fatal"
    assert os.environ.get("RAY_BACKEND_LOG_LEVEL") == before


def test_a_ray_that_fails_to_start_leaves_logging_and_environment_as_they_were(tmp_path, monkeypatch):
    """Quiet mode is undone also when ``ray.init`` raises (a bad address, say)."""
    import logging

    import textsiam.distributed.ray_datasource  # noqa: F401 - imports ray.data, which sets its loggers' levels
    import textsiam.distributed.ray_engine as engine

    class NoRay:
        @staticmethod
        def is_initialized() -> bool:
            return False

        @staticmethod
        def init(**kwargs: object) -> None:
            raise ConnectionError("no Ray cluster at 10.0.0.1:6379")

    monkeypatch.setattr(engine, "require_ray", lambda: NoRay)
    monkeypatch.setattr(engine.logger, "level", logging.WARNING)  # as under -q: quiet mode on
    src = tmp_path / "texts.txt"
    src.write_text("A cat sleeps.\n", encoding="utf-8")
    env_before = {k: os.environ.get(k) for k in engine.QUIET_RAY_ENV}
    levels_before = {name: logging.getLogger(name).level for name in engine.RAY_LOGGERS}
    with pytest.raises(ConnectionError, match="no Ray cluster at 10.0.0.1:6379") as info:
        engine.encode_file(src, tmp_path / "out", model="unused-model-name", address="10.0.0.1:6379")
    assert info.value.__traceback__ is not None  # the failed call's frames are alive: nothing was undone by them
    assert {k: os.environ.get(k) for k in engine.QUIET_RAY_ENV} == env_before
    assert {name: logging.getLogger(name).level for name in engine.RAY_LOGGERS} == levels_before
    assert not (tmp_path / "out").exists()
