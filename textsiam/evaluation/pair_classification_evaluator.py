"""Pair classification (MRPC, Quora, SICK-E binary): :class:`PairClassificationEvaluator`."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from textsiam.evaluation import classification as clf
from textsiam.evaluation import inputs
from textsiam.evaluation.base import PairEvaluator, PrimaryInputs, TaskResult
from textsiam.evaluation.cross_encoding import is_cross_encoder
from textsiam.evaluation.encoding import EncodedPairs
from textsiam.evaluation.inputs import PairData, pair_columns
from textsiam.evaluation.metrics import RETRIEVAL_DATASETS, TASK_CLASSIFICATION, as_binary_labels
from textsiam.evaluation.retrieval_evaluator import NoQueriesError, RetrievalEvaluator

logger = logging.getLogger(__name__)


class PairClassificationEvaluator(PairEvaluator):
    """Binary paraphrase / duplicate classification by thresholding the similarity.

    A pair is predicted positive iff ``sim(embed(a), embed(b)) >= t``. For every similarity function
    two thresholds are chosen on the **dev** pairs (best accuracy ``t_acc``, best F1 ``t_f1``,
    :func:`~textsiam.evaluation.classification.find_best_threshold`) and applied unchanged to the
    evaluated pairs, whose labels are only used to measure. Without dev pairs the thresholds are
    chosen on the evaluated pairs themselves, which makes the figures optimistic (fine as a
    model-selection signal, not as a test figure).

    Metrics per similarity ``sim`` (×100): ``{sim}_accuracy`` (at ``t_acc``), ``{sim}_f1`` (at
    ``t_f1``), ``{sim}_acc_thr_{accuracy,f1,precision,recall,mcc}``, ``{sim}_f1_thr_{...}`` and the
    threshold-free ``{sim}_ap`` and ``{sim}_roc_auc``. Primary metric: ``{primary}_accuracy``.
    Confidence intervals (percentile bootstrap over pairs, thresholds fixed): primary accuracy and F1.
    With ``retrieval`` the record also holds the duplicate-retrieval metrics of
    :class:`~textsiam.evaluation.retrieval_evaluator.RetrievalEvaluator` on the same embeddings.

    A cross-encoder's score (``predict``, see :mod:`textsiam.evaluation.cross_encoding`) is thresholded the same
    way, under the name ``cross_encoder`` (``cross_encoder_accuracy``, ...). It has no embeddings to rank with: the
    retrieval metrics a dataset adds by default (Quora) are left out, with a note; ``retrieval=True`` is an error.

    Args:
        pairs: pair table with 0/1 ``label`` values.
        dev_pairs: pair table that chooses the thresholds (default: ``pairs`` itself).
        retrieval: add duplicate-retrieval metrics (default: only for datasets named quora/qqp).
        transitive_relevance: retrieval relevance = connected component instead of direct partners.
        retrieval_chunk_size: retrieval queries per similarity-matrix chunk.
        **kwargs: see :class:`~textsiam.evaluation.base.PairEvaluator`.

    Example:
        >>> evaluator = PairClassificationEvaluator(test_df, dev_pairs=dev_df)  # doctest: +SKIP
        >>> metrics = evaluator(model)  # doctest: +SKIP
        >>> metrics[evaluator.primary_metric]  # doctest: +SKIP
        84.2
    """

    task = TASK_CLASSIFICATION
    primary_key = "accuracy"

    def __init__(
        self,
        pairs: Any,
        *,
        dev_pairs: Any = None,
        retrieval: bool | None = None,
        transitive_relevance: bool = False,
        retrieval_chunk_size: int = 256,
        **kwargs: Any,
    ) -> None:
        super().__init__(pairs, **kwargs)
        self.labels = as_binary_labels(self.pairs.labels, f"{self.name}/{self.split} labels")
        self.dev_pairs: PairData | None = None
        self.dev_labels = self.labels
        if dev_pairs is not None:
            self.dev_pairs = pair_columns(dev_pairs, f"{self.name}/dev")
            self.dev_labels = as_binary_labels(self.dev_pairs.labels, f"{self.name}/dev labels")
        self.retrieval: RetrievalEvaluator | None = None
        self.retrieval_requested = bool(retrieval)  # asked for, rather than a dataset's default
        if retrieval is None:
            retrieval = str(self.name).lower() in RETRIEVAL_DATASETS
        if retrieval:
            options = {**kwargs, "similarities": ()}  # ranked with the primary similarity only
            try:
                self.retrieval = RetrievalEvaluator(
                    self.pairs,
                    transitive_relevance=transitive_relevance,
                    retrieval_chunk_size=retrieval_chunk_size,
                    **options,
                )
            except NoQueriesError:
                logger.warning("%s/%s has no label-1 pairs: skipping retrieval", self.name, self.split)

    @classmethod
    def dataset_defaults(cls, name: str, data_dir: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``kwargs`` with the registered dataset's dev split as ``dev_pairs`` unless given."""
        out = dict(kwargs)
        if out.get("dev_pairs") is None and inputs.is_registered(name):
            out["dev_pairs"] = inputs.load_pairs(name, "dev", data_dir)
        return out

    def check_model(self, model: Any) -> None:
        """The base class's checks, and no cross-encoder when retrieval metrics were asked for (``retrieval=True``).

        Raises:
            ValueError: see :meth:`PairEvaluator.check_model`; a cross-encoder with ``retrieval=True``.
        """
        super().check_model(model)
        if is_cross_encoder(model) and self.retrieval is not None and self.retrieval_requested:
            raise ValueError(
                f"{self.name}/{self.split}: retrieval=True ranks the questions by their embeddings, and a "
                "cross-encoder has none: evaluate it with retrieval=False (or unset)"
            )

    def pair_sets(self) -> list[PairData]:
        """The evaluated pairs, then the dev pairs (if any)."""
        return [self.pairs] if self.dev_pairs is None else [self.pairs, self.dev_pairs]

    @staticmethod
    def primary_fn(gold: np.ndarray, values: np.ndarray) -> float:
        """Accuracy ×100 of 0/1 predictions ``values`` against 0/1 ``gold``."""
        return clf.accuracy_metric(gold, values)

    def warn_if_optimistic(self) -> None:
        """Log that the figures are optimistic when the evaluated pairs also chose the thresholds."""
        if self.dev_pairs is None:
            logger.warning(
                "%s/%s: no dev pairs, thresholds chosen on the evaluated pairs: figures are optimistic",
                self.name,
                self.split,
            )
        elif self.split in ("dev", "all"):
            logger.warning(
                "%s/%s contains the dev pairs that choose the thresholds: figures are optimistic", self.name, self.split
            )

    def notes(self, result: TaskResult) -> list[str]:
        """The base class's notes, and where the thresholds were chosen when no dev pairs were given."""
        notes = super().notes(result)
        if self.retrieval is not None and "retrieval" not in result.info:
            notes.append("no duplicate-retrieval metrics: a cross-encoder has no embeddings to rank the texts with")
        if self.dev_pairs is None:
            notes.append(
                "thresholds chosen on the evaluated pairs themselves (no dev pairs), as sentence-transformers' "
                "BinaryClassificationEvaluator does: the figures are optimistic"
            )
        return notes

    def compute(self, encoded: EncodedPairs, similarities: list[str], primary: str) -> TaskResult:
        """Dev-chosen thresholds and the metrics at them, for every similarity; CIs for the primary one."""
        self.warn_if_optimistic()
        scores = encoded.scores[0]
        dev_scores = encoded.scores[-1]  # the evaluated pairs themselves when there is no dev set
        metrics: dict[str, float] = {}
        thresholds: dict[str, dict[str, float]] = {}
        for sim in similarities:
            res = clf.pair_classification_metrics(dev_scores[sim], self.dev_labels, scores[sim], self.labels)
            metrics.update({f"{sim}_{k}": v for k, v in res["metrics"].items()})
            thresholds[sim] = res["thresholds"]
        pred_acc = (scores[primary] >= thresholds[primary]["accuracy"]).astype(np.int64)
        pred_f1 = (scores[primary] >= thresholds[primary]["f1"]).astype(np.int64)
        fns = {
            f"{primary}_accuracy": lambda y, pa, pf: clf.accuracy_metric(y, pa),
            f"{primary}_f1": lambda y, pa, pf: clf.f1_metric(y, pf),
        }
        result = TaskResult(
            metrics=metrics,
            ci=self.bootstrap(fns, self.labels, pred_acc, pred_f1),
            info={
                "thresholds": thresholds,
                "threshold_split": self.split if self.dev_pairs is None else "dev",
                "n_dev_pairs": len(self.dev_labels),
                "n_positive": int(self.labels.sum()),
            },
            main_metrics=[
                f"{primary}_{key}" for key in ("accuracy", "f1", "acc_thr_precision", "acc_thr_recall", "acc_thr_mcc")
            ]
            + [f"{primary}_ap", f"{primary}_roc_auc"],
        )
        for sim in similarities:
            if sim != primary:
                result.main_metrics += [f"{sim}_accuracy", f"{sim}_f1"]
        if self.retrieval is not None and encoded.embeddings is None:  # a cross-encoder: nothing to rank with
            logger.warning("%s/%s: a cross-encoder has no embeddings: no retrieval metrics", self.name, self.split)
        elif self.retrieval is not None:
            extra = self.retrieval.compute(encoded, [primary], primary)
            result.metrics.update(extra.metrics)
            result.ci.update(extra.ci)
            result.info.update(extra.info)
            result.main_metrics += extra.main_metrics
        return result

    def primary_inputs(self, model: Any) -> PrimaryInputs:
        """The labels and the model's 0/1 predictions at its best-accuracy dev threshold."""
        _, primary = self.resolve(model)
        encoded = self.encode(model, [primary])
        threshold = clf.find_best_threshold(encoded.scores[-1][primary], self.dev_labels, metric="accuracy")
        predictions = (encoded.scores[0][primary] >= threshold).astype(np.int64)
        return PrimaryInputs(primary, self.labels, predictions, threshold)
