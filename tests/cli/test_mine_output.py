"""``textsiam mine``'s pair file: written a block at a time, so millions of pairs do not become Python lists at
once (7M pairs of a 1M-line corpus took ~1 GB that way, over the 2 GB goal of mining 1M lines)."""

from __future__ import annotations

import argparse
import tracemalloc
from types import SimpleNamespace

import numpy as np

from textsiam.cli import mine


def test_pairs_are_written_in_blocks_with_bounded_memory(tmp_path):
    n_texts, n_pairs = 2_000, 400_000
    src = tmp_path / "lines.txt"
    src.write_text("".join(f"text\tnumber {i}\n" for i in range(n_texts)), encoding="utf-8")
    rng = np.random.default_rng(0)
    i = rng.integers(0, n_texts - 1, size=n_pairs)
    j = i + 1 + rng.integers(0, n_texts - 1 - i)
    result = SimpleNamespace(
        pairs=np.stack([i, j], axis=1).astype(np.int64),
        scores=np.sort(rng.random(n_pairs).astype(np.float32))[::-1],
        stats={"n_texts": n_texts},
    )
    args = argparse.Namespace(output=str(tmp_path / "pairs.tsv"), overwrite=False)
    tracemalloc.start()
    try:
        mine.write_pairs(args, src, result)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # all 400k pairs as Python lists would be ~50 MB; one block of them a small part of that
    assert peak < 25e6, peak
    lines = (tmp_path / "pairs.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "i\tj\tscore\ttext_a\ttext_b" and len(lines) == n_pairs + 1
    a, b, score, text_a, text_b = lines[1 + 123_456].split("\t")
    k = 123_456
    assert (int(a), int(b)) == tuple(result.pairs[k]) and float(score) == round(float(result.scores[k]), 6)
    assert text_a == f"text number {a}" and text_b == f"text number {b}"  # tabs inside texts became spaces
