"""Calibrated scores: monotone fits, JSON round trips, save/load with the model, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import textsiam
from textsiam.model.calibrator import (
    CALIBRATION_NAME,
    Calibrator,
    NotCalibratedError,
    calibration_metrics,
    expected_calibration_error,
    infer_target,
    reliability_curve,
)
from textsiam.model.siamese import CONFIG_NAME, SiameseModel

PAIRS = {
    "text_a": [
        "A man is playing a guitar.",
        "The cat sits on the mat.",
        "Stocks fell sharply on Monday.",
        "How do I learn Python?",
        "A woman is slicing an onion.",
        "The sun is shining.",
        "A dog runs in the park.",
        "Kids are playing football.",
    ],
    "text_b": [
        "A person plays the guitar.",
        "Stocks fell sharply on Monday.",
        "Markets dropped on Monday.",
        "What is the capital of France?",
        "A woman cuts an onion.",
        "It is raining heavily.",
        "A dog is running through a park.",
        "A man is cooking dinner.",
    ],
    "label": [1, 0, 1, 0, 1, 0, 1, 0],
}


def _synthetic(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.uniform(-0.2, 1.0, n)
    p_true = 1 / (1 + np.exp(-(8 * scores - 4)))
    return scores, (rng.uniform(size=n) < p_true).astype(int)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_probability_fit_is_monotone_in_range_and_calibrated(method):
    x, y = _synthetic()
    cal = Calibrator(method).fit(x, y)
    assert cal.target == "probability" and cal.is_fitted
    grid = np.linspace(-1.5, 1.5, 501)
    p = cal.transform(grid)
    assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1
    x_test, y_test = _synthetic(seed=1)
    raw = calibration_metrics(y_test, np.clip(x_test, 0, 1))
    after = calibration_metrics(y_test, cal(x_test))
    assert after["ece"] < raw["ece"] and after["brier"] < raw["brier"]


def test_isotonic_matches_sklearn_predict():
    from sklearn.isotonic import IsotonicRegression

    x, y = _synthetic(500)
    cal = Calibrator("isotonic", "probability").fit(x, y)
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(x, y)
    grid = np.linspace(-2, 2, 301)
    np.testing.assert_allclose(cal.transform(grid), ref.predict(grid), atol=1e-12)


def test_sigmoid_matches_formula():
    x, y = _synthetic(500)
    cal = Calibrator("sigmoid").fit(x, y)
    p = cal.params
    assert p["coef"] > 0
    np.testing.assert_allclose(cal.transform([0.3]), 1 / (1 + np.exp(-(p["coef"] * 0.3 + p["intercept"]))))


@pytest.mark.parametrize("method", ["isotonic", "linear"])
def test_sts_target_maps_to_gold_range(method):
    rng = np.random.default_rng(0)
    gold = rng.uniform(0, 5, 800)
    raw = np.clip(gold / 5 + rng.normal(0, 0.1, gold.size), -1, 1)
    cal = Calibrator(method).fit(raw, gold)
    assert cal.target == "sts"
    out = cal.transform(np.linspace(-1, 1, 201))
    assert np.all(np.diff(out) >= -1e-12) and out.min() >= gold.min() and out.max() <= gold.max()
    assert np.mean(np.abs(cal(raw) - gold)) < np.mean(np.abs(5 * raw - gold)) + 1e-9


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", "linear"])
def test_json_round_trip_gives_identical_scores(method):
    x, y = _synthetic(300)
    if method == "linear":
        y = y * 4.0 + x
    cal = Calibrator(method).fit(x, y, similarity="cosine")
    text = json.dumps(cal.to_dict())
    back = Calibrator.from_dict(json.loads(text))
    grid = np.linspace(-1, 1, 101)
    np.testing.assert_array_equal(back.transform(grid), cal.transform(grid))
    assert back.info["similarity"] == "cosine" and back.info["n_pairs"] == 300


def test_bad_calibrators():
    with pytest.raises(ValueError, match="method"):
        Calibrator("platt")
    with pytest.raises(ValueError, match="does not suit"):
        Calibrator("linear", "probability")
    with pytest.raises(ValueError, match="does not suit"):
        Calibrator("sigmoid").fit([0.1, 0.5, 0.9], [1.0, 2.5, 4.0])
    with pytest.raises(ValueError, match="both classes"):
        Calibrator("isotonic", "probability").fit([0.1, 0.5], [1, 1])
    with pytest.raises(ValueError, match="lengths"):
        Calibrator().fit([0.1, 0.5], [1])
    with pytest.raises(NotCalibratedError, match=r"this Calibrator is not fitted; call fit\(scores, labels\)"):
        Calibrator().transform([0.5])
    with pytest.raises(ValueError, match="format"):
        Calibrator.from_dict({"method": "isotonic"})
    good = Calibrator().fit([0.1, 0.9], [0, 1]).to_dict()
    good["params"]["x_thresholds"] = good["params"]["x_thresholds"][::-1]
    with pytest.raises(ValueError, match="non-decreasing"):
        Calibrator.from_dict(good)


def test_infer_target():
    assert infer_target([0, 1, 1]) == "probability"
    assert infer_target([0.0, 2.5, 5.0]) == "sts"


def test_ece_by_hand():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.05, 0.95, 0.5, 0.5])
    # bins (15): 0.05 -> bin 0 (gap .05), 0.95 -> bin 14 (gap .05), 0.5/0.5 -> bin 7 (gap |0.5 - 0.5| = 0)
    assert expected_calibration_error(y, p) == pytest.approx((0.05 + 0.05) / 4)
    assert expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0
    curve = reliability_curve(y, p)
    assert curve["count"].sum() == 4 and len(curve["edges"]) == 16
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        expected_calibration_error([0, 1], [0.5, 1.5])


def test_model_calibrate_save_load_round_trip(tiny_model, tmp_path):
    for method in ("isotonic", "sigmoid"):
        cal = tiny_model.calibrate(PAIRS, method=method)
        assert tiny_model.calibrator is cal and cal.target == "probability"
        raw = tiny_model.similarity(PAIRS["text_a"], PAIRS["text_b"])
        calibrated = tiny_model.similarity(PAIRS["text_a"], PAIRS["text_b"], calibrated=True)
        assert calibrated.dtype == np.float32 and calibrated.shape == raw.shape
        assert np.all((calibrated >= 0) & (calibrated <= 1))
        order = np.argsort(raw)
        assert np.all(np.diff(calibrated[order]) >= -1e-6)  # monotone in the raw score
        path = tiny_model.save(tmp_path / method)
        assert (path / CALIBRATION_NAME).is_file() and (path / CONFIG_NAME).is_file()
        loaded = SiameseModel.from_pretrained(path, device="cpu")
        assert loaded.calibrator is not None and loaded.calibrator.method == method
        again = loaded.similarity(PAIRS["text_a"], PAIRS["text_b"], calibrated=True)
        np.testing.assert_array_equal(again, calibrated)  # same weights, same calibrator: identical
        single = textsiam.similarity(PAIRS["text_a"][0], PAIRS["text_b"][0], model=loaded, calibrated=True)
        assert isinstance(single, float) and single == pytest.approx(float(calibrated[0]), abs=1e-6)


@pytest.fixture(scope="module")
def stsb_split(data_dir):
    """300 random STS-B dev pairs (all genres): 150 to calibrate on, 150 held out to check on."""
    from textsiam.data.loaders import load_pairs

    dev = load_pairs("stsb", "dev", data_dir=data_dir)
    idx = np.random.default_rng(0).choice(len(dev), 300, replace=False)
    return dev.select(idx[:150]).to_dict(), dev.select(idx[150:]).to_dict()


@pytest.mark.parametrize("method", ["linear", "isotonic"])
def test_sts_calibration_on_model(default_model, stsb_split, monkeypatch, method):
    """Calibrated on STS-B dev pairs, the real model's scores are monotone in the raw score and, on held-out
    pairs, closer to the gold 0-5 scale than the usual uncalibrated mapping ``5 * clip(cosine, 0, 1)``."""
    fit, held_out = stsb_split
    monkeypatch.setattr(default_model, "calibrator", None)  # the session's model gets its calibrator back after
    cal = default_model.calibrate(fit, method=method)
    assert cal.target == "sts" and (cal.params["y_min"], cal.params["y_max"]) == (0.0, 5.0)
    a, b, gold = held_out["text_a"], held_out["text_b"], np.asarray(held_out["label"])
    raw = default_model.similarity(a, b)
    out = default_model.similarity(a, b, calibrated=True)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(out[order]) >= -1e-6)  # non-decreasing in the raw score
    assert np.all(np.diff(cal.transform(np.linspace(-1, 1, 401))) >= 0)
    assert out.min() >= 0.0 and out.max() <= 5.0 and np.ptp(out) > 4.0  # spans the scale: not a constant
    calibrated_mae = np.mean(np.abs(out - gold))
    naive_mae = np.mean(np.abs(5 * np.clip(raw, 0, 1) - gold))  # about 0.71 for this model and these pairs
    constant_mae = np.mean(np.abs(np.mean(fit["label"]) - gold))  # about 1.2: the best a constant can do
    assert calibrated_mae < 0.9 * naive_mae, (calibrated_mae, naive_mae)  # 0.56 (linear), 0.58 (isotonic)
    assert calibrated_mae < 0.5 * constant_mae, (calibrated_mae, constant_mae)


def test_uncalibrated_model_raises_clearly(tiny_model, tmp_path):
    with pytest.raises(NotCalibratedError, match="calibrate"):
        tiny_model.similarity("a", "b", calibrated=True)
    with pytest.raises(NotCalibratedError, match="not calibrated"):
        textsiam.similarity("a", "b", model=tiny_model, calibrated=True)
    path = tiny_model.save(tmp_path / "plain")
    assert not (path / CALIBRATION_NAME).exists()
    assert SiameseModel.from_pretrained(path, device="cpu").calibrator is None


def test_calibrator_of_other_similarity_is_refused(tiny_model, tmp_path):
    tiny_model.calibrate(PAIRS)
    path = tiny_model.save(tmp_path / "cal")
    other = SiameseModel.from_pretrained(path, similarity="dot", device="cpu")
    with pytest.raises(NotCalibratedError, match="'cosine'"):
        other.similarity("a", "b", calibrated=True)


def test_calibrate_rejects_bad_pairs(tiny_model):
    with pytest.raises(ValueError, match="text_a"):
        tiny_model.calibrate({"text_a": ["x"], "label": [1]})
    with pytest.raises(ValueError, match="method"):
        tiny_model.calibrate(PAIRS, method="beta")


def test_loading_a_model_changed_since_calibration_warns(tiny_model, tmp_path, recwarn):
    import torch

    tiny_model.calibrate(PAIRS)
    assert len(tiny_model.calibrator.info["probe_scores"]) == 3
    SiameseModel.from_pretrained(tiny_model.save(tmp_path / "same"), device="cpu")
    assert not [w for w in recwarn if "calibrated" in str(w.message)]
    with torch.no_grad():  # stands in for a fine-tune that started from the calibrated model
        for p in tiny_model.encoder.model.encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tiny_model.save(tmp_path / "changed")
    with pytest.warns(UserWarning, match="calibrate"):
        loaded = SiameseModel.from_pretrained(path, device="cpu")
    assert loaded.calibrator is not None  # kept: a warning, not a silent drop
