"""``benchmarks.augsbert_teacher_ensemble``: an ensemble of teachers scores pairs as it labels silver pairs (each
member mapped onto the gold scale by a fit on the gold pairs, then averaged), and the student report scores it as
one teacher candidate on dev and test."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cross_encoders import make_tiny_cross_encoder
from helpers import make_tiny_model

GOLD_A = [f"a dog number {i} runs in the park" for i in range(30)]
GOLD_B = [f"the dog {i % 7} is running outside" for i in range(30)]
GOLD_Y = [float(i % 6) for i in range(30)]
PAIRS = [("a cat sleeps", "a cat is asleep"), ("stocks fell", "a cat sleeps"), ("it rains", "rain falls today")]


@pytest.fixture
def ensemble(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_teacher_ensemble")


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory, default_tokenizer: Any) -> list[str]:
    """A tiny twin tower and a tiny cross-encoder, saved."""
    root = tmp_path_factory.mktemp("members")
    make_tiny_model(default_tokenizer, seed=3).save(root / "twin")
    make_tiny_cross_encoder(default_tokenizer, seed=4).save(root / "ce")
    return [str(root / "twin"), str(root / "ce")]


def test_the_ensemble_scores_as_it_labels(ensemble: Any, members: list[str]) -> None:
    from textsiam.training.silver_labels import map_to_gold
    from textsiam.training.silver_teachers import resolve_teachers, score_pairs

    model = ensemble.EnsembleTeacher(members, (GOLD_A, GOLD_B, GOLD_Y), batch_size=8)
    scores = model.predict(PAIRS)
    loaded = [(t.load(), t.kind) for t in resolve_teachers(members)]
    a, b = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    gold_raw = np.stack([score_pairs(m, k, GOLD_A, GOLD_B, 8) for m, k in loaded], axis=1)
    raw = np.stack([score_pairs(m, k, a, b, 8) for m, k in loaded], axis=1)
    expected = map_to_gold(gold_raw, GOLD_Y, raw, "isotonic")[1]
    np.testing.assert_allclose(scores, expected, atol=1e-9)
    assert scores.shape == (3,) and 0.0 <= scores.min() and scores.max() <= 5.0  # on the gold scale
    linear = ensemble.EnsembleTeacher(members, (GOLD_A, GOLD_B, GOLD_Y), mapping="linear", batch_size=8)
    np.testing.assert_allclose(linear.predict(PAIRS), map_to_gold(gold_raw, GOLD_Y, raw, "linear")[1], atol=1e-9)
    assert model.predict([]).shape == (0,)
    with pytest.raises(ValueError, match=re.escape("an ensemble has at least two teachers, got 1")):
        ensemble.EnsembleTeacher(members[:1], (GOLD_A, GOLD_B, GOLD_Y))


def test_the_gold_subsample_is_the_silver_runs(
    ensemble: Any, members: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import textsiam.training.silver as silver

    monkeypatch.setattr(silver, "MAX_MAPPING_PAIRS", 10)
    model = ensemble.EnsembleTeacher(members, (GOLD_A, GOLD_B, GOLD_Y), seed=5, batch_size=8)
    rows = np.sort(np.random.default_rng([5, 3]).choice(30, size=10, replace=False))  # silver.py's rule
    assert model.gold_y == [GOLD_Y[i] for i in rows] and model.gold_raw.shape == (10, 2)


def test_the_report_scores_a_runs_ensemble_once(
    import_benchmark: Any, members: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import textsiam.training.silver as silver
    from benchmarks.augsbert_cross_encoder_report import eval_pairs

    report = import_benchmark("augsbert_student_report")
    monkeypatch.setattr(silver, "MAX_MAPPING_PAIRS", 200)  # a quick fit
    how = report.Scoring(eval_pairs(str(data_dir), ["mrpc"], 60, 0), str(data_dir), 20, 0)
    teacher = {"index": 0, "kind": "siamese", "model_dir": members[0], "weights_digest": "w0", "settings": {}}
    ce = {**teacher, "index": 1, "kind": "cross_encoder", "model_dir": members[1], "weights_digest": "w1"}
    rec = {"dataset": "mrpc", "seed": None, "config": {"seed": 42, "max_train_pairs": 100}, "teachers": [teacher, ce]}
    runs = {"mrpc_silver_ce_twin": rec, "mrpc_silver_again": rec, "mrpc_silver_twin": {**rec, "teachers": [teacher]}}
    candidates = report.score_teachers("mrpc", runs, how)
    assert [c["kind"] for c in candidates] == ["siamese", "cross_encoder", "ensemble of 2"]
    ens = candidates[-1]
    assert ens["runs"] == ["mrpc_silver_ce_twin", "mrpc_silver_again"] and ens["dev_metric"] == "accuracy"
    assert 50.0 <= ens["dev"] <= 100.0 and ens["test"]["n_pairs"] == 60
    assert {"accuracy", "f1"} <= set(ens["test"]) and ens["test"]["accuracy"]["low"] <= ens["test"]["accuracy"]["value"]
