"""Calibrated scores: map raw similarities to a probability of duplicate, or to the 0-5 STS scale.

A :class:`Calibrator` is fitted on dev pairs (raw model similarity -> gold label) and is a monotone
non-decreasing function of the raw score, so rankings do not change:

* ``target="probability"`` (0/1 labels): ``method="isotonic"`` (scikit-learn ``IsotonicRegression``, a step
  function interpolated linearly between its thresholds) or ``method="sigmoid"`` (Platt scaling:
  ``1 / (1 + exp(-(coef * score + intercept)))`` fitted by scikit-learn ``LogisticRegression``, practically
  unregularised).
* ``target="sts"`` (graded gold scores, e.g. STS-B 0-5): ``method="isotonic"`` (isotonic regression onto the
  gold scores) or ``method="linear"`` (least-squares line), clipped to the gold range seen in fitting.

Fitted parameters are stored as JSON (:meth:`Calibrator.to_dict`), never pickled; a
:class:`~textsiam.SiameseModel` keeps its calibrator in ``calibration.json`` next to its weights.

:func:`calibration_metrics` reports the Brier score (scikit-learn) and the expected calibration error
(:func:`expected_calibration_error`, 15 equal-width bins; scikit-learn has no ECE function).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

CALIBRATION_NAME = "calibration.json"
FORMAT = "textsiam.calibration"
FORMAT_VERSION = 1
TARGETS: tuple[str, ...] = ("probability", "sts")
#: Methods valid for each target.
METHODS: dict[str, tuple[str, ...]] = {"probability": ("isotonic", "sigmoid"), "sts": ("isotonic", "linear")}

__all__ = [
    "CALIBRATION_NAME",
    "METHODS",
    "TARGETS",
    "Calibrator",
    "NotCalibratedError",
    "calibration_metrics",
    "expected_calibration_error",
    "infer_target",
    "reliability_curve",
]


class NotCalibratedError(RuntimeError):
    """Calibrated scores were asked of a model (or a :class:`Calibrator`) that has not been fitted."""


def _as_1d(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def infer_target(labels: Any) -> str:
    """``"probability"`` if every label is 0 or 1, else ``"sts"``."""
    y = _as_1d(labels, "labels")
    return "probability" if y.size and np.all((y == 0) | (y == 1)) else "sts"


class Calibrator:
    """A monotone map from raw similarity scores to calibrated scores.

    Args:
        method: ``"isotonic"``, ``"sigmoid"`` (probability target) or ``"linear"`` (STS target).
        target: ``"probability"`` (0/1 labels), ``"sts"`` (graded scores) or ``"auto"`` (decided from the
            labels given to :meth:`fit`).

    Example:
        >>> cal = Calibrator("isotonic").fit([0.1, 0.4, 0.6, 0.9], [0, 0, 1, 1])
        >>> cal.transform([0.2, 0.8]).tolist()
        [0.0, 1.0]
    """

    def __init__(self, method: str = "isotonic", target: str = "auto") -> None:
        if target not in (*TARGETS, "auto"):
            raise ValueError(f"unknown calibration target {target!r}; choose 'auto', 'probability' or 'sts'")
        all_methods = sorted({m for ms in METHODS.values() for m in ms})
        if method not in all_methods:
            raise ValueError(f"unknown calibration method {method!r}; choose one of {all_methods}")
        if target != "auto" and method not in METHODS[target]:
            raise ValueError(f"method {method!r} does not suit target {target!r}; use one of {list(METHODS[target])}")
        self.method = method
        self.target = target
        self.params: dict[str, Any] | None = None
        self.info: dict[str, Any] = {}

    # ------------------------------------------------------------------------------------------ fit / apply
    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_dict`) has set the parameters."""
        return self.params is not None

    def fit(self, scores: Any, labels: Any, **info: Any) -> Calibrator:
        """Fit on raw scores and gold labels (0/1 for a probability, graded for STS); returns ``self``.

        Extra keyword arguments (e.g. ``similarity="cosine"``, ``dataset="quora/dev"``) are stored in
        :attr:`info` and saved with the parameters.
        """
        x = _as_1d(scores, "scores")
        y = _as_1d(labels, "labels")
        if x.size != y.size:
            raise ValueError(f"scores and labels have different lengths ({x.size} and {y.size})")
        if x.size < 2:
            raise ValueError("calibration needs at least 2 pairs")
        target = infer_target(y) if self.target == "auto" else self.target
        if self.method not in METHODS[target]:
            raise ValueError(
                f"method {self.method!r} does not suit {target!r} labels; use one of {list(METHODS[target])}"
            )
        if target == "probability":
            if not np.all((y == 0) | (y == 1)):
                raise ValueError("target='probability' needs 0/1 labels")
            if y.min() == y.max():
                raise ValueError("calibrating a probability needs both classes (0 and 1) in the labels")
        y_min, y_max = (0.0, 1.0) if target == "probability" else (float(y.min()), float(y.max()))
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=y_min, y_max=y_max, increasing=True, out_of_bounds="clip").fit(x, y)
            params: dict[str, Any] = {
                "x_thresholds": [float(v) for v in iso.X_thresholds_],
                "y_thresholds": [float(v) for v in iso.y_thresholds_],
            }
        elif self.method == "sigmoid":
            from sklearn.linear_model import LogisticRegression

            # C large: Platt scaling is (practically) unregularised; finite so separable data stays finite.
            lr = LogisticRegression(C=1e4, max_iter=1000).fit(x.reshape(-1, 1), y.astype(np.int64))
            params = {"coef": float(lr.coef_[0, 0]), "intercept": float(lr.intercept_[0])}
            if params["coef"] < 0:
                logger.warning("sigmoid calibration has a negative slope: higher raw scores mean fewer positives")
        else:  # linear
            if np.ptp(x) == 0:
                raise ValueError("linear calibration needs scores that are not all equal")
            slope, intercept = np.polyfit(x, y, deg=1)
            params = {"slope": float(slope), "intercept": float(intercept)}
        params.update(y_min=y_min, y_max=y_max)
        self.target = target
        self.params = params
        self.info = {"n_pairs": int(x.size), **_jsonable(info)}
        logger.info("fitted %s calibration (%s) on %d pairs", self.method, target, x.size)
        return self

    def transform(self, scores: Any) -> np.ndarray:
        """Calibrated scores ``(N,)`` (float64) for raw scores ``(N,)``."""
        if self.params is None:
            raise NotCalibratedError("this Calibrator is not fitted; call fit(scores, labels) first")
        x = _as_1d(scores, "scores")
        p = self.params
        if self.method == "isotonic":
            out = np.interp(x, np.asarray(p["x_thresholds"]), np.asarray(p["y_thresholds"]))
        elif self.method == "sigmoid":
            from scipy.special import expit

            out = expit(p["coef"] * x + p["intercept"])
        else:
            out = p["slope"] * x + p["intercept"]
        return np.clip(out, p["y_min"], p["y_max"])

    __call__ = transform

    # ------------------------------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the method, target, fitted parameters and fit info."""
        if self.params is None:
            raise NotCalibratedError("cannot serialise an unfitted Calibrator")
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "target": self.target,
            "params": self.params,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Rebuild a fitted calibrator from :meth:`to_dict`; checks the parameters."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a textsiam calibration (expected 'format': {FORMAT!r})")
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"calibration format_version {data['format_version']} is newer than this textsiam")
        cal = cls(str(data.get("method")), str(data.get("target")))
        params = dict(data.get("params") or {})
        needed = {"isotonic": ("x_thresholds", "y_thresholds"), "sigmoid": ("coef", "intercept")}.get(
            cal.method, ("slope", "intercept")
        ) + ("y_min", "y_max")
        missing = [k for k in needed if k not in params]
        if missing:
            raise ValueError(f"{cal.method} calibration is missing parameters {missing}")
        if cal.method == "isotonic":
            xt = np.asarray(params["x_thresholds"], dtype=np.float64)
            yt = np.asarray(params["y_thresholds"], dtype=np.float64)
            if xt.ndim != 1 or xt.shape != yt.shape or xt.size == 0:
                raise ValueError("isotonic calibration needs equal-length, non-empty x_thresholds and y_thresholds")
            if not (np.all(np.isfinite(xt)) and np.all(np.isfinite(yt))):
                raise ValueError("isotonic calibration thresholds must be finite")
            if np.any(np.diff(xt) < 0) or np.any(np.diff(yt) < 0):
                raise ValueError("isotonic calibration thresholds must be non-decreasing")
        for key in needed[-2:] + tuple(k for k in ("coef", "slope", "intercept") if k in params):
            if not isinstance(params[key], (int, float)) or not math.isfinite(params[key]):
                raise ValueError(f"calibration parameter {key!r} must be a finite number")
        cal.params = params
        cal.info = dict(data.get("info") or {})
        return cal

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (a file); returns the path."""
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibrator:
        """Read a file written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "not fitted"
        return f"Calibrator(method={self.method!r}, target={self.target!r}, {state})"


