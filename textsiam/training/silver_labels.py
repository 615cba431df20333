"""Labelling silver pairs: each teacher scores the pairs in chunks (cached, so that a resumed run goes on where it
stopped), and its raw scores are mapped onto the gold label scale.

**Why a map.** A cross-encoder's sigmoid, a twin tower's cosine and an STS-B score of 0-5 live on different scales;
the silver labels must be on the gold one, or the student would learn two scales at once. A monotone fit on the
gold training pairs (the teacher's score of each gold pair against its gold label; scikit-learn's
:class:`~sklearn.isotonic.IsotonicRegression`, or :class:`~sklearn.linear_model.LinearRegression` clipped to the
gold range) maps each teacher's scores onto that scale; an ensemble averages its members' mapped scores.

**0/1 labels.** On 0/1 gold labels the isotonic map is a calibrated estimate of P(label 1 | teacher score), so the
silver label is 1 when the mapped score is at least :data:`BINARY_THRESHOLD` = 0.5, the choice that maximises the
expected accuracy of the silver labels (the Bayes decision under that estimate).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from textsiam.training.fingerprints import digest_json
from textsiam.training.silver_store import SilverStore
from textsiam.training.silver_teachers import Teacher, score_pairs

logger = logging.getLogger(__name__)

__all__ = ["BINARY_THRESHOLD", "CHUNK_PAIRS", "label_pairs", "map_to_gold"]

#: Pairs per cached chunk of teacher scores (a resumed run loses at most one chunk of work per teacher).
CHUNK_PAIRS = 1024
#: 0/1 gold labels: a silver label is 1 when the mapped (averaged) score is at least this.
BINARY_THRESHOLD = 0.5
#: A progress bar (with ``show_progress``) from this many pairs to label on.
PROGRESS_MIN_PAIRS = 1000


def label_pairs(
    teachers: Sequence[Teacher],
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    pairs_digest: str,
    store: SilverStore,
    batch_size: int = 32,
    show_progress: bool = False,
) -> np.ndarray:
    """Every teacher's raw score of every pair: ``(N, T)`` float64, column ``t`` from ``teachers[t]``.

    Chunks already in ``store`` for the same teacher and pairs are read, not scored again; a teacher is loaded only
    when a chunk of it is missing, and let go before the next one loads. Score files of other teachers or pairs are
    removed from the store afterwards (:meth:`SilverStore.prune_scores`).
    """
    from tqdm.auto import tqdm

    n = len(texts_a)
    bounds = [(start, min(n, start + CHUNK_PAIRS)) for start in range(0, n, CHUNK_PAIRS)]
    out = np.empty((n, len(teachers)), dtype=np.float64)
    keys = set()
    todo: list[tuple[int, Teacher, str, list[int]]] = []
    for t, teacher in enumerate(teachers):
        key = digest_json({"teacher": teacher.fingerprint, "pairs": pairs_digest})[:16]
        keys.add(key)
        missing = []
        for c, (start, stop) in enumerate(bounds):
            cached = store.read_chunk(key, c, _header(teacher, pairs_digest, start, stop))
            if cached is None:
                missing.append(c)
            else:
                out[start:stop, t] = cached
        if len(missing) < len(bounds):
            reused = len(bounds) - len(missing)
            logger.info("silver: reusing %d of %d labelled chunks of %s", reused, len(bounds), teacher.weights["name"])
        if missing:
            todo.append((t, teacher, key, missing))
    total = sum(bounds[c][1] - bounds[c][0] for *_, missing in todo for c in missing)
    show = show_progress and total >= PROGRESS_MIN_PAIRS
    with tqdm(total=total, desc="Labelling silver pairs", unit="pair", disable=not show) as bar:
        for t, teacher, key, missing in todo:
            model = teacher.load()
            for c in missing:
                start, stop = bounds[c]
                scores = score_pairs(
                    model, teacher.kind, texts_a[start:stop], texts_b[start:stop], batch_size, teacher.prompt_name
                )
                if scores.shape != (stop - start,) or not np.isfinite(scores).all():
                    raise ValueError(
                        f"silver_teacher {teacher.name!r} gave scores of shape {scores.shape} (or NaN / inf) for "
                        f"{stop - start} pairs"
                    )
                store.write_chunk(key, c, _header(teacher, pairs_digest, start, stop), scores)
                out[start:stop, t] = scores
                bar.update(stop - start)
            del model
    if total:
        logger.info("silver: %d teacher score(s) computed for %d pairs", total, n)
    store.prune_scores(keys)
    return out


def _header(teacher: Teacher, pairs_digest: str, start: int, stop: int) -> dict[str, Any]:
    return {"teacher": teacher.fingerprint, "pairs": pairs_digest, "start": start, "stop": stop}


def map_to_gold(
    gold_raw: np.ndarray, gold_labels: Sequence[float], raw: np.ndarray, mapping: str = "isotonic", binary: bool = False
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Map each teacher's raw scores onto the gold label scale, average the teachers, and threshold 0/1 labels.

    Args:
        gold_raw: ``(G, T)`` the teachers' raw scores of gold pairs.
        gold_labels: ``(G,)`` their gold labels.
        raw: ``(N, T)`` the teachers' raw scores of the silver pairs.
        mapping: ``"isotonic"`` or ``"linear"`` (clipped to the gold label range).
        binary: the gold labels are 0/1: the labels are ``mapped >= 0.5`` as integers.

    Returns:
        ``(labels, scores, info)``: the silver labels (``(N,)``, int64 0/1 or float64), the averaged mapped scores,
        and a record of the mapping (method, gold range, threshold, per-teacher fit on the gold pairs).

    Raises:
        ValueError: fewer than two gold pairs, or gold labels that are all the same (nothing to map onto).
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LinearRegression

    y = np.asarray(gold_labels, dtype=np.float64)
    gold_raw, raw = np.atleast_2d(gold_raw), np.asarray(raw, dtype=np.float64).reshape(-1, gold_raw.shape[1])
    if len(y) < 2 or y.min() == y.max():
        raise ValueError(
            "silver_teacher: the teacher's scores are mapped onto the gold label scale by a fit on the gold pairs, "
            f"which needs at least two different gold labels (got {len(y)} pair(s), labels {sorted(set(y.tolist()))})"
        )
    lo, hi = float(y.min()), float(y.max())
    mapped = np.empty_like(raw)
    fits = []
    for t in range(raw.shape[1]):
        x = gold_raw[:, t]
        if mapping == "isotonic":
            fit: Any = IsotonicRegression(y_min=lo, y_max=hi, out_of_bounds="clip").fit(x, y)
            on_gold, on_silver = fit.predict(x), fit.predict(raw[:, t])
        elif mapping == "linear":
            fit = LinearRegression().fit(x[:, None], y)
            on_gold = np.clip(fit.predict(x[:, None]), lo, hi)
            on_silver = np.clip(fit.predict(raw[:, t][:, None]), lo, hi)
        else:
            raise ValueError(f"unknown silver_mapping {mapping!r}; choose isotonic or linear")
        mapped[:, t] = on_silver
        fits.append({"gold_mse": round(float(np.mean((on_gold - y) ** 2)), 6)})
    scores = mapped.mean(axis=1) if mapped.size else np.empty(len(raw), dtype=np.float64)
    info: dict[str, Any] = {"method": mapping, "gold_pairs": len(y), "gold_range": [lo, hi], "teachers": fits}
    if binary:
        labels: np.ndarray = (scores >= BINARY_THRESHOLD).astype(np.int64)
        info["threshold"] = BINARY_THRESHOLD
        info["silver_label_1"] = int(labels.sum())
    else:
        labels = scores.astype(np.float64)
    return labels, scores, info
