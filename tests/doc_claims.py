"""Claimed outputs of documented code: ``# -> CLAIM`` comments, parsed and checked (used by ``test_docs.py``).

Claimed outputs are checked. In a python block, a comment ``# -> CLAIM`` at the end of a statement's last line
claims the statement's value: of an expression statement (``model.similarity(a, b)  # -> 0.93``), of the
value assigned by an assignment (``emb = model.encode(texts)  # -> (3, 384)``), and, for ``print(x)`` with one
argument, of ``x``. The claim is checked each time the statement runs (so in a slow block, when it runs). The
rule:

* ``CLAIM`` is ``VALUE [± TOL] [(note)]``: ``VALUE`` is a Python literal (number, string, bool, ``None``,
  tuple, list, dict, nested); a trailing parenthesised ``(note)`` is prose for the reader and is not checked;
* a number matches a real number (a Python or numpy scalar, a 0-d array or tensor) within ``TOL`` when the
  claim gives ``± TOL``, else within **half a unit of the claim's last written digit**: ``0.93`` accepts
  [0.925, 0.935], ``1.00`` accepts [0.995, 1.005], ``384`` accepts only 384 among integers, ``2e-3`` accepts
  [0.0015, 0.0025];
* a tuple of integers, claimed for a value that has a ``.shape`` (numpy array, torch tensor), is its shape,
  compared exactly: ``(3, 384)``, ``(384,)``;
* a list or tuple otherwise compares elementwise, with the rules above for each element (an array or tensor
  is compared as its ``.tolist()``; list and tuple are not told apart): ``[[1.00, 0.99, 0.01]]``;
* strings, bools, ``None`` and dict keys compare exactly.

A claim that is not such a literal (``# -> numpy array``), or a ``# ->`` comment that does not end an
expression statement or an assignment, is an error (:func:`test_claims_are_checkable`, which needs no model):
describe such output in a plain comment, without ``->``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import numbers
import re
import tokenize
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

CLAIM_COMMENT = re.compile(r"^#\s*->\s*(?P<claim>.*?)\s*$")
CHECK_NAME = "__docs_check_claim__"


class ClaimError(ValueError):
    """A ``# ->`` claim that cannot be parsed or is not attached to a statement whose value it could be."""


@dataclass(frozen=True)
class Approx:
    """A claimed number and how far from it a value may be."""

    value: float
    tol: float

    def __repr__(self) -> str:
        return f"{self.value:g} ± {self.tol:g}"


@dataclass(frozen=True)
class Claim:
    text: str  # as written, after "->"
    expected: Any  # the literal, its numbers as Approx