def _jsonable(info: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in info.items():
        try:
            json.dumps(v)
            out[str(k)] = v
        except TypeError:
            out[str(k)] = str(v)
    return out


# ---------------------------------------------------------------------------------------------- metrics
def _bins(probs: np.ndarray, n_bins: int) -> np.ndarray:
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    return np.clip(np.floor(probs * n_bins).astype(np.int64), 0, n_bins - 1)  # bin b = [b/n, (b+1)/n), 1.0 -> last


def _check_probs(labels: Any, probs: Any) -> tuple[np.ndarray, np.ndarray]:
    y = _as_1d(labels, "labels")
    p = _as_1d(probs, "probabilities")
    if y.size != p.size:
        raise ValueError(f"labels and probabilities have different lengths ({y.size} and {p.size})")
    if y.size == 0:
        raise ValueError("no labels")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0/1")
    if p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must lie in [0, 1] (clip raw scores first)")
    return y, p


def expected_calibration_error(labels: Any, probs: Any, n_bins: int = 15) -> float:
    """Expected calibration error with ``n_bins`` equal-width bins over [0, 1].

    ``ECE = sum_b (n_b / N) * |mean(labels in b) - mean(probs in b)|``; bin ``b`` holds probabilities in
    ``[b / n_bins, (b + 1) / n_bins)``, the last bin also 1.0. Empty bins contribute nothing.
    """
    y, p = _check_probs(labels, probs)
    b = _bins(p, n_bins)
    counts = np.bincount(b, minlength=n_bins).astype(np.float64)
    conf = np.bincount(b, weights=p, minlength=n_bins)
    acc = np.bincount(b, weights=y, minlength=n_bins)
    nonempty = counts > 0
    gaps = np.abs(acc[nonempty] - conf[nonempty])  # n_b * |mean_y - mean_p|
    return float(gaps.sum() / y.size)


def reliability_curve(labels: Any, probs: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per non-empty equal-width bin: ``mean_predicted``, ``fraction_positive``, ``count`` and bin ``edges``."""
    y, p = _check_probs(labels, probs)
    b = _bins(p, n_bins)
    counts = np.bincount(b, minlength=n_bins)
    nonempty = counts > 0
    conf = np.bincount(b, weights=p, minlength=n_bins)[nonempty] / counts[nonempty]
    acc = np.bincount(b, weights=y, minlength=n_bins)[nonempty] / counts[nonempty]
    return {
        "mean_predicted": conf,
        "fraction_positive": acc,
        "count": counts[nonempty],
        "edges": np.linspace(0.0, 1.0, n_bins + 1),
    }


def calibration_metrics(labels: Any, probs: Any, n_bins: int = 15) -> dict[str, float]:
    """``{"brier", "ece", "log_loss", "n"}`` of probabilities against 0/1 labels (Brier and log loss: scikit-learn)."""
    from sklearn.metrics import brier_score_loss, log_loss

    y, p = _check_probs(labels, probs)
    eps = 1e-15
    return {
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p, n_bins),
        "log_loss": float(log_loss(y, np.clip(p, eps, 1 - eps), labels=[0, 1])),
        "n": int(y.size),
    }
