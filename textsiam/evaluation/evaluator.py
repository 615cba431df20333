"""Model-level evaluation: :func:`evaluate`, :func:`evaluate_dataset`, :func:`make_dev_metric`, :func:`compare`.

The model is duck-typed (see :mod:`textsiam.evaluation.encoding`): it needs
``encode(texts, batch_size=..., show_progress_bar=...) -> (N, D)``, and optionally
``similarity_fn_name`` (the primary similarity, default ``"cosine"``) and ``name_or_path``.

Data comes from :func:`textsiam.data.load_pairs` (through :func:`load_pairs` here, which tests may
monkeypatch), or can be passed directly as ``pairs=`` / ``dev_pairs=``: anything indexable by
column name with ``text_a``, ``text_b`` and ``label`` (a :class:`datasets.Dataset`, a dict of
lists, a :class:`pandas.DataFrame`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from textsiam.evaluation import classification as clf
from textsiam.evaluation.bootstrap import bootstrap_cis, paired_bootstrap
from textsiam.evaluation.correlation import correlation_metrics, pearson, scaled_mse, spearman
from textsiam.evaluation.encoding import encode_unique, model_name, pair_scores
from textsiam.evaluation.metrics import (
    RETRIEVAL_DATASETS,
    TASK_CLASSIFICATION,
    TASK_STS,
    as_binary_labels,
    as_scores,
    main_metric_names,
    primary_metric_name,
    resolve_similarities,
)
from textsiam.evaluation.results import EvaluationResults, package_versions
from textsiam.evaluation.retrieval import duplicate_queries, per_query_metrics, rank_relevant
from textsiam.similarity import pairwise_similarity

logger = logging.getLogger(__name__)

#: Datasets evaluated by default.
DEFAULT_DATASETS: tuple[str, ...] = ("stsb", "sick", "mrpc", "quora")

Columns = tuple[list[str], list[str], np.ndarray]


# ------------------------------------------------------------------------------------------ data hooks
def load_pairs(name: str, split: str, data_dir: Any = None) -> Any:
    """Load a split with :func:`textsiam.data.load_pairs` (imported lazily; monkeypatch this in tests)."""
    from textsiam.data import load_pairs as _load_pairs

    return _load_pairs(name, split, data_dir=data_dir)


def task_type(name: str) -> str:
    """``"sts"`` or ``"classification"`` via :func:`textsiam.data.task_type` (monkeypatch this in tests)."""
    from textsiam.data import task_type as _task_type

    return _task_type(name)


def _columns(pairs: Any, what: str) -> Columns:
    try:
        a, b, y = pairs["text_a"], pairs["text_b"], pairs["label"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{what} must have columns text_a, text_b and label") from exc
    a, b = [str(t) for t in a], [str(t) for t in b]
    labels = np.asarray(list(y))
    if not (len(a) == len(b) == len(labels)):
        raise ValueError(f"{what}: column lengths differ ({len(a)}, {len(b)}, {len(labels)})")
    if len(a) == 0:
        raise ValueError(f"{what} is empty")
    return a, b, labels


def _scores_for(
    model: Any,
    splits: Sequence[Columns],
    similarities: Iterable[str],
    batch_size: int,
    show_progress_bar: bool,
) -> tuple[list[dict[str, np.ndarray]], list[str], np.ndarray]:
    """Encode the unique texts of all ``splits`` in one call; return per-split scores, unique texts, embeddings."""
    texts: list[str] = []
    for a, b, _ in splits:
        texts += a + b
    unique, emb, inverse = encode_unique(model, texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
    sims = list(similarities)
    out: list[dict[str, np.ndarray]] = []
    offset = 0
    for a, _, _ in splits:
        n = len(a)
        out.append(pair_scores(emb, inverse[offset : offset + n], inverse[offset + n : offset + 2 * n], sims))
        offset += 2 * n
    return out, unique, emb


def _ci_dict(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {k: {"low": r.low, "high": r.high} for k, r in results.items()}


# ------------------------------------------------------------------------------------------ one dataset
def _score_range(name: str) -> tuple[float, float] | None:
    """The gold score range of a registered STS dataset, or ``None`` (custom data)."""
    from textsiam.data import dataset_info

    try:
        return tuple(dataset_info(name).score_range)  # type: ignore[return-value]
    except (KeyError, ValueError):
        return None


def evaluate_dataset(
    model: Any,
    name: str,
    split: str = "test",
    data_dir: Any = None,
    *,
    batch_size: int = 64,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    show_progress_bar: bool = False,
    similarities: Iterable[str] | None = None,
    primary_similarity: str | None = None,
    retrieval: bool | None = None,
    transitive_relevance: bool = False,
    retrieval_chunk_size: int = 256,
    pairs: Any = None,
    dev_pairs: Any = None,
    task: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on one split of one dataset.

    STS datasets: Pearson and Spearman ×100 for every similarity function; primary =
    ``{primary}_spearman``. Classification datasets: the dev split is loaded too, thresholds are
    chosen on dev (best accuracy, best F1) and applied unchanged to ``split``; primary =
    ``{primary}_accuracy``. Quora/QQP additionally get duplicate-question retrieval metrics
    (primary similarity only). Every text of the dataset (dev included) is encoded once.

    Args:
        model: see module docstring.
        name: dataset name (``stsb``, ``sick``, ``sick-e``, ``mrpc``, ``quora``, ``qqp``).
        split: split to evaluate (``test``, ``dev``, ``train``; ``all`` for SICK).
        data_dir: forwarded to the loader (default ``$TEXTSIAM_DATA`` / Hub).
        batch_size: forwarded to ``model.encode``.
        n_resamples: bootstrap resamples for CIs (0 disables CIs).
        seed: bootstrap seed.
        confidence: CI coverage.
        show_progress_bar: tqdm bars for encoding, bootstrap and retrieval.
        similarities: similarity functions to score (default cosine, dot, euclidean, manhattan,
            plus the primary one).
        primary_similarity: similarity of the primary metric (default ``model.similarity_fn_name``
            or ``"cosine"``).
        retrieval: add retrieval metrics (default: only for quora/qqp).
        transitive_relevance: retrieval relevance = connected component instead of direct partners.
        retrieval_chunk_size: queries per similarity-matrix chunk.
        pairs: use these pairs instead of loading ``split``.
        dev_pairs: use these pairs instead of loading the dev split (classification only).
        task: override the task type (default :func:`task_type` of ``name``).

    Returns:
        A dict with ``dataset``, ``split``, ``task``, ``model``, ``n_pairs``, ``n_unique_texts``,
        ``similarities``, ``primary_similarity``, ``primary_metric``, ``primary_value``, ``metrics``
        (``{key: value ×100}``), ``ci`` (``{key: {"low", "high"}}``), ``main_metrics``,
        ``n_resamples``, ``seed``, ``confidence``, ``wall_time_s``; classification adds
        ``thresholds`` (``{similarity: {"accuracy": t, "f1": t}}``), ``threshold_split``,
        ``n_dev_pairs``, ``n_positive``; retrieval adds ``retrieval`` (counts and protocol).
    """
    start = time.perf_counter()
    task = task or task_type(name)
    sims, primary = resolve_similarities(model, similarities, primary_similarity)
    test = _columns(pairs if pairs is not None else load_pairs(name, split, data_dir), f"{name}/{split}")
    boot = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence, "show_progress_bar": show_progress_bar}
    record: dict[str, Any] = {
        "dataset": name,
        "split": split,
        "task": task,
        "model": model_name(model),
        "n_pairs": len(test[0]),
        "similarities": sims,
        "primary_similarity": primary,
        "primary_metric": primary_metric_name(task, primary),
    }

    if task == TASK_STS:
        gold = as_scores(test[2], "gold scores")
        (scores,), unique, _ = _scores_for(model, [test], sims, batch_size, show_progress_bar)
        metrics = correlation_metrics(scores, gold)
        fns = {
            f"{primary}_spearman": lambda g, s: spearman(s, g),
            f"{primary}_pearson": lambda g, s: pearson(s, g),
        }
        score_range = _score_range(name)
        if score_range is not None:  # MSE of the similarity read on the gold scale (see scaled_mse)
            metrics[f"{primary}_mse"] = scaled_mse(scores[primary], gold, score_range)
            fns[f"{primary}_mse"] = lambda g, s: scaled_mse(s, g, score_range)
            record["score_range"] = list(score_range)
        ci = _ci_dict(bootstrap_cis(fns, gold, scores[primary], **boot)) if n_resamples else {}
        use_retrieval = False
    elif task == TASK_CLASSIFICATION:
        if split in ("dev", "all"):
            logger.warning(
                "%s/%s contains the dev pairs that choose the thresholds: figures are optimistic", name, split
            )
        dev = _columns(dev_pairs if dev_pairs is not None else load_pairs(name, "dev", data_dir), f"{name}/dev")
        labels = as_binary_labels(test[2], f"{name}/{split} labels")
        dev_labels = as_binary_labels(dev[2], f"{name}/dev labels")
        (scores, dev_scores), unique, emb = _scores_for(model, [test, dev], sims, batch_size, show_progress_bar)
        metrics, thresholds = {}, {}
        for sim in sims:
            res = clf.pair_classification_metrics(dev_scores[sim], dev_labels, scores[sim], labels)
            metrics.update({f"{sim}_{k}": v for k, v in res["metrics"].items()})
            thresholds[sim] = res["thresholds"]
        pred_acc = (scores[primary] >= thresholds[primary]["accuracy"]).astype(np.int64)
        pred_f1 = (scores[primary] >= thresholds[primary]["f1"]).astype(np.int64)
        fns = {
            f"{primary}_accuracy": lambda y, pa, pf: clf.accuracy_metric(y, pa),
            f"{primary}_f1": lambda y, pa, pf: clf.f1_metric(y, pf),
        }
        ci = _ci_dict(bootstrap_cis(fns, labels, pred_acc, pred_f1, **boot)) if n_resamples else {}
        record.update(
            thresholds=thresholds,
            threshold_split="dev",
            n_dev_pairs=len(dev[0]),
            n_positive=int(labels.sum()),
        )
        use_retrieval = str(name).lower() in RETRIEVAL_DATASETS if retrieval is None else bool(retrieval)
        if use_retrieval:
            corpus, query_ids, relevant = duplicate_queries(test[0], test[1], labels, transitive=transitive_relevance)
            if len(query_ids) == 0:
                logger.warning("%s/%s has no label-1 pairs: skipping retrieval", name, split)
                use_retrieval = False
            else:
                row_of = {t: i for i, t in enumerate(unique)}
                corpus_emb = emb[np.fromiter((row_of[t] for t in corpus), dtype=np.int64, count=len(corpus))]
                ranks = rank_relevant(corpus_emb, query_ids, relevant, primary, retrieval_chunk_size, show_progress_bar)
                per_query = per_query_metrics(ranks)
                keys = [f"{primary}_{k}" for k in per_query]
                metrics.update({key: 100.0 * float(v.mean()) for key, v in zip(keys, per_query.values(), strict=True)})
                if n_resamples:
                    rfns = {key: (lambda *cols, i=i: 100.0 * float(np.mean(cols[i]))) for i, key in enumerate(keys)}
                    ci.update(_ci_dict(bootstrap_cis(rfns, *per_query.values(), **boot)))
                record["retrieval"] = {
                    "similarity": primary,
                    "n_queries": len(query_ids),
                    "n_candidates": len(corpus) - 1,
                    "relevance": "transitive" if transitive_relevance else "direct",
                    "mean_relevant_per_query": float(np.mean([len(r) for r in relevant])),
                    "ties": "pessimistic",
                }
    else:
        raise ValueError(f"unknown task type {task!r} for dataset {name!r}")

    key = record["primary_metric"]
    record.update(
        n_unique_texts=len(unique),
        primary_value=metrics[key],
        metrics=metrics,
        ci=ci,
        main_metrics=main_metric_names(task, sims, primary, retrieval=use_retrieval),
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
        wall_time_s=round(time.perf_counter() - start, 3),
    )
    logger.info("%s/%s: %s = %.2f (%.1fs)", name, split, key, metrics[key], record["wall_time_s"])
    return record


