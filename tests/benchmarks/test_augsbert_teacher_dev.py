"""``benchmarks.augsbert_teacher_dev``: each model alone and every ensemble of them, scored on dev only, with the
student report's dev metric."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cross_encoders import make_tiny_cross_encoder
from helpers import make_tiny_model


@pytest.fixture
def teacher_dev(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_teacher_dev")


def best_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """×100, the best accuracy over every cut of the scores (brute force)."""
    cuts = np.concatenate([np.unique(scores), [np.inf]])
    return max(float(np.mean((scores >= t).astype(int) == labels)) for t in cuts) * 100


def test_dev_metric(teacher_dev: Any) -> None:
    labels = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    scores = np.array([0.1, 0.4, 0.45, 0.8, 0.3])
    assert teacher_dev.dev_metric("mrpc", scores, labels) == pytest.approx(best_accuracy(scores, labels)) == 80.0
    assert teacher_dev.dev_metric("stsb", np.array([1.0, 2.0, 3.0]), np.array([0.5, 4.0, 2.0])) == pytest.approx(50.0)


def test_every_candidate_on_dev(
    teacher_dev: Any, data_dir: Path, tmp_path: Path, default_tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import textsiam.training.silver as silver
    from benchmarks.augsbert_teacher_ensemble import EnsembleTeacher
    from textsiam.data import load_pairs
    from textsiam.training.silver_teachers import resolve_teachers, score_pairs

    monkeypatch.setattr(silver, "MAX_MAPPING_PAIRS", 200)  # a quick fit
    make_tiny_model(default_tokenizer, seed=3).save(tmp_path / "twin")
    make_tiny_cross_encoder(default_tokenizer, seed=4).save(tmp_path / "ce")
    models = [str(tmp_path / "twin"), str(tmp_path / "ce")]
    argv = ["--dataset", "mrpc", "--models", *models, "--data-dir", str(data_dir), "--results-dir", str(tmp_path)]
    payload = teacher_dev.main(argv)
    rows = payload["candidates"]
    assert [r["members"] for r in rows] == [[0], [1], [0, 1]] and rows[0]["kinds"] == ["siamese"]
    dev, gold = load_pairs("mrpc", "dev", str(data_dir)), load_pairs("mrpc", "train", str(data_dir))
    labels = np.asarray(list(dev["label"]), dtype=np.float64)
    for row, (model, kind) in zip(rows, [(t.load(), t.kind) for t in resolve_teachers(models)], strict=False):
        alone = score_pairs(model, kind, list(dev["text_a"]), list(dev["text_b"]), 32)
        assert row["dev"] == pytest.approx(best_accuracy(alone, labels))
    ensemble = EnsembleTeacher(models, (gold["text_a"], gold["text_b"], gold["label"]))
    mapped = ensemble.predict(list(zip(dev["text_a"], dev["text_b"], strict=True)))
    assert rows[2]["dev"] == pytest.approx(best_accuracy(mapped, labels))
    saved = json.loads((tmp_path / "teacher_dev_mrpc.json").read_text(encoding="utf-8"))
    assert saved["candidates"] == rows and "command" in saved
    best = max(range(3), key=lambda i: rows[i]["dev"])
    marked = [
        line
        for line in (tmp_path / "teacher_dev_mrpc.md").read_text(encoding="utf-8").splitlines()
        if "**best**" in line
    ]
    assert len(marked) == 1 and marked[0].startswith(f"| {' + '.join(str(i) for i in rows[best]['members'])} |")


def test_one_model_is_refused(teacher_dev: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="2"):
        teacher_dev.parse_args(["--dataset", "stsb", "--models", "m1"])
    assert "--models: an ensemble needs at least two models, got 1" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        teacher_dev.parse_args(["--dataset", "sick", "--models", "m1", "m2"])
    assert re.search(r"--dataset: invalid choice: 'sick'", capsys.readouterr().err)
