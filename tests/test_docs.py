"""Every code block of README.md and docs/*.md runs.

* ```python blocks run in order, in one namespace per file, in a temporary working folder (one per file, with
  ``benchmarks/configs`` linked in, as in a checkout, for the recipes);
* ```bash / ```console / ```sh blocks: each line that starts with ``textsiam `` (or ``$ textsiam ``) runs through
  :func:`textsiam.cli.main` in that folder (``$VARS`` expanded) and must exit 0; other lines (``pip install``,
  ``torchrun`` ...) are not run, and a block without a ``textsiam`` line is no test;
* ```yaml blocks must be valid YAML, and a training config among them a valid :class:`TrainConfig`;
* an HTML comment right before a block changes that: ``<!-- docs-test: skip (reason) -->`` leaves it out (for
  blocks that need a cluster, the network or hours of CPU), ``<!-- docs-test: slow -->`` marks it ``slow``.

Each block is one test named ``FILE:LINE``. A block may use what earlier blocks of its file made (variables,
files): running one block runs the earlier blocks of its file first (once). A block that is not slow never
needs a slow one: slow blocks run only when selected, or before a later slow block. Without ``$TEXTSIAM_DATA``
a block that reads a benchmark dataset, and the blocks after it in its file, are skipped.

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
import logging
import math
import numbers
import os
import re
import shlex
import sys
import tokenize
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: The command CI runs (``.ci/run``): the README must show it verbatim.
TEST_COMMAND = 'pip install -e ".[dev]" && pytest'
#: The full tier, which CI runs after the README's command: the README shows it too.
FULL_TIER_COMMAND = 'pytest -m "slow or notebook or property" --hypothesis-profile=full -n 2 --dist loadgroup'
#: Without the datasets folder, blocks that read a benchmark dataset are skipped (as the other data tests are).
HAVE_DATA = bool(os.environ.get("TEXTSIAM_DATA")) and Path(os.environ["TEXTSIAM_DATA"]).is_dir()

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>```+)\s*(?P<lang>[\w+-]*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<what>.*?)\s*-->\s*$")
SHELL_LANGS = {"bash", "sh", "shell", "console"}
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "2>", "2>&1"}


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    directive: str | None = None  # the text of a preceding <!-- docs-test: ... --> comment

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def skip_reason(self) -> str | None:
        if self.directive and self.directive.startswith("skip"):
            return self.directive[len("skip") :].strip().strip("()").strip() or "marked skip"
        return None

    @property
    def slow(self) -> bool:
        return self.directive == "slow"

    def commands(self) -> list[tuple[int, str]]:
        """``(line, command)`` of the textsiam commands of a shell block (continuation lines joined)."""
        out: list[tuple[int, str]] = []
        pending, start = "", 0
        for offset, raw in enumerate(self.code.splitlines(), start=self.line + 1):
            text = raw.rstrip()
            if not pending:
                start = offset
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            text, pending = (pending + text).strip(), ""
            if text.startswith("$ "):
                text = text[2:].lstrip()
            elif self.lang == "console":
                continue  # console blocks: output lines
            if text.startswith("textsiam "):
                out.append((start, text))
        return out

    @property
    def runnable(self) -> bool:
        if self.lang == "python":
            return True
        if self.lang in SHELL_LANGS:
            return bool(self.commands())
        return self.lang in ("yaml", "yml")


def parse_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m["fence"], m["lang"].lower(), i
        j = i + 1
        while j < len(lines) and not re.match(rf"^ {{0,3}}{fence}\s*$", lines[j]):
            j += 1
        code = "\n".join(
            line[len(m["indent"]) :] if line.startswith(m["indent"]) else line for line in lines[i + 1 : j]
        )
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        d = DIRECTIVE.match(lines[k]) if k >= 0 else None
        blocks.append(Block(path, start + 1, lang, code + "\n", d["what"] if d else None))
        i = j + 1
    return blocks


ALL_BLOCKS = [b for path in DOC_FILES for b in parse_blocks(path)]
RUNNABLE = [b for b in ALL_BLOCKS if b.runnable]


#: Blocks that run on a Ray cluster use the session's one (fixture ``ray_cluster``) and its xdist group.
RAY_MARKER = "textsiam.distributed"


def _param(block: Block) -> Any:
    # a file's blocks share one namespace: in the full tier (-n 2 --dist loadgroup) they run on one worker
    group = "ray" if RAY_MARKER in block.code else f"docs:{block.path.name}"
    marks = [pytest.mark.xdist_group(group)]
    if block.slow:
        marks.append(pytest.mark.slow)
    return pytest.param(block, id=block.name, marks=marks)


# ------------------------------------------------------------------------------------------ running blocks
@dataclass
class FileRun:
    """The state one documentation file's blocks share: a namespace, a working folder, what ran."""

    workdir: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"})
    outcome: dict[int, str | None] = field(default_factory=dict)  # line -> None (passed) or the failure