# ------------------------------------------------------------------------------------------ many datasets
def evaluate(
    model: Any,
    datasets: Sequence[str] | str = DEFAULT_DATASETS,
    split: str = "test",
    data_dir: Any = None,
    batch_size: int = 64,
    n_resamples: int = 1000,
    seed: int = 0,
    show_progress_bar: bool = True,
    *,
    confidence: float = 0.95,
    similarities: Iterable[str] | None = None,
    primary_similarity: str | None = None,
    retrieval: bool | None = None,
) -> EvaluationResults:
    """Evaluate ``model`` on several datasets; see :func:`evaluate_dataset` for the protocol.

    Example:
        >>> results = evaluate(model, ["stsb", "mrpc"])  # doctest: +SKIP
        >>> print(results.to_markdown())  # doctest: +SKIP
        >>> results.save("results.json")  # doctest: +SKIP

    Returns:
        :class:`EvaluationResults` (one entry per dataset, in the given order).
    """
    names = [datasets] if isinstance(datasets, str) else list(datasets)
    if not names:
        raise ValueError("no datasets to evaluate")
    start = time.perf_counter()
    results = []
    for name in names:
        logger.info("evaluating %s on %s/%s", model_name(model), name, split)
        results.append(
            evaluate_dataset(
                model,
                name,
                split,
                data_dir,
                batch_size=batch_size,
                n_resamples=n_resamples,
                seed=seed,
                confidence=confidence,
                show_progress_bar=show_progress_bar,
                similarities=similarities,
                primary_similarity=primary_similarity,
                retrieval=retrieval,
            )
        )
    return EvaluationResults(
        results=results,
        model=model_name(model),
        split=split,
        seed=seed,
        n_resamples=n_resamples,
        confidence=confidence,
        versions=package_versions(),
        wall_time_s=round(time.perf_counter() - start, 3),
    )


