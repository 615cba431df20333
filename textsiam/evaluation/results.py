"""The :class:`EvaluationResults` record: rendering (markdown, JSON, pandas) and atomic saving."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textsiam.evaluation.bootstrap import MIN_CI_ITEMS
from textsiam.io_utils import atomic_open
from textsiam.version import package_versions

#: How the numbers were produced; stored with every result so a JSON file is self-describing.
PROTOCOL: dict[str, str] = {
    "units": "all metric values x100; thresholds in raw similarity units",
    "sts": "Pearson/Spearman (scipy) of model similarity vs gold ratings, per similarity function",
    "classification": (
        "predict positive iff score >= threshold; thresholds chosen on the dev split only (best accuracy, "
        "best F1; candidates = midpoints between distinct dev scores plus extremes) and applied unchanged "
        "to the evaluated split; AP and ROC-AUC are threshold-free (scikit-learn)"
    ),
    "retrieval": (
        "queries = questions in label-1 pairs; candidates = all unique questions of the split minus the "
        "query; relevant = direct label-1 partners; ties ranked pessimistically"
    ),
    "triplet": (
        "accuracy = share of (anchor, positive, negative) triplets with sim(anchor, positive) > sim(anchor, "
        "negative) + margin (strict, as sentence-transformers' TripletEvaluator), per similarity function"
    ),
    "paired_retrieval": (
        "queries = distinct anchors of label-free (anchor, positive) pairs; candidates = all distinct positives "
        "minus the query's own text; relevant = the query's positives; ties ranked pessimistically"
    ),
    "label_retrieval": (
        "queries = distinct texts whose class holds another text; candidates = all distinct texts minus the "
        "query; relevant = the other texts of its class; MAP over the full ranking; ties ranked pessimistically"
    ),
    "confidence_intervals": (
        "percentile bootstrap over pairs (queries for retrieval, triplets for triplets), numpy default_rng(seed); "
        f"classification metrics at the fixed thresholds; none (null) for fewer than {MIN_CI_ITEMS} pairs (queries)"
    ),
}
#: ``protocol["cross_encoder"]`` when some results are a cross-encoder's.
CROSS_ENCODER_PROTOCOL = (
    "a cross-encoder scores each (text_a, text_b) pair directly with model.predict (each distinct pair once), "
    "recorded as the similarity 'cross_encoder'; with several labels the score is the softmax probability of "
    "one label (the record's cross_encoder.positive_label); correlations, thresholds, triplet accuracy and "
    "bootstrap intervals as for similarity scores"
)
#: ``PROTOCOL["classification"]`` when some results chose their thresholds on the evaluated pairs (no dev pairs).
CLASSIFICATION_ON_EVALUATED = (
    "predict positive iff score >= threshold; thresholds (best accuracy, best F1; candidates = midpoints between "
    "distinct scores plus extremes) chosen {where}; AP and ROC-AUC are threshold-free (scikit-learn)"
)


def protocol_for(results: list[dict[str, Any]]) -> dict[str, str]:
    """:data:`PROTOCOL`, with the classification text saying where the thresholds of ``results`` were chosen.

    A classification record whose ``threshold_split`` is not ``dev`` (your own pairs without dev pairs) chose
    them on the evaluated pairs themselves, as sentence-transformers' ``BinaryClassificationEvaluator`` does. When a
    record is a cross-encoder's, the protocol also says how its scores were made (``cross_encoder``).
    """
    protocol = dict(PROTOCOL)
    if any("cross_encoder" in r for r in results):
        protocol["cross_encoder"] = CROSS_ENCODER_PROTOCOL
    clf = [r for r in results if r.get("task") == "classification" and "threshold_split" in r]
    own = [str(r.get("dataset")) for r in clf if r["threshold_split"] != "dev"]
    if own:
        where = "on the evaluated pairs themselves (no dev pairs; optimistic, as sentence-transformers' "
        where += "BinaryClassificationEvaluator)"
        if len(own) < len(clf):
            dev = "on the dev split and applied unchanged to the evaluated split"
            where = f"{dev}, except for {', '.join(own)}: {where}"
        protocol["classification"] = CLASSIFICATION_ON_EVALUATED.format(where=where)
    return protocol


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and paths to JSON types; NaN and inf become ``None``."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def _fmt(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


@dataclass
class EvaluationResults:
    """Results of :func:`textsiam.evaluation.evaluate` for one model over several datasets.

    Attributes:
        results: one dict per dataset, as returned by :meth:`textsiam.evaluation.base.PairEvaluator.evaluate`
            (keys ``dataset``, ``split``, ``task``, ``primary_metric``, ``primary_value``, ``metrics``,
            ``ci``, ``main_metrics``, ``wall_time_s``, ...).
        model: the model's ``name_or_path`` (or class name).
        split: the evaluated split.
        seed: bootstrap seed.
        n_resamples: bootstrap resamples.
        confidence: CI coverage.
        versions: package versions (see :func:`package_versions`).
        created: UTC timestamp (ISO 8601).
        wall_time_s: total wall time in seconds.
        protocol: plain-language description of how every number was computed.
    """

    results: list[dict[str, Any]]
    model: str | None = None
    split: str | None = None
    seed: int = 0
    n_resamples: int = 1000
    confidence: float = 0.95
    versions: dict[str, str] = field(default_factory=package_versions)
    created: str = field(default_factory=_utc_now)
    wall_time_s: float | None = None
    protocol: dict[str, str] = field(default_factory=lambda: dict(PROTOCOL))

    # ------------------------------------------------------------------------------ access
    def __getitem__(self, dataset: str) -> dict[str, Any]:
        """The result dict of ``dataset`` (the first one if it was evaluated twice)."""
        for res in self.results:
            if res["dataset"] == dataset:
                return res
        raise KeyError(f"no results for dataset {dataset!r}; have {self.datasets}")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def datasets(self) -> list[str]:
        """Evaluated dataset names, in order."""
        return [r["dataset"] for r in self.results]

    @property
    def primary(self) -> dict[str, float]:
        """``{dataset: primary metric value}``."""
        return {r["dataset"]: r["primary_value"] for r in self.results}

    # ------------------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN/inf become ``None``)."""
        return to_jsonable(
            {
                "model": self.model,
                "split": self.split,
                "seed": self.seed,
                "n_resamples": self.n_resamples,
                "confidence": self.confidence,
                "created": self.created,
                "wall_time_s": self.wall_time_s,
                "versions": self.versions,
                "protocol": self.protocol,
                "results": self.results,
            }
        )

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResults:
        """Inverse of :meth:`to_dict`."""
        kwargs = {k: data[k] for k in ("model", "split", "seed", "n_resamples", "confidence") if k in data}
        for key in ("versions", "created", "wall_time_s", "protocol"):
            if key in data:
                kwargs[key] = data[key]
        return cls(results=list(data.get("results", [])), **kwargs)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EvaluationResults:
        """Read a file written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def save(self, path: str | os.PathLike[str], overwrite: bool = True) -> Path:
        """Write :meth:`to_json` to ``path`` atomically (:func:`textsiam.io_utils.atomic_open`: a temporary file
        beside it, renamed into place; the umask decides the mode; ``overwrite=False`` refuses an existing file).

        Returns:
            The path written.
        """
        target = Path(path)
        with atomic_open(target, overwrite=overwrite) as fh:
            fh.write(self.to_json() + "\n")
        return target

    # ------------------------------------------------------------------------------ tables
    def rows(self, all_metrics: bool = True) -> list[dict[str, Any]]:
        """One row per (dataset, metric): dataset, split, task, metric, value, ci_low, ci_high, primary, and
        ci_undefined (why a bootstrapped metric has no interval, e.g. too few pairs; else ``None``)."""
        rows: list[dict[str, Any]] = []
        for res in self.results:
            metrics: dict[str, Any] = res.get("metrics", {})
            keys = list(metrics) if all_metrics else [k for k in res.get("main_metrics", metrics) if k in metrics]
            primary = res.get("primary_metric")
            if all_metrics and primary in keys:  # primary first
                keys.remove(primary)
                keys.insert(0, primary)
            for key in keys:
                ci = res.get("ci", {}).get(key) or {}
                rows.append(
                    {
                        "dataset": res.get("dataset"),
                        "split": res.get("split"),
                        "task": res.get("task"),
                        "metric": key,
                        "value": metrics[key],
                        "ci_low": ci.get("low"),
                        "ci_high": ci.get("high"),
                        "primary": key == primary,
                        "ci_undefined": ci.get("undefined"),
                    }
                )
        return rows

    def to_dataframe(self, all_metrics: bool = True) -> Any:
        """A :class:`pandas.DataFrame` with the columns of :meth:`rows` (NaN where no CI)."""
        import pandas as pd

        columns = ["dataset", "split", "task", "metric", "value", "ci_low", "ci_high", "primary"]
        df = pd.DataFrame(self.rows(all_metrics), columns=columns)
        for col in ("value", "ci_low", "ci_high"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        return df

    def to_markdown(self, all_metrics: bool = False, header: bool = True, digits: int = 2) -> str:
        """Markdown table ``| dataset | split | metric | value | 95% CI |``; the primary metric is bold.

        Args:
            all_metrics: every metric instead of the headline ones.
            header: prefix a line naming the model, seed and resamples.
            digits: decimals shown.
        """
        level = f"{100 * self.confidence:g}% CI"
        lines: list[str] = []
        if header:
            lines.append(
                f"**Model:** `{self.model}` · seed {self.seed} · {self.n_resamples} bootstrap resamples · "
                f"textsiam {self.versions.get('textsiam', '?')} · all values ×100\n"
            )
        lines.append(f"| dataset | split | metric | value | {level} |")
        lines.append("|---|---|---|---:|---:|")
        for row in self.rows(all_metrics):
            ci = "" if row["ci_low"] is None else f"[{_fmt(row['ci_low'], digits)}, {_fmt(row['ci_high'], digits)}]"
            if row["ci_undefined"] or ci == "[n/a, n/a]":  # no interval could be computed (too few pairs: notes)
                ci = "n/a"
            metric, value = row["metric"], _fmt(row["value"], digits)
            if row["primary"]:
                metric, value = f"**{metric}**", f"**{value}**"
            lines.append(f"| {row['dataset']} | {row['split']} | {metric} | {value} | {ci} |")
        notes = [(res.get("dataset"), note) for res in self.results for note in res.get("notes") or ()]
        if notes:
            lines.append("")
            lines.extend(f"* **Note ({dataset}):** {note}" for dataset, note in notes)
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        summary = ", ".join(f"{d}={_fmt(v, 2)}" for d, v in self.primary.items())
        return f"EvaluationResults(model={self.model!r}, split={self.split!r}, primary: {summary})"
