"""What ``python -m benchmarks.distill`` measures: zero-shot quality with bootstrap CIs, encoding speed, load time.

The quality goes through the evaluators (``benchmarks.common.evaluate_on``); the average-precision CI resamples the
cosine scores of the very embeddings the evaluator computed (kept by :class:`RecordingModel`).
"""

from __future__ import annotations

import logging
from typing import Any

from benchmarks.common import alternating_times, evaluate_on, medians, value_ci
from benchmarks.distill_contenders import Contender

logger = logging.getLogger("benchmarks.distill")

#: (dataset, metric key of the evaluator's record, column label); all on the test split, cosine similarity
QUALITY = (
    ("stsb", "cosine_spearman", "STS-B ρ"),
    ("sick", "cosine_spearman", "SICK-R ρ"),
    ("mrpc", "cosine_ap", "MRPC AP"),
    ("quora", "cosine_ap", "Quora AP"),
)


class RecordingModel:
    """Wraps a model and keeps the texts and embeddings of its last ``encode`` call (for the AP bootstrap)."""

    similarity_fn_name = "cosine"

    def __init__(self, model: Any, name_or_path: str) -> None:
        self.model = model
        self.name_or_path = name_or_path
        self.texts: list[str] = []
        self.embeddings: Any = None

    def encode(self, texts: Any, batch_size: int = 64, show_progress_bar: bool = False, **kwargs: Any) -> Any:
        import numpy as np

        emb = self.model.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar, **kwargs)
        if hasattr(emb, "detach"):
            emb = emb.detach().cpu().numpy()
        self.texts = [str(t) for t in texts]
        self.embeddings = np.asarray(emb, dtype=np.float32)
        return self.embeddings


def speed_sentences(data_dir: str | None, limit: int | None) -> list[str]:
    """The unique sentences of STS-B test then dev, in file order (each pair's sentence 1, then its sentence 2)."""
    from textsiam.data import load_pairs

    seen: dict[str, None] = {}
    for split in ("test", "dev"):
        ds = load_pairs("stsb", split, data_dir=data_dir)
        for a, b in zip(ds["text_a"], ds["text_b"], strict=True):
            seen.setdefault(a, None)
            seen.setdefault(b, None)
    return list(seen)[: limit or None]


def eval_pairs(data_dir: str | None, limit: int | None) -> dict[str, dict[str, Any]]:
    """``{dataset: {"test": pairs, "dev": pairs or None}}``; with ``limit`` the first ``limit`` pairs of each.

    ``dev`` (MRPC and Quora, limited runs only) chooses the thresholds of the accuracy the record also holds;
    ``None`` lets the evaluator load the whole dev split.
    """
    from textsiam.data import load_pairs

    out: dict[str, dict[str, Any]] = {}
    for name, metric, _ in QUALITY:
        test = load_pairs(name, "test", data_dir)
        dev = None
        if limit:
            test = test.select(range(min(limit, len(test))))
            if metric.endswith("_ap"):
                dev = load_pairs(name, "dev", data_dir)
                dev = dev.select(range(min(limit, len(dev))))
        out[name] = {"test": test, "dev": dev}
    return out


