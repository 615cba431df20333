"""The calibration lifecycle of a model: fit a calibrator on dev pairs, check it before use, and notice when the
model has changed since it was calibrated (fixed probe pairs scored again and compared)."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from textsiam.model.calibrator import Calibrator, NotCalibratedError

logger = logging.getLogger(__name__)

#: Fixed pairs whose raw scores are stored with a calibrator, to notice when the model changed after calibration.
CALIBRATION_PROBES: tuple[tuple[str, str], ...] = (
    ("A man is playing a guitar.", "A person plays the guitar."),
    ("How do I learn Python?", "What is the capital of France?"),
    ("The cat sits on the mat.", "A cat is sitting on a mat."),
)


def check_calibrator(model: Any) -> Calibrator:
    """The model's fitted calibrator; :class:`NotCalibratedError` if it has none or it was fitted on other scores."""
    cal = model.calibrator
    if cal is None or not cal.is_fitted:
        raise NotCalibratedError(
            "this model is not calibrated: call model.calibrate(dev_pairs) first (or load a model saved "
            "after calibrating it), or pass calibrated=False for raw similarities"
        )
    fitted_with = cal.info.get("similarity")
    if fitted_with is not None and fitted_with != model.similarity_fn_name:
        raise NotCalibratedError(
            f"the calibrator was fitted on {fitted_with!r} scores but the model now uses "
            f"{model.similarity_fn_name!r}; calibrate again"
        )
    return cal


def probe_scores(model: Any) -> list[float]:
    """Raw scores of a few fixed pairs: a fingerprint of the scoring function a calibrator was fitted to."""
    a, b = zip(*CALIBRATION_PROBES, strict=True)
    return [float(s) for s in model.similarity(list(a), list(b))]


def warn_if_calibration_stale(model: Any) -> None:
    """Warn when the model no longer scores the probe pairs as it did when calibrated (e.g. fine-tuned since)."""
    cal = model.calibrator
    stored = None if cal is None else cal.info.get("probe_scores")
    if not stored or cal.info.get("similarity", model.similarity_fn_name) != model.similarity_fn_name:
        return
    now = probe_scores(model)
    drift = max(abs(x - y) / (1.0 + abs(y)) for x, y in zip(now, stored, strict=True))
    if drift > 1e-3:
        msg = (
            f"{model.name_or_path or 'this model'} scores differently than when it was calibrated (relative "
            f"change up to {drift:.2g} on fixed probe pairs; fine-tuned since?): calibrated scores may be off; "
            "run model.calibrate(dev_pairs) again"
        )
        warnings.warn(msg, UserWarning, stacklevel=4)


class CalibrationAPI:
    """The calibration methods of :class:`~textsiam.SiameseModel` (a mixin; the model stores ``calibrator``)."""

    calibrator: Calibrator | None

    def _check_calibrator(self) -> Calibrator:  # kept for callers of the 0.1 private name
        return check_calibrator(self)

    def calibrate(
        self,
        dev_pairs: Any,
        method: str = "isotonic",
        target: str = "auto",
        batch_size: int = 32,
        show_progress_bar: bool = False,
    ) -> Calibrator:
        """Fit a calibrator on dev pairs and attach it to the model (saved with it as ``calibration.json``).

        Args:
            dev_pairs: a :class:`datasets.Dataset`, dict of lists or DataFrame with ``text_a``, ``text_b`` and
                ``label`` (0/1 for duplicate / paraphrase tasks, graded for STS).
            method: ``"isotonic"``, ``"sigmoid"`` (Platt; probability target) or ``"linear"`` (STS target).
            target: ``"probability"`` (of label 1), ``"sts"`` (the gold scale, e.g. 0-5) or ``"auto"``
                (probability if every label is 0/1, else STS).
            batch_size: texts per forward pass.
            show_progress_bar: tqdm bar while encoding.

        Returns:
            The fitted :class:`~textsiam.calibration.Calibrator` (also ``model.calibrator``); afterwards
            ``model.similarity(a, b, calibrated=True)`` returns calibrated scores.
        """
        try:
            a, b, labels = dev_pairs["text_a"], dev_pairs["text_b"], dev_pairs["label"]
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError("dev_pairs must have columns text_a, text_b and label") from err
        a, b = [str(t) for t in a], [str(t) for t in b]
        labels = np.asarray(list(labels), dtype=np.float64)
        if not (len(a) == len(b) == len(labels)):
            raise ValueError(f"dev_pairs: column lengths differ ({len(a)}, {len(b)}, {len(labels)})")
        cal = Calibrator(method, target)  # checks method / target before encoding
        raw = self.similarity(a, b, batch_size=batch_size, show_progress_bar=show_progress_bar)
        cal.fit(raw, labels, similarity=self.similarity_fn_name, probe_scores=probe_scores(self))
        self.calibrator = cal
        return cal
