"""The architecture holds, in ``textsiam/`` and in ``benchmarks/``.

Layers point down (import-linter, ``textsiam/`` only); in both trees private names stay in their module, modules
stay small, nothing imports a module path that was removed, and no modules import each other in a cycle.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "textsiam"
#: The source trees the rules below hold for, by name (each is a package of that name at the repository root).
TREES = {"textsiam": PACKAGE, "benchmarks": ROOT / "benchmarks"}
#: The packages of this repository: a ``from`` import of one of these is first-party.
FIRST_PARTY = tuple(TREES)
#: Module paths removed before any release had them (the 0.2 aliases and their shim): ``textsiam.<name>``.
REMOVED_MODULES = ("siamese", "similarity", "precision", "st_compat", "graph", "compat")
#: No module over this many lines: one idea per file.
MAX_LINES = 500
#: No class over this many lines (a class that long holds more than one idea).
MAX_CLASS_LINES = 400


def _modules(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    """The module a ``from`` import reads from, relative imports resolved against ``path``."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _imports(path: Path) -> list[tuple[str, str | None]]:
    """Every import in ``path`` (module level or not): ``(module, name)``, ``name`` None for ``import module``."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, path)
            found += [(module, alias.name) for alias in node.names]
    return found


def _is_first_party(module: str) -> bool:
    return module.split(".")[0] in FIRST_PARTY


def _package_all() -> set[str]:
    """``textsiam.__all__``, read statically: names ``from textsiam import ...`` gives that are not sub-modules."""
    for node in _tree(PACKAGE / "__init__.py").body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def _private_imports(tree: Path) -> list[str]:
    offenders = []
    for path in _modules(tree):
        for module, name in _imports(path):
            private = [part for part in module.split(".") + [name or ""] if part.startswith("_")]
            private = [part for part in private if not part.startswith("__")]
            if _is_first_party(module) and private:
                offenders.append(f"{_module_name(path)} <- {module}" + (f".{name}" if name else ""))
    return offenders


def _removed_imports(tree: Path) -> list[str]:
    old = {f"textsiam.{name}" for name in REMOVED_MODULES}
    package_names = _package_all()
    offenders = []
    for path in _modules(tree):
        for module, name in _imports(path):
            from_removed = any(module == o or module.startswith(o + ".") for o in old)
            # ``from textsiam import similarity`` is the function of that name, ``from textsiam import graph`` the
            # removed module
            removed_from_package = module == "textsiam" and name in REMOVED_MODULES and name not in package_names
            if from_removed or removed_from_package:
                offenders.append(f"{_module_name(path)} imports {module}" + (f".{name}" if name else ""))
        for node in ast.walk(_tree(path)):  # importlib.import_module("textsiam.siamese") and the like
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in old:
                offenders.append(f"{_module_name(path)} names {node.value!r}")
    return offenders


def _import_graph(tree: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same tree it imports (anywhere in its body, lazy imports included)."""
    names = {_module_name(p): p for p in _modules(tree)}
    graph: dict[str, set[str]] = {}
    for module, path in names.items():
        deps = set()
        for target, name in _imports(path):
            if name is not None and f"{target}.{name}" in names:  # from package import submodule
                deps.add(f"{target}.{name}")
            elif target in names:
                deps.add(target)
        graph[module] = deps - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_import_contracts_are_kept():
    """``lint-imports`` checks the layer contract in pyproject.toml: a lower layer never imports a higher one."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


@pytest.mark.parametrize("tree", TREES)
def test_no_private_name_is_imported_from_another_module(tree):
    """A name starting with ``_`` stays inside its module (textsiam's and the benchmarks' modules alike)."""
    offenders = _private_imports(TREES[tree])
    assert not offenders, offenders


def test_removed_module_paths_do_not_exist():
    """The 0.2 aliases and their shim are gone: only the real homes (``textsiam.model.siamese``, ...) remain."""
    left = [f"textsiam.{n}" for n in REMOVED_MODULES if (PACKAGE / f"{n}.py").exists() or (PACKAGE / n).is_dir()]
    assert not left, left


@pytest.mark.parametrize("tree", TREES)
def test_nothing_imports_a_removed_module_path(tree):
    offenders = _removed_imports(TREES[tree])
    assert not offenders, offenders


@pytest.mark.parametrize("tree", TREES)
def test_no_import_cycles(tree):
    """No modules import each other in a cycle, not even through an import inside a function."""
    cycles = _cycles(_import_graph(TREES[tree]))
    assert not cycles, cycles


@pytest.mark.parametrize(
    "path",
    [p for root in TREES.values() for p in _modules(root)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_modules_stay_readable(path):
    """One idea per file: no module over 500 lines."""
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines; split it by idea"


def _long_classes(tree: Path) -> list[str]:
    out = []
    for path in _modules(tree):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                n = node.end_lineno - start + 1
                if n > MAX_CLASS_LINES:
                    out.append(f"{path.relative_to(ROOT)}:{node.name} has {n} lines")
    return out


@pytest.mark.parametrize("tree", TREES)
def test_classes_stay_readable(tree):
    """No class over 400 lines: move a family of methods into a mixin or a module of its own."""
    assert not _long_classes(TREES[tree])
