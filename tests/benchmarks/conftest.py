"""Fixtures of the benchmark tests: the ``benchmarks`` package imported as under ``python -m`` from the root."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository root first on ``sys.path``, and any ``benchmarks`` modules imported before forgotten."""
    monkeypatch.syspath_prepend(str(ROOT))
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.fixture
def import_benchmark(importable: None) -> Callable[[str], ModuleType]:
    """``import_benchmark("distill")``: the module ``benchmarks.distill``, freshly imported."""
    return lambda name: importlib.import_module(f"benchmarks.{name}")