# ------------------------------------------------------------------------------------------ primary metric only
def _primary_scores(
    model: Any,
    task: str,
    test: Columns,
    dev: Columns | None,
    primary: str,
    batch_size: int,
    show_progress_bar: bool,
) -> tuple[np.ndarray, float | None]:
    """Primary-similarity scores on ``test``; for classification, 0/1 predictions at the dev-accuracy threshold."""
    splits = [test] if dev is None else [test, dev]
    scores, _, _ = _scores_for(model, splits, [primary], batch_size, show_progress_bar)
    if task == TASK_STS:
        return scores[0][primary], None
    assert dev is not None
    threshold = clf.find_best_threshold(scores[1][primary], as_binary_labels(dev[2]), metric="accuracy")
    return (scores[0][primary] >= threshold).astype(np.int64), threshold


class DevMetric:
    """Callable ``model -> primary dev metric`` for early stopping / model selection.

    The dev pairs are loaded once. STS: Spearman ×100 with the model's similarity function;
    classification: accuracy ×100 at the best-accuracy threshold chosen on the same dev pairs
    (an optimistic but consistent selection signal). Higher is better.

    Attributes:
        name: dataset name.
        task: task type.
        greater_is_better: always ``True``.
        metric_name: key of the last computed metric (e.g. ``cosine_spearman``).
    """

    greater_is_better = True

    def __init__(
        self,
        name: str,
        data_dir: Any = None,
        split: str = "dev",
        batch_size: int = 64,
        primary_similarity: str | None = None,
        show_progress_bar: bool = False,
        pairs: Any = None,
        task: str | None = None,
    ) -> None:
        self.name = name
        self.split = split
        self.task = task or task_type(name)
        self.batch_size = batch_size
        self.primary_similarity = primary_similarity
        self.show_progress_bar = show_progress_bar
        self._pairs = _columns(pairs if pairs is not None else load_pairs(name, split, data_dir), f"{name}/{split}")
        if self.task == TASK_STS:
            self._gold = as_scores(self._pairs[2], "gold scores")
        elif self.task == TASK_CLASSIFICATION:
            self._gold = as_binary_labels(self._pairs[2], "labels")
        else:
            raise ValueError(f"unknown task type {self.task!r}")
        self.metric_name = primary_metric_name(self.task, primary_similarity or "cosine")

    def __call__(self, model: Any) -> float:
        """Primary metric of ``model`` on the dev pairs (×100)."""
        _, primary = resolve_similarities(model, [], self.primary_similarity)
        self.metric_name = primary_metric_name(self.task, primary)
        a, b, _ = self._pairs
        unique, emb, inverse = encode_unique(model, a + b, self.batch_size, self.show_progress_bar)
        n = len(a)
        scores = as_scores(pairwise_similarity(emb[inverse[:n]], emb[inverse[n:]], primary))
        if self.task == TASK_STS:
            return spearman(scores, self._gold)
        threshold = clf.find_best_threshold(scores, self._gold, metric="accuracy")
        return clf.classification_metrics(scores, self._gold, threshold)["accuracy"]

    def __repr__(self) -> str:
        return f"DevMetric(name={self.name!r}, split={self.split!r}, task={self.task!r}, n_pairs={len(self._gold)})"