def ap_bootstrap(
    recorder: RecordingModel, pairs: Any, n_resamples: int, seed: int = 0
) -> tuple[float, float | None, float | None]:
    """``(AP, low, high)`` ×100 of the cosine scores of ``pairs`` from the embeddings ``recorder`` kept.

    The pairs are resampled with replacement ``n_resamples`` times (``numpy.random.default_rng(seed)``), scikit-learn's
    ``average_precision_score`` on each resample, 95% percentile interval; resamples with one class only are dropped.
    """
    import numpy as np
    from sklearn.metrics import average_precision_score

    from textsiam.evaluation.bootstrap import bootstrap_cis
    from textsiam.evaluation.encoding import pair_scores

    row_of = {t: i for i, t in enumerate(recorder.texts)}
    idx_a = np.array([row_of[str(t)] for t in pairs["text_a"]], dtype=np.int64)
    idx_b = np.array([row_of[str(t)] for t in pairs["text_b"]], dtype=np.int64)
    scores = pair_scores(recorder.embeddings, idx_a, idx_b, ["cosine"])["cosine"]
    labels = np.asarray(list(pairs["label"])).astype(np.int64)

    def ap(y: np.ndarray, s: np.ndarray) -> float:
        return 100.0 * float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else float("nan")

    if not n_resamples:
        return ap(labels, scores), None, None
    res = bootstrap_cis({"ap": ap}, labels, scores, n_resamples=n_resamples, seed=seed, confidence=0.95)["ap"]
    return res.estimate, res.low, res.high


def quality(
    c: Contender, pairs: dict[str, dict[str, Any]], data_dir: str | None, batch_size: int, n_resamples: int
) -> dict[str, dict[str, Any]]:
    """The four test figures of one contender (×100, 95% bootstrap CIs), through the evaluators."""
    out: dict[str, dict[str, Any]] = {}
    for name, metric, _ in QUALITY:
        recorder = RecordingModel(c.model, c.name)
        options: dict[str, Any] = {}
        if metric.endswith("_ap"):
            options["retrieval"] = False
            if pairs[name]["dev"] is not None:
                options["dev_pairs"] = pairs[name]["dev"]
        rec = evaluate_on(
            recorder,
            name,
            "test",
            data_dir,
            pairs=pairs[name]["test"],
            batch_size=batch_size,
            n_resamples=n_resamples,
            seed=0,
            show_progress_bar=False,
            similarities=["cosine"],
            primary_similarity="cosine",
            **options,
        )
        value = float(rec["metrics"][metric])
        entry: dict[str, Any] = {"metric": metric, "value": value, "n_pairs": rec["n_pairs"]}
        if metric.endswith("_ap"):
            ap, low, high = ap_bootstrap(recorder, pairs[name]["test"], n_resamples)
            if abs(ap - value) > 1e-6:
                logger.warning(
                    "%s %s: AP from the kept embeddings %.6f != the evaluator's %.6f", c.name, name, ap, value
                )
            entry.update(low=low, high=high, ci="bootstrap of sklearn average_precision_score over the test pairs")
            entry["accuracy_at_dev_threshold"] = rec["metrics"].get("cosine_accuracy")
            entry["roc_auc"] = rec["metrics"].get("cosine_roc_auc")
        else:
            ci = rec["ci"].get(metric, {})
            entry.update(low=ci.get("low"), high=ci.get("high"), ci="evaluator's bootstrap")
        out[name] = entry
        logger.info("[quality] %s %s %s = %s", c.name, name, metric, value_ci(entry))
    return out


def speed(contenders: list[Contender], texts: list[str], batch_size: int, runs: int) -> dict[str, dict[str, Any]]:
    """Sentences/s of each contender on ``texts``: one warm-up each, then ``runs`` alternating runs; medians."""
    for c in contenders:
        c.encode(texts[:512], batch_size)
    jobs = {c.name: (lambda c=c: c.encode(texts, batch_size)) for c in contenders}
    times = alternating_times(jobs, runs, "speed", items=len(texts), unit="sentences")
    return {
        name: {"sentences_per_s": len(texts) / median, "runs_s": [round(t, 4) for t in times[name]]}
        for name, median in medians(times).items()
    }


def load_times(contenders: list[Contender], runs: int) -> dict[str, dict[str, Any]]:
    """Seconds to load each contender from its folder: one warm-up load, then ``runs`` alternating loads; medians."""
    for c in contenders:
        c.load()
    times = alternating_times({c.name: c.load for c in contenders}, runs, "load")
    return {
        name: {"median_s": med, "runs_s": [round(t, 4) for t in times[name]]} for name, med in medians(times).items()
    }