def _half_unit(literal: str) -> float:
    """Half a unit of the last written digit of a number literal: ``0.93`` -> 0.005, ``384`` -> 0.5."""
    mantissa, _, exponent = literal.lower().replace("_", "").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _literal(node: ast.expr, source: str, tol: float | None) -> Any:
    """The value of a literal claim; its numbers become :class:`Approx` (``tol``, or half a unit of the last digit)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool, type(None))):
        return node.value
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        written = ast.get_source_segment(source, node) or repr(node.value)
        return Approx(sign * float(node.value), _half_unit(written) if tol is None else tol)
    if sign != 1.0:
        raise ClaimError(f"not a literal: {ast.get_source_segment(source, node)!r}")
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e, source, tol) for e in node.elts)
    if isinstance(node, ast.List):
        return [_literal(e, source, tol) for e in node.elts]
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {ast.literal_eval(k): _literal(v, source, tol) for k, v in zip(node.keys, node.values, strict=True)}
    raise ClaimError(f"not a literal: {ast.get_source_segment(source, node)!r}")


def _parse_expr(text: str) -> ast.expr | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # "0.93 (note)" reads as a call of a number
            return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None


def _value_and_tolerance(body: str) -> Any:
    """The expected value of ``VALUE [± TOL]``; :class:`ClaimError` if it is not that."""
    value_text, pm, tol_text = body.partition("±")
    tol = None
    if pm:
        tol_node = _parse_expr(tol_text)
        if not (
            isinstance(tol_node, ast.Constant)
            and isinstance(tol_node.value, (int, float))
            and not isinstance(tol_node.value, bool)
        ):
            raise ClaimError("the tolerance after ± must be a number")
        tol = float(tol_node.value)
    value_text = value_text.strip()
    node = _parse_expr(value_text) if value_text else None
    if node is None:
        raise ClaimError("not a Python literal")
    return _literal(node, value_text, tol)


def _without_note(body: str) -> str | None:
    """``body`` without its trailing ``(note)``, or None if it does not end with one."""
    if not body.endswith(")"):
        return None
    depth = 0
    for i in range(len(body) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(body[i], 0)
        if depth == 0:
            return body[:i].rstrip() or None
    return None


@cache
def parse_claim(text: str) -> Claim:
    """``VALUE [± TOL] [(note)]`` (see the module docstring); raises :class:`ClaimError` if it is not one."""
    body = text.strip()
    try:
        return Claim(text, _value_and_tolerance(body))
    except ClaimError as exc:
        first = exc
    shorter = _without_note(body)  # "0.93 (cosine)", "(3, 384) (int8)": the value, then a note
    if shorter is not None:
        with contextlib.suppress(ClaimError):
            return Claim(text, _value_and_tolerance(shorter))
    raise ClaimError(
        f"claim {text!r}: {first}; write a checkable value (a number, a shape such as (3, 384), a list, a"
        " string), or make it a plain comment without '->'"
    )


def _is_shape(expected: Any) -> bool:
    return isinstance(expected, tuple) and all(
        isinstance(e, Approx) and e.value.is_integer() and e.tol < 1 for e in expected
    )


def claim_mismatch(value: Any, expected: Any, where: str = "value") -> str | None:
    """Why ``value`` does not match the parsed claim ``expected``; None when it does."""
    if isinstance(expected, Approx):
        if hasattr(value, "tolist") and not isinstance(value, numbers.Number):
            value = value.tolist()  # a 0-d array or tensor: its number
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return f"{where} is {value!r}, not a number (claimed {expected!r})"
        if math.isnan(float(value)) or abs(float(value) - expected.value) > expected.tol * (1 + 1e-9):
            return f"{where} is {value!r}, claimed {expected!r}"
        return None
    if isinstance(expected, bool):
        ok = type(value).__name__ in ("bool", "bool_") and bool(value) == expected
        return None if ok else f"{where} is {value!r}, claimed {expected!r}"
    if expected is None:
        return None if value is None else f"{where} is {value!r}, claimed None"
    if isinstance(expected, str):
        ok = isinstance(value, str) and value == expected
        return None if ok else f"{where} is {value!r}, claimed {expected!r}"
    if isinstance(expected, (tuple, list)):
        if _is_shape(expected) and hasattr(value, "shape"):
            shape = tuple(int(n) for n in value.shape)
            claimed = tuple(int(e.value) for e in expected)
            return None if shape == claimed else f"{where} has shape {shape}, claimed {claimed}"
        if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            return f"{where} is {value!r}, not a sequence (claimed {expected!r})"
        if len(value) != len(expected):
            return f"{where} has {len(value)} items, claimed {len(expected)}: {value!r}"
        for i, (v, e) in enumerate(zip(value, expected, strict=True)):
            why = claim_mismatch(v, e, f"{where}[{i}]")
            if why:
                return why
        return None
    if isinstance(expected, dict):
        if not isinstance(value, Mapping) or set(value) != set(expected):
            return f"{where} is {value!r}, claimed keys {sorted(expected, key=repr)}"
        for k, e in expected.items():
            why = claim_mismatch(value[k], e, f"{where}[{k!r}]")
            if why:
                return why
        return None
    raise TypeError(f"unexpected claim {expected!r}")


def check_claim(value: Any, claim_text: str, where: str) -> Any:
    """Compare ``value`` with the claim, raise AssertionError if they differ; return ``value`` (for the rewrite)."""
    why = claim_mismatch(value, parse_claim(claim_text).expected)
    if why:
        raise AssertionError(f"{where}: `# -> {claim_text}` is wrong: {why}")
    return value


def claim_comments(source: str) -> dict[int, str]:
    """``{line: claim}`` of the ``# -> claim`` comments of python ``source``."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            m = CLAIM_COMMENT.match(tok.string)
            if m:
                out[tok.start[0]] = m["claim"]
    return out


class _ClaimRewriter(ast.NodeTransformer):
    """Wraps the value of each claimed statement in a call of :func:`check_claim`."""

    def __init__(self, tree: ast.Module, claims: dict[int, str], where: str):
        self.claims, self.where, self.used = claims, where, set()
        last: dict[int, ast.stmt] = {}  # claimed line -> the last expression / assignment that ends on it
        for node in ast.walk(tree):
            if isinstance(node, (ast.Expr, ast.Assign)) and node.end_lineno in claims:
                seen = last.get(node.end_lineno)
                if seen is None or (node.end_col_offset or 0) > (seen.end_col_offset or 0):
                    last[node.end_lineno] = node
        self.claimed = {id(node) for node in last.values()}

    def _wrap(self, node: ast.expr, line: int) -> ast.expr:
        self.used.add(line)
        args = [node, ast.Constant(self.claims[line]), ast.Constant(f"{self.where}:{line}")]
        return ast.copy_location(ast.Call(ast.Name(CHECK_NAME, ast.Load()), args, []), node)

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        self.generic_visit(node)
        line = node.end_lineno
        if id(node) in self.claimed:
            call = node.value
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id == "print"
                and len(call.args) == 1
                and not isinstance(call.args[0], ast.Starred)
            ):
                call.args[0] = self._wrap(call.args[0], line)  # print(x)  # -> claim: the claim is about x
            else:
                node.value = self._wrap(node.value, line)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        line = node.end_lineno
        if id(node) in self.claimed:
            node.value = self._wrap(node.value, line)
        return node


def with_claims_checked(source: str, where: str) -> ast.Module:
    """The module of ``source`` with every ``# -> claim`` checked; :class:`ClaimError` for a claim that cannot be."""
    claims = claim_comments(source)
    for line, text in claims.items():
        try:
            parse_claim(text)
        except ClaimError as exc:
            raise ClaimError(f"{where}:{line}: {exc}") from None
    tree = ast.parse(source)
    rewriter = _ClaimRewriter(tree, claims, where)
    tree = rewriter.visit(tree)
    loose = sorted(set(claims) - rewriter.used)
    if loose:
        raise ClaimError(
            f"{where}:{loose[0]}: a `# ->` claim must end the last line of an expression statement or an"
            " assignment; elsewhere write a plain comment"
        )
    return ast.fix_missing_locations(tree)