def make_dev_metric(name: str, data_dir: Any = None, **kwargs: Any) -> Callable[[Any], float]:
    """Return a :class:`DevMetric` for ``name`` (keyword arguments go to its constructor)."""
    return DevMetric(name, data_dir, **kwargs)


# ------------------------------------------------------------------------------------------ two models
def compare(
    model_a: Any,
    model_b: Any,
    dataset: str,
    split: str = "test",
    data_dir: Any = None,
    n_resamples: int = 1000,
    seed: int = 0,
    *,
    batch_size: int = 64,
    confidence: float = 0.95,
    show_progress_bar: bool = False,
    primary_similarity: str | None = None,
    pairs: Any = None,
    dev_pairs: Any = None,
) -> dict[str, Any]:
    """Paired bootstrap comparison of two models on the primary metric of ``dataset``.

    Each model uses its own primary similarity (``similarity_fn_name``, default cosine) and, for
    classification, its own dev-chosen accuracy threshold; both are scored on the same resampled
    pairs. ``difference = metric(b) - metric(a)``: positive means ``model_b`` is better. The
    two-sided p-value is ``2 × fraction of resampled differences on the other side of 0``,
    clipped to 1 (see :func:`textsiam.evaluation.bootstrap.paired_bootstrap`).

    Returns:
        ``{"dataset", "split", "task", "metric", "metric_a", "metric_b", "model_a", "model_b",
        "value_a", "value_b", "difference", "ci": {"low", "high"}, "p_value", "n_pairs",
        "thresholds" (classification), "n_resamples", "seed", "confidence"}``.
    """
    task = task_type(dataset)
    test = _columns(pairs if pairs is not None else load_pairs(dataset, split, data_dir), f"{dataset}/{split}")
    dev = None
    if task == TASK_CLASSIFICATION:
        dev = _columns(dev_pairs if dev_pairs is not None else load_pairs(dataset, "dev", data_dir), f"{dataset}/dev")
        gold = as_binary_labels(test[2])
        metric_fn: Callable[[np.ndarray, np.ndarray], float] = clf.accuracy_metric
        metric = "accuracy"
    elif task == TASK_STS:
        gold = as_scores(test[2], "gold scores")

        def metric_fn(g: np.ndarray, s: np.ndarray) -> float:
            return spearman(s, g)

        metric = "spearman"
    else:
        raise ValueError(f"unknown task type {task!r}")
    out: dict[str, Any] = {"dataset": dataset, "split": split, "task": task, "metric": metric}
    values = []
    thresholds = {}
    for tag, model in (("a", model_a), ("b", model_b)):
        _, primary = resolve_similarities(model, [], primary_similarity)
        s, thr = _primary_scores(model, task, test, dev, primary, batch_size, show_progress_bar)
        values.append(s)
        out[f"model_{tag}"] = model_name(model)
        out[f"metric_{tag}"] = primary_metric_name(task, primary)
        if thr is not None:
            thresholds[tag] = thr
    res = paired_bootstrap(
        metric_fn, gold, values[0], values[1], n_resamples, seed, confidence, show_progress_bar=show_progress_bar
    )
    out.update(
        value_a=res.value_a,
        value_b=res.value_b,
        difference=res.difference,
        ci={"low": res.low, "high": res.high},
        p_value=res.p_value,
        n_pairs=len(gold),
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
    )
    if thresholds:
        out["thresholds"] = thresholds
    return out
