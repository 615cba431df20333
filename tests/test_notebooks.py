"""The tutorial notebooks: stored without outputs, in sync with their generator, and they run top to bottom.

Running them needs the data (``TEXTSIAM_DATA``) and takes a few minutes each (marked ``notebook``: the
full tier). Each notebook asserts its key result in a ``# Check: ...`` cell (a paraphrase scores
above an unrelated pair, a benchmark figure is near the published one, fine-tuning does not hurt, ...), so a run
fails when a result is wrong, not only when a cell raises. The kernel is ``python3`` from the current interpreter
(ipykernel is in the ``dev`` extra), so the notebooks see this environment's textsiam.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_benchmark.ipynb",
    "03_finetune.ipynb",
    "04_duplicate_questions.ipynb",
    "05_explain.ipynb",
]


def test_all_notebooks_present():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_stripped(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs not stripped"
    assert any("TEXTSIAM_DATA" in c.source for c in nb.cells), "notebooks read the data folder from TEXTSIAM_DATA"


def test_notebooks_match_their_generator():
    result = subprocess.run(
        [sys.executable, str(NOTEBOOK_DIR / "build_notebooks.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_notebook_asserts_its_result():
    """Each notebook checks its key result with an ``assert`` in a code cell that says what it checks."""
    import nbformat

    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        checks = [c.source for c in nb.cells if c.cell_type == "code" and "# Check" in c.source]
        assert any(re.search(r"^assert ", source, flags=re.M) for source in checks), (
            f"{path.name}: no cell with a '# Check: ...' comment and an assert of the notebook's key result"
        )


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, data_dir, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("TEXTSIAM_DATA", str(data_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("MPLBACKEND", "agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,  # per cell
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},  # the notebook's working directory
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the traceback) on the first failing cell
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    print(f"{path.name}: {elapsed:.0f} s")
