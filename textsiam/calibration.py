"""Calibrated scores: map raw similarities to a probability of duplicate, or to the gold STS scale.

The calibrator itself lives with the model it is saved with (:mod:`textsiam.model.calibrator`); this is its
public home for users (``from textsiam.calibration import Calibrator, calibration_metrics``).
"""

from __future__ import annotations

from textsiam.model.calibrator import (
    CALIBRATION_NAME,
    METHODS,
    TARGETS,
    Calibrator,
    NotCalibratedError,
    calibration_metrics,
    expected_calibration_error,
    infer_target,
    reliability_curve,
)

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
