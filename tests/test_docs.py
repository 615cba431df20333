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

Claimed outputs (``# -> CLAIM`` comments) are checked when their block runs: the rule is in ``doc_claims.py``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from doc_claims import CHECK_NAME, check_claim, with_claims_checked

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
