"""``benchmarks/`` is a package: every script imports and answers ``python -m benchmarks.<name> --help``.

No ``__init__.py`` in this folder on purpose: with pytest's default import mode it would make this test module
``benchmarks.test_benchmarks_package`` and shadow the real ``benchmarks`` package.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
#: results sub-folders (docs link to them)
TOPICS = {"zero_shot", "finetune", "malstm", "towers", "speed", "scale", "calibration", "explain", "augsbert"}
MODULES = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "__init__")
SCRIPTS = sorted(m for m in MODULES if 'if __name__ == "__main__":' in (BENCHMARKS / f"{m}.py").read_text())


def test_every_benchmark_is_found() -> None:
    assert {"common", "zero_shot", "scale", "scale_mining", "scale_report", "distill_towers"} <= set(MODULES)
    assert {"zero_shot", "scale", "distill_towers", "finetune_stsb", "encode_speed"} <= set(SCRIPTS)
    assert "common" not in SCRIPTS


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str, importable: None) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert Path(module.__file__).resolve() == BENCHMARKS / f"{name}.py"
    if name in SCRIPTS:
        assert callable(module.main)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name: str) -> None:
    env = {**os.environ, "PYTHONPATH": ""}  # found from the working directory alone, as documented
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--results-dir" in proc.stdout
    assert "benchmarks/results/" in proc.stdout


def test_no_sys_path_edits() -> None:
    offenders = [p.name for p in sorted(BENCHMARKS.rglob("*.py")) if "sys.path" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_results_are_grouped_by_topic() -> None:
    loose = sorted(p.name for p in RESULTS.iterdir() if p.is_file())
    assert loose == []
    assert {p.name for p in RESULTS.iterdir() if p.is_dir()} <= TOPICS


def test_results_dir_defaults_to_a_topic_folder(importable: None) -> None:
    common = importlib.import_module("benchmarks.common")
    assert set(common.TOPICS) == TOPICS
    parser = common.benchmark_parser("doc", "scale")
    assert parser.parse_args([]).results_dir == RESULTS / "scale"
    with pytest.raises(ValueError, match="unknown results topic 'nowhere'; choose from"):
        common.benchmark_parser("doc", "nowhere")


def test_command_is_recorded_in_module_form(importable: None, monkeypatch: pytest.MonkeyPatch) -> None:
    common = importlib.import_module("benchmarks.common")
    main = type(sys)("__main__")
    main.__spec__ = importlib.util.find_spec("benchmarks.zero_shot")
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / "zero_shot.py"), "--results-dir", "/tmp/a b"])
    assert common.command().split(" ", 1)[1] == "-m benchmarks.zero_shot --results-dir '/tmp/a b'"


def test_markdown_table(importable: None) -> None:
    common = importlib.import_module("benchmarks.common")
    assert common.markdown_table(["a", "b"], [[1, "x"]], "lr") == ["| a | b |", "|---|---:|", "| 1 | x |"]
