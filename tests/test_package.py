"""The top-level package: light to import, and its functions are not shadowed by sub-modules of the same name."""

from __future__ import annotations

import subprocess
import sys

import pytest

import textsiam


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_textsiam_does_not_load_torch_or_transformers():
    out = _run("import sys, textsiam; print(sorted(m for m in ('torch', 'transformers', 'faiss') if m in sys.modules))")
    assert out == "[]"


def test_lazy_names_resolve():
    from textsiam.model.siamese import SiameseModel

    assert textsiam.SiameseModel is SiameseModel
    assert callable(textsiam.mine_duplicates) and callable(textsiam.explain)
    assert "SiameseModel" in dir(textsiam)


@pytest.mark.slow  # a subprocess that imports torch
def test_importing_a_submodule_does_not_shadow_the_function_of_the_same_name():
    out = _run(
        "import warnings; warnings.simplefilter('ignore')\n"
        "import textsiam\n"
        "import textsiam.explain\n"
        "from textsiam.explain import faithfulness\n"
        "import textsiam.model.scoring\n"
        "print(type(textsiam.explain).__name__, type(textsiam.similarity).__name__)"
    )
    assert out == "function function"


def test_the_similarity_functions_module_has_a_name_no_function_shadows():
    import textsiam.model.scoring as scoring

    assert callable(scoring.similarity_matrix) and callable(scoring.pairwise_similarity)
