"""Rules of the test suite itself, checked on its source: every ``pytest.raises`` names the message it expects.

A bare ``pytest.raises(ValueError)`` passes on any ``ValueError``, the wrong one included (a typo in an argument,
an error raised one line too early). ``match=`` makes the test say which error it means. For ``SystemExit`` the
message is the exit code (``str(SystemExit(2)) == "2"``): ``match="^2$"``, and the test reads stderr for the text.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_pytest_raises(func: ast.expr, raises_names: set[str]) -> bool:
    if isinstance(func, ast.Attribute):  # pytest.raises(...)
        return func.attr == "raises" and isinstance(func.value, ast.Name) and func.value.id == "pytest"
    return isinstance(func, ast.Name) and func.id in raises_names  # from pytest import raises [as r]


def raises_without_match(source: str, filename: str = "<source>") -> list[str]:
    """``filename:line: call`` of each ``pytest.raises(...)`` in ``source`` without ``match=`` (or ``match=None``)."""
    tree = ast.parse(source, filename=filename)
    raises_names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "pytest"
        for alias in node.names
        if alias.name == "raises"
    }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_pytest_raises(node.func, raises_names)):
            continue
        match = next((k.value for k in node.keywords if k.arg == "match"), None)
        if match is None or (isinstance(match, ast.Constant) and match.value in (None, "")):
            found.append((node.lineno, node.col_offset, f"{filename}:{node.lineno}: {ast.unparse(node)}"))
    return [hit for *_, hit in sorted(found)]


def test_the_rule_finds_raises_without_match():
    source = (
        "import pytest\n"
        "from pytest import raises as r\n"
        "def test():\n"
        "    with pytest.raises(ValueError):\n"
        "        pass\n"
        "    with pytest.raises(\n"
        "        KeyError,\n"
        "    ) as info, open('f'):\n"
        "        pass\n"
        "    pytest.raises(TypeError, int, 'x')\n"
        "    with r(OSError):\n"
        "        pass\n"
        "    with pytest.raises(ValueError, match=None):\n"
        "        pass\n"
        "    with pytest.raises(ValueError, match='bad value'), pytest.raises(SystemExit, match='^2$'):\n"
        "        pass\n"
        "    text = 'pytest.raises(ValueError)'\n"
    )
    assert raises_without_match(source, "t.py") == [
        "t.py:4: pytest.raises(ValueError)",
        "t.py:6: pytest.raises(KeyError)",
        "t.py:10: pytest.raises(TypeError, int, 'x')",
        "t.py:11: r(OSError)",
        "t.py:13: pytest.raises(ValueError, match=None)",
    ]


def test_every_pytest_raises_names_its_message():
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 50  # the whole suite was scanned
    found = [
        hit
        for path in files
        for hit in raises_without_match(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS.parent)))
    ]
    assert not found, "pytest.raises without match= (name the expected message):\n" + "\n".join(found)