_RUNS: dict[Path, FileRun] = {}


def _file_run(path: Path, tmp_path_factory: pytest.TempPathFactory) -> FileRun:
    """The file's state; its working folder shows ``benchmarks/configs`` as a checkout does (for the recipes)."""
    if path not in _RUNS:
        slug = re.sub(r"\W+", "_", path.relative_to(ROOT).as_posix())
        workdir = tmp_path_factory.mktemp(f"docs_{slug}")
        (workdir / "benchmarks").mkdir()
        (workdir / "benchmarks" / "configs").symlink_to(ROOT / "benchmarks" / "configs", target_is_directory=True)
        _RUNS[path] = FileRun(workdir)
    return _RUNS[path]


@contextlib.contextmanager
def _sandbox(workdir: Path):
    """Run in ``workdir``; restore the working folder, torch's thread count and matplotlib figures after."""
    import torch

    before_dir, before_threads = os.getcwd(), torch.get_num_threads()
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(before_dir)
        torch.set_num_threads(before_threads)
        if "matplotlib.pyplot" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close("all")


def _run_python(block: Block, run: FileRun) -> None:
    source = "\n" * block.line + block.code  # line numbers of tracebacks are the markdown file's
    tree = with_claims_checked(source, f"{block.path.relative_to(ROOT).as_posix()}")
    code = compile(tree, str(block.path), "exec")
    run.namespace[CHECK_NAME] = check_claim
    exec(code, run.namespace)


# ------------------------------------------------------------------------------------------ claimed outputs
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


class NoData(Exception):
    """A block needs the benchmark datasets and ``$TEXTSIAM_DATA`` is not set."""


