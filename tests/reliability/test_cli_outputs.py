"""docs/reliability.md, "Command-line outputs": the ``--output`` of ``score``, ``encode``, ``mine`` and ``evaluate`` is
written to a temporary file beside it and renamed into place; an existing output is replaced only with
``--overwrite`` (without it the command fails and leaves the file as it was)."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest

from textsiam.cli import main

TEXTS = ["A man is playing a guitar.", "A person plays the guitar.", "The cat sits on the mat.", "Stocks fell."]


def _argv(command: str, folder: Path, model: Path) -> tuple[list[str], Path]:
    """The command line of ``command`` writing into ``folder``, and its output path."""
    texts = folder / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    pairs = folder / "pairs.tsv"
    pairs.write_text("".join(f"{a}\t{b}\n" for a, b in itertools.pairwise(TEXTS)), encoding="utf-8")
    graded = folder / "graded.csv"
    graded.write_text(
        "text_a,text_b,label\n" + "".join(f'"{a}","{b}",{i}\n' for i, (a, b) in enumerate(itertools.pairwise(TEXTS))),
        encoding="utf-8",
    )
    out = (
        folder / {"score": "scores.tsv", "encode": "emb.npy", "mine": "mined.tsv", "evaluate": "results.json"}[command]
    )
    argv = {
        "score": ["score", "--pairs", str(pairs)],
        "encode": ["encode", str(texts)],
        "mine": ["mine", str(texts), "--threshold", "-1"],
        "evaluate": ["evaluate", "--pairs", str(graded), "--task", "sts", "--n-resamples", "0"],
    }[command]
    return [*argv, "--output", str(out), "-m", str(model), "-q"], out


@pytest.mark.parametrize("command", ["score", "encode", "mine", "evaluate"])
def test_an_output_is_renamed_into_place_and_replaced_only_with_overwrite(
    command, tiny_model_dir, tmp_path, monkeypatch, capsys
):
    argv, out = _argv(command, tmp_path, tiny_model_dir)
    renames: list[tuple[Path, Path]] = []
    for name in ("link", "replace"):  # a new output is hard-linked into place, a replaced one renamed
        real = getattr(os, name)

        def spy(src, dst, *args, _real=real, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            renames.append((Path(src), Path(dst)))
            return _real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, name, spy)
    assert main(argv) == 0, capsys.readouterr().err
    temp_name = re.compile(rf"^\.{re.escape(out.name)}\.{os.getpid()}\.[0-9a-f]+\.tmp$")
    assert any(dst == out and src.parent == out.parent and temp_name.match(src.name) for src, dst in renames), renames
    first = out.read_bytes()

    out.write_bytes(b"the previous output")
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"textsiam {command}: error: ") and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"the previous output"

    assert main([*argv, "--overwrite"]) == 0
    if command != "evaluate":  # evaluate records the time it ran
        assert out.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
