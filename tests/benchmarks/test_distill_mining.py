"""``python -m benchmarks.distill_mining``: a smoke run (``textsiam mine`` subprocesses on a tiny teacher and
student) and the recovery arithmetic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import SENTENCES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("distill_mining")


def test_recovery_counts_the_teachers_pairs(bench: Any) -> None:
    teacher = [(0, 1, 0.9), (2, 3, 0.85), (4, 5, 0.8)]
    student = [(0, 1, 0.95), (4, 5, 0.81), (6, 7, 0.99), (2, 9, 0.8)]
    got = bench.recovery(teacher, student)
    assert got["recovered_at_threshold"] == 2 and got["share_at_threshold"] == pytest.approx(2 / 3)
    # the student's 3 best pairs are (6, 7), (0, 1), (4, 5): two of the teacher's
    assert got["recovered_same_count"] == 2 and got["student_pairs"] == 4


@pytest.mark.slow
def test_smoke_run(bench: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path) -> None:
    from textsiam import SiameseModel
    from textsiam.training.distill import DistillConfig, distill

    student = tmp_path / "student"
    config = DistillConfig(tower="static", epochs=1, vocabulary=False, show_progress=False, output_dir=str(student))
    distill(config, list(SENTENCES) * 4, teacher=SiameseModel.from_pretrained(str(tiny_model_dir), device="cpu"))
    results = tmp_path / "results"
    argv = ["--student", str(student), "--teacher", str(tiny_model_dir), "--data-dir", data_dir, "--smoke"]
    bench.main([*argv, "--lines", "600", "--quora-limit", "300", "--results-dir", str(results), "-q"])
    payload = json.loads((results / "distill_mining_smoke.json").read_text(encoding="utf-8"))
    assert payload["scale"]["lines"] == 600 and payload["scale"]["peak_rss_mb"] > 0
    quora = payload["quora"]
    assert quora["questions"] == 300 and set(quora["runs"]) == {"teacher", "student"}
    assert 0 <= quora["recovery"]["share_same_count"] <= 1
    text = (results / "distill_mining_smoke.md").read_text(encoding="utf-8")
    assert "1M lines" in text and "Quora questions" in text and "textsiam mine" in text


def test_pair_recall_counts_exact_pairs_with_ties(bench: Any, tmp_path: Path) -> None:
    import argparse

    import numpy as np

    rng = np.random.default_rng(0)
    vectors = np.eye(32, dtype=np.float32)[:30]  # 30 orthogonal rows: no pair reaches 0.8 ...
    vectors[:12] = rng.standard_normal(32).astype(np.float32)  # ... but 12 copies of one vector: 11 ties at 1.0 each
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    embeddings = tmp_path / "embeddings.float32.bin"
    vectors.tofile(embeddings)
    # every pair of copies, except (0, j) for j >= 4: line 0 keeps 3 partners, the others 10 or 11
    rows = [(i, j) for i in range(12) for j in range(i + 1, 12) if not (i == 0 and j >= 4)]
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("i\tj\tscore\ttext_a\ttext_b\n" + "".join(f"{i}\t{j}\t1.0\ta\tb\n" for i, j in rows))
    args = argparse.Namespace(precision="float32", lines=30, recall_sample=30, threshold=0.8)
    got = bench.pair_recall(pairs, embeddings, args, top_k=10)
    # 12 lines with 10 exact pairs each (any 10 of their 11 tied copies); line 0 is credited 3, the others 10
    assert got["recall_exact_pairs"] == 120 and got["recall_found"] == 3 + 11 * 10
    assert got["recall"] == pytest.approx(113 / 120) and got["pairs"] == len(rows)
