"""The architecture holds: layers point down (import-linter), private names stay in their module, modules stay small."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "textsiam"
#: Old module paths kept for one release; they only forward names to the new ones.
DEPRECATED_ALIASES = {"siamese", "similarity", "precision", "st_compat", "graph"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_import_contracts_are_kept():
    """``lint-imports`` checks the layer contract in pyproject.toml: a lower layer never imports a higher one."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("textsiam"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offenders.append(f"{_module_name(path)} <- {node.module}.{alias.name}")
    assert not offenders, offenders


def test_no_module_imports_a_deprecated_alias():
    """The old paths are for users; the package itself uses the new homes."""
    offenders = []
    old = {f"textsiam.{name}" for name in DEPRECATED_ALIASES}
    for path in _modules():
        if path.parent == PACKAGE and path.stem in DEPRECATED_ALIASES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            offenders += [f"{_module_name(path)} imports {n}" for n in names if n in old]
    assert not offenders, offenders


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_readable(path):
    """One idea per file: no module over about 500 lines."""
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= 520, f"{path.relative_to(ROOT)} has {n} lines; split it by idea"