def _run_shell(block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    from textsiam.cli import main

    for line, command in block.commands():
        argv = shlex.split(os.path.expandvars(command), comments=True)
        bad = SHELL_OPERATORS.intersection(argv)
        if bad:
            raise AssertionError(
                f"{block.path.name}:{line}: write one textsiam command per line, without shell operators {sorted(bad)}"
            )
        capsys.readouterr()
        handlers, level = logging.root.handlers[:], logging.root.level
        try:
            code = main(argv[1:])
        except SystemExit as exc:  # argparse errors and --help
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:  # main() configures logging to this test's captured stderr: undo that
            logging.root.handlers[:], logging.root.level = handlers, level
        out = capsys.readouterr()
        if code != 0 and not HAVE_DATA and "TEXTSIAM_DATA" in out.err:
            raise NoData(out.err.strip())
        if code != 0:
            raise AssertionError(
                f"{block.path.name}:{line}: `{command}` exited with {code}\n"
                f"--- stdout ---\n{out.out[-3000:]}\n--- stderr ---\n{out.err[-3000:]}"
            )


def _check_yaml(block: Block) -> None:
    import yaml

    data = yaml.safe_load(block.code)
    if isinstance(data, dict) and {"loss", "train_dataset", "epochs", "encoder"} & set(data):
        from textsiam.training.config import TrainConfig

        TrainConfig.from_dict(data).validate()


def _execute(block: Block, run: FileRun, capsys: pytest.CaptureFixture[str]) -> None:
    if block.lang in ("yaml", "yml"):
        _check_yaml(block)
        return
    with _sandbox(run.workdir):
        if block.lang != "python":
            _run_shell(block, capsys)
            return
        try:
            _run_python(block, run)
        except FileNotFoundError as exc:
            from textsiam.data import DataNotFoundError

            if isinstance(exc, DataNotFoundError) and not HAVE_DATA:
                raise NoData(str(exc)) from exc
            raise


def _prerequisites(block: Block) -> list[Block]:
    """The earlier runnable blocks of ``block``'s file that it may depend on."""
    return [
        b
        for b in RUNNABLE
        if b.path == block.path
        and b.line < block.line
        and b.lang not in ("yaml", "yml")
        and b.skip_reason is None
        and (block.slow or not b.slow)
    ]


NO_DATA = "needs the datasets: set TEXTSIAM_DATA"


# blocks marked ``skip (reason)`` are no test at all (not a test skipped on every run); the directive test checks them
@pytest.mark.parametrize("block", [_param(b) for b in RUNNABLE if b.skip_reason is None])
def test_doc_block(
    block: Block,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
):
    run = _file_run(block.path, tmp_path_factory)
    if RAY_MARKER in block.code:
        request.getfixturevalue("ray_cluster")  # the session's Ray cluster: the call reuses it
    for earlier in [*_prerequisites(block), block]:
        if earlier.line not in run.outcome:
            try:
                _execute(earlier, run, capsys)
                run.outcome[earlier.line] = None
            except NoData:
                run.outcome[earlier.line] = NO_DATA
            except (Exception, SystemExit) as exc:
                run.outcome[earlier.line] = f"{type(exc).__name__}: {exc}"
                if earlier is block:
                    raise
        outcome = run.outcome[earlier.line]
        if outcome == NO_DATA:
            pytest.skip(NO_DATA if earlier is block else f"{NO_DATA} (for {earlier.name})")
        if outcome is not None:
            if earlier is block:
                pytest.fail(f"{block.name} failed: {outcome}")
            pytest.skip(f"an earlier block of this file failed: {earlier.name} ({outcome[:200]})")


# ------------------------------------------------------------------------------------------ the documents themselves
def test_directives_are_known():
    """Every docs-test comment is ``skip (reason)`` or ``slow``, and stands right before a code block."""
    problems = []
    for path in DOC_FILES:
        marked = {b.line for b in parse_blocks(path) if b.directive}
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            d = DIRECTIVE.match(line)
            if not d:
                continue
            what = d["what"]
            if not (what == "slow" or re.fullmatch(r"skip \(.+\)", what)):
                problems.append(f"{path.name}:{number}: unknown directive {what!r} (use 'skip (reason)' or 'slow')")
            nxt = next((k for k in range(number, len(lines)) if lines[k].strip()), None)
            if nxt is None or (nxt + 1) not in marked:
                problems.append(f"{path.name}:{number}: the directive is not followed by a code block")
    assert not problems, "\n".join(problems)


def test_readme_keeps_the_ci_test_command():
    """CI (``.ci/run``) runs exactly the README's test command."""
    readme = ROOT / "README.md"
    shell = [b.code.strip() for b in parse_blocks(readme) if b.lang in SHELL_LANGS]
    assert TEST_COMMAND in shell, f"README.md must have a ```bash block that is exactly: {TEST_COMMAND}"
    assert FULL_TIER_COMMAND in shell, f"README.md must have a ```bash block that is exactly: {FULL_TIER_COMMAND}"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert ci.index(TEST_COMMAND) < ci.index(FULL_TIER_COMMAND), "CI runs the README's command, then the full tier"


def test_readme_is_short():
    """The README is the package's long description: an introduction, not the manual (that is docs/)."""
    size = len((ROOT / "README.md").read_bytes())
    assert size <= 10_240, f"README.md is {size} bytes; move detail to docs/"


LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


@pytest.mark.parametrize(
    "path",
    [*DOC_FILES, ROOT / "benchmarks" / "RESULTS.md"],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_relative_links_resolve(path: Path):
    """Links to files of the repository (docs pages, result files) point to files that exist."""
    if not path.exists():
        pytest.skip(f"{path.name} does not exist")
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # not inside code blocks
    missing = []
    for m in LINK.finditer(text):
        target = m["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # a URL
        name, _, anchor = target.partition("#")
        file = (path.parent / name).resolve() if name else path
        if not file.exists():
            missing.append(target)
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            missing.append(target)
    assert not missing, f"{path.relative_to(ROOT)}: links to missing files or headings: {missing}"


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


# ------------------------------------------------------------------------------------------ the claim checker
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
