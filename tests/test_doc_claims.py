"""The claim checker of the documentation tests (``doc_claims.py``): right claims pass, wrong ones fail."""

from __future__ import annotations

from typing import Any

import pytest
from doc_claims import CHECK_NAME, ClaimError, check_claim, claim_mismatch, parse_claim, with_claims_checked
from test_docs import ALL_BLOCKS, ROOT


def test_claims_are_checkable():
    """Every ``# ->`` comment of a python block, skipped and slow ones included, is a claim that can be checked."""
    problems = []
    for block in ALL_BLOCKS:
        if block.lang == "python":
            try:
                with_claims_checked("\n" * block.line + block.code, block.path.relative_to(ROOT).as_posix())
            except ClaimError as exc:
                problems.append(str(exc))
    assert not problems, "\n".join(problems)


def _run_claims(code: str, **namespace: Any) -> dict[str, Any]:
    namespace = {CHECK_NAME: check_claim, **namespace}
    exec(compile(with_claims_checked(code, "example.md"), "example.md", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.93", 0.9263),  # half a unit of the last digit: [0.925, 0.935]
        ("0.93 (cosine)", 0.934),  # a trailing note is not checked
        ("0.9 ± 0.05", 0.86),
        ("1.00", 1.0000001),
        ("-0.08", -0.0763),
        ("2e-3", 0.0024),
        ("384", 384),
        ("(3, 384)", "zeros((3, 384))"),  # a shape
        ("(384,)", "zeros(384)"),
        ("(3, 384) (int8)", "zeros((3, 384), dtype='int8')"),
        ("[[1.00, 0.99, 0.01]]", "array([[1.0, 0.987, 0.0136]])"),  # elementwise, each to its own digits
        ("[0.08, 0.00]", "tensor([0.0770, 0.0022])"),
        ("(384, 128)", (384, 128)),  # a tuple without .shape: elementwise
        ("['text_a', 'text_b']", ["text_a", "text_b"]),
        ("'A person plays the guitar.'", "A person plays the guitar."),
        ("True", "bool_(True)"),
        ("None", None),
        ("{'k': 0.5}", {"k": 0.5}),
        ("0.85", "float32(0.8518)"),
        ("0.85", "tensor(0.8518)"),
    ],
)
def test_claim_holds(text: str, value: Any):
    import numpy as np
    import torch

    if isinstance(value, str) and "(" in value:
        value = eval(value, {"zeros": np.zeros, "array": np.array, "tensor": torch.tensor, "bool_": np.bool_,
                             "float32": np.float32})  # fmt: skip
    assert claim_mismatch(value, parse_claim(text).expected) is None
    assert check_claim(value, text, "x.md:1") is value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.93", 0.9236),  # outside [0.925, 0.935]
        ("0.93", 0.9351),
        ("0.9 ± 0.05", 0.84),
        ("384", 383),
        ("384", 384.6),
        ("0.5", "0.5"),  # a string is not a number
        ("1", True),  # a bool is not a number
        ("0.5", [0.5]),  # a one-item list is not a number
        ("0.5", float("nan")),
        ("(3, 384)", "zeros((3, 385))"),
        ("(3, 384)", "zeros((384, 3))"),
        ("[[1.00, 0.99, 0.01]]", "array([[1.0, 0.98, 0.0136]])"),
        ("[0.1, 0.2]", [0.1, 0.2, 0.3]),
        ("['text_a', 'text_b']", ["text_a", "label"]),
        ("'guitar'", "Guitar"),
        ("True", 1),
        ("True", False),
        ("None", 0),
        ("{'k': 0.5}", {"k": 0.5, "j": 1}),
    ],
)
def test_claim_fails(text: str, value: Any):
    import numpy as np

    if isinstance(value, str) and "(" in value:
        value = eval(value, {"zeros": np.zeros, "array": np.array})
    assert claim_mismatch(value, parse_claim(text).expected) is not None
    with pytest.raises(AssertionError, match=r"x\.md:1: `# -> .*` is wrong"):
        check_claim(value, text, "x.md:1")


@pytest.mark.parametrize(
    ("text", "tolerance"),
    [("0.93", 0.005), ("1.00", 0.005), ("384", 0.5), ("82.03", 0.005), ("2e-3", 0.0005), ("1.5E2", 5.0),
     ("0.9 ± 0.05", 0.05), ("-0.1", 0.05)],
)  # fmt: skip
def test_claim_tolerance(text: str, tolerance: float):
    assert parse_claim(text).expected.tol == pytest.approx(tolerance)


@pytest.mark.parametrize(
    "text",
    ["numpy array", "(3, 384) float32 array", "a float", "float", "0.93 ± a bit", "f(3)", "", "(cosine)", "[x]"],
)
def test_claim_that_is_prose_is_an_error(text: str):
    with pytest.raises(ClaimError, match="plain comment"):
        parse_claim(text)


def test_claims_run_with_the_code():
    ns = _run_claims(
        "import math\n"
        "math.pi  # -> 3.14\n"
        "x = [1, 2]  # -> [1, 2] (an assignment: its value)\n"
        "print(len(x))  # -> 2\n"
        "for n in range(3):\n"
        "    n * 0  # -> 0\n"
        "y = (1 +\n"
        "     2)  # -> 3 (the comment ends the statement)\n"
        "z = 1; z + 1  # -> 2\n"
    )
    assert ns["x"] == [1, 2] and ns["y"] == 3


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 3.0\nx  # -> 3.2\n", r"example\.md:2: `# -> 3\.2` is wrong: value is 3\.0, claimed 3\.2 ± 0\.05"),
        ("import numpy as np\nnp.zeros((2, 3))  # -> (3, 2)\n", r"has shape \(2, 3\), claimed \(3, 2\)"),
        ("print('a')  # -> 'b'\n", r"value is 'a', claimed 'b'"),
        ("for n in range(3):\n    n  # -> 0\n", r"value is 1, claimed 0"),
    ],
)
def test_a_wrong_claim_fails_its_block(code: str, message: str):
    with pytest.raises(AssertionError, match=message):
        _run_claims(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 1  # -> numpy array\n", r"example\.md:1: claim 'numpy array'.*plain comment"),
        ("for n in range(3):  # -> 0\n    pass\n", r"example\.md:1: a `# ->` claim must end"),
        ("y = (1 +  # -> 1\n     2)\n", r"example\.md:1: a `# ->` claim must end"),
        ("import os  # -> None\n", r"a `# ->` claim must end"),
    ],
)
def test_a_claim_that_cannot_be_checked_is_an_error(code: str, message: str):
    with pytest.raises(ClaimError, match=message):
        with_claims_checked(code, "example.md")
