"""Plots for notebooks and reports (matplotlib, imported only when a function is called).

Every function draws on ``ax`` (a new figure when ``None``) and returns the :class:`matplotlib.axes.Axes`
(``ax.figure`` is the figure):

* :func:`score_histogram`: distribution of model scores per gold bin (STS) or per label (classification);
* :func:`pr_curve` / :func:`roc_curve`: with the dev-chosen threshold marked;
* :func:`reliability_diagram`: calibration of probabilities (equal-width bins) against the diagonal;
* :func:`similarity_heatmap`: a query x corpus similarity matrix;
* :func:`embedding_projection`: a 2-D PCA projection of embeddings;
* :func:`loss_curve`: training loss (and dev metric) from a ``transformers`` log history.

Install matplotlib with ``pip install "textsiam[notebooks]"`` (or ``pip install matplotlib``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "embedding_projection",
    "loss_curve",
    "pr_curve",
    "reliability_diagram",
    "roc_curve",
    "score_histogram",
    "similarity_heatmap",
]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            'textsiam.plot needs matplotlib: pip install "textsiam[notebooks]" (or pip install matplotlib)'
        ) from err
    return plt


def _axes(ax: Any, figsize: tuple[float, float] = (6.0, 4.0)) -> Any:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def _array(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _binary(labels: Any, n: int) -> np.ndarray:
    y = _array(labels, "labels")
    if y.size != n:
        raise ValueError(f"scores and labels have different lengths ({n} and {y.size})")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0/1")
    if y.min() == y.max():
        raise ValueError("labels hold only one class; the curve is undefined")
    return y.astype(np.int64)


def score_histogram(
    scores: Any,
    gold: Any,
    bins: int | Sequence[float] = 30,
    gold_bins: Sequence[float] | None = None,
    ax: Any = None,
    density: bool = True,
    title: str | None = None,
) -> Any:
    """Histogram of ``scores`` for each gold bin (overlaid, step outlines).

    Args:
        scores: ``(N,)`` model similarities.
        gold: ``(N,)`` gold labels: 0/1 (one histogram per label) or graded (binned by ``gold_bins``).
        bins: histogram bins of the scores (count or edges).
        gold_bins: edges of the gold bins for graded labels (default: unit-wide bins over the gold range,
            e.g. 0-1, 1-2, ..., 4-5 for STS-B). The last bin includes its upper edge.
        ax: axes to draw on.
        density: normalise each histogram (areas equal to 1) so bins of different sizes compare.
        title: axes title.
    """
    s = _array(scores, "scores")
    g = _array(gold, "gold")
    if s.size != g.size:
        raise ValueError(f"scores and gold have different lengths ({s.size} and {g.size})")
    ax = _axes(ax)
    edges = np.histogram_bin_edges(s, bins=bins)
    if np.all((g == 0) | (g == 1)):
        groups = [(f"label {int(v)} (n={int((g == v).sum())})", g == v) for v in (0, 1) if np.any(g == v)]
    else:
        if gold_bins is None:
            lo, hi = np.floor(g.min()), np.ceil(g.max())
            gold_bins = np.arange(lo, hi + 1.0) if hi > lo else np.array([lo, lo + 1.0])
        gb = np.asarray(gold_bins, dtype=np.float64)
        groups = []
        for i in range(len(gb) - 1):
            last = i == len(gb) - 2
            mask = (g >= gb[i]) & ((g <= gb[i + 1]) if last else (g < gb[i + 1]))
            if mask.any():
                groups.append((f"gold {gb[i]:g}-{gb[i + 1]:g} (n={int(mask.sum())})", mask))
    plt = _pyplot()
    if len(groups) <= 2:  # two labels: the two most distinct default colours
        colours = [plt.get_cmap("tab10")(i) for i in range(len(groups))]
    else:  # ordered gold bins: a sequential map without its palest end
        colours = [plt.get_cmap("viridis")(x) for x in np.linspace(0.0, 0.85, len(groups))]
    for (label, mask), colour in zip(groups, colours, strict=True):
        ax.hist(s[mask], bins=edges, density=density, histtype="step", linewidth=1.6, label=label, color=colour)
    ax.set_xlabel("model score")
    ax.set_ylabel("density" if density else "pairs")
    ax.legend(fontsize="small")
    ax.set_title(title or "Scores by gold bin")
    return ax


def _mark(ax: Any, x: float, y: float, threshold: float) -> None:
    ax.plot([x], [y], "o", color="crimson", markersize=8, zorder=5, label=f"dev threshold {threshold:.3f}")


def _threshold_curve(
    scores: Any,
    labels: Any,
    threshold: float | None,
    ax: Any,
    draw: Callable[[Any, np.ndarray, np.ndarray], None],
    point: Callable[[np.ndarray, np.ndarray], tuple[float, float]],
    axis_labels: tuple[str, str],
    legend_loc: str,
    title: str,
) -> Any:
    """A curve over binary ``labels``: ``draw(ax, s, y)`` draws it, ``point(pred, y)`` places the threshold mark."""
    s = _array(scores, "scores")
    y = _binary(labels, s.size)
    ax = _axes(ax, (5.0, 4.5))
    draw(ax, s, y)
    if threshold is not None:
        _mark(ax, *point(s >= threshold, y), threshold)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", loc=legend_loc)
    ax.set_title(title)
    return ax


def pr_curve(
    scores: Any,
    labels: Any,
    threshold: float | None = None,
    ax: Any = None,
    label: str | None = None,
    title: str | None = None,
) -> Any:
    """Precision-recall curve (scikit-learn) with average precision; ``threshold`` (e.g. chosen on dev) marked."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    def draw(ax: Any, s: np.ndarray, y: np.ndarray) -> None:
        precision, recall, _ = precision_recall_curve(y, s)
        ap = average_precision_score(y, s)
        ax.plot(recall, precision, label=f"{label or 'model'} (AP {100 * ap:.1f})")
        chance = f"chance ({100 * y.mean():.1f}% positive)"
        ax.axhline(y.mean(), color="grey", linestyle=":", linewidth=1, label=chance)

    def point(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        tp = float(np.sum(pred & (y == 1)))
        prec = tp / pred.sum() if pred.any() else 1.0
        return tp / y.sum(), prec

    return _threshold_curve(
        scores, labels, threshold, ax, draw, point, ("recall", "precision"), "lower left", title or "Precision-recall"
    )


def roc_curve(
    scores: Any,
    labels: Any,
    threshold: float | None = None,
    ax: Any = None,
    label: str | None = None,
    title: str | None = None,
) -> Any:
    """ROC curve (scikit-learn) with its AUC; ``threshold`` (e.g. chosen on dev) marked."""
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as _roc

    def draw(ax: Any, s: np.ndarray, y: np.ndarray) -> None:
        fpr, tpr, _ = _roc(y, s)
        auc = roc_auc_score(y, s)
        ax.plot(fpr, tpr, label=f"{label or 'model'} (AUC {100 * auc:.1f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")

    def point(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        return float(np.sum(pred & (y == 0)) / np.sum(y == 0)), float(np.sum(pred & (y == 1)) / y.sum())

    axis_labels = ("false positive rate", "true positive rate")
    return _threshold_curve(scores, labels, threshold, ax, draw, point, axis_labels, "lower right", title or "ROC")


def reliability_diagram(
    probs: Any,
    labels: Any,
    n_bins: int = 15,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Fraction of positives against mean predicted probability per equal-width bin, with each curve's ECE.

    Args:
        probs: ``(N,)`` probabilities in [0, 1], or ``{name: probs}`` for several curves (e.g. raw vs
            calibrated).
        labels: ``(N,)`` 0/1 labels.
        n_bins: equal-width bins over [0, 1].
        ax: axes to draw on.
        title: axes title.
    """
    from textsiam.model.calibrator import expected_calibration_error, reliability_curve

    curves = dict(probs) if isinstance(probs, Mapping) else {"model": probs}
    ax = _axes(ax, (5.0, 5.0))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    for name, p in curves.items():
        rc = reliability_curve(labels, p, n_bins)
        ece = expected_calibration_error(labels, p, n_bins)
        ax.plot(rc["mean_predicted"], rc["fraction_positive"], "o-", markersize=4, label=f"{name} (ECE {ece:.3f})")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("fraction of positives")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.legend(fontsize="small", loc="upper left")
    ax.set_title(title or f"Reliability ({n_bins} bins)")
    return ax


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def similarity_heatmap(
    matrix: Any,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    ax: Any = None,
    annotate: bool | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    max_label_chars: int = 40,
    title: str | None = None,
) -> Any:
    """Heatmap of a ``(Q, C)`` similarity matrix with text labels and a colour bar.

    Args:
        matrix: ``(Q, C)`` scores (e.g. :meth:`SiameseModel.similarity_matrix`).
        row_labels, col_labels: texts of the rows / columns (shortened to ``max_label_chars``).
        ax: axes to draw on.
        annotate: write each value in its cell (default: when the matrix has at most 15 x 15 cells).
        cmap, vmin, vmax: colour map and range (default: the data range).
        max_label_chars: labels longer than this are cut with an ellipsis.
        title: axes title.
    """
    m = np.asarray(matrix.detach().cpu().numpy() if hasattr(matrix, "detach") else matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {m.shape}")
    q, c = m.shape
    for labels, n, what in ((row_labels, q, "row_labels"), (col_labels, c, "col_labels")):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{what} has {len(labels)} entries for {n} {what.split('_')[0]}s")
    ax = _axes(ax, (1.6 + 0.55 * c + (0.08 * max_label_chars if row_labels is not None else 0), 1.2 + 0.45 * q))
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(c))
    ax.set_yticks(range(q))
    if col_labels is not None:
        ax.set_xticklabels([_short(t, max_label_chars) for t in col_labels], rotation=45, ha="right")
    if row_labels is not None:
        ax.set_yticklabels([_short(t, max_label_chars) for t in row_labels])
    if annotate is None:
        annotate = q <= 15 and c <= 15
    if annotate and m.size:
        lo, hi = np.nanmin(m), np.nanmax(m)
        mid = (lo + hi) / 2
        for i in range(q):
            for j in range(c):
                colour = "black" if m[i, j] > mid else "white"
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize="small", color=colour)
    ax.set_title(title or "Similarity")
    return ax


def embedding_projection(
    embeddings: Any,
    labels: Sequence[Any] | None = None,
    texts: Sequence[str] | None = None,
    ax: Any = None,
    max_label_chars: int = 30,
    seed: int = 0,
    title: str | None = None,
) -> Any:
    """Scatter of embeddings projected to 2-D with scikit-learn PCA.

    Args:
        embeddings: ``(N, D)`` embeddings (N >= 2).
        labels: optional group per point (colours and a legend).
        texts: optional text per point, written next to it (use for small N).
        ax: axes to draw on.
        max_label_chars: texts longer than this are cut.
        seed: PCA ``random_state``.
        title: axes title (default names the explained variance).
    """
    from sklearn.decomposition import PCA

    x = np.asarray(embeddings.detach().cpu().numpy() if hasattr(embeddings, "detach") else embeddings)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"embeddings must be (N, D) with N >= 2, got shape {x.shape}")
    n_comp = min(2, x.shape[1], x.shape[0])
    pca = PCA(n_components=n_comp, random_state=seed)
    xy = pca.fit_transform(x.astype(np.float64))
    if n_comp == 1:
        xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
    ax = _axes(ax, (6.0, 5.0))
    if labels is not None:
        if len(labels) != len(xy):
            raise ValueError(f"labels has {len(labels)} entries for {len(xy)} embeddings")
        groups = list(dict.fromkeys(labels))
        for group in groups:
            mask = np.array([lab == group for lab in labels])
            ax.scatter(xy[mask, 0], xy[mask, 1], s=25, label=str(group))
        ax.legend(fontsize="small")
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=25)
    if texts is not None:
        if len(texts) != len(xy):
            raise ValueError(f"texts has {len(texts)} entries for {len(xy)} embeddings")
        for (px, py), t in zip(xy, texts, strict=True):
            ax.annotate(
                _short(t, max_label_chars), (px, py), fontsize="x-small", xytext=(3, 3), textcoords="offset points"
            )
    var = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({100 * var[0]:.1f}%)")
    ax.set_ylabel(f"PC2 ({100 * var[1]:.1f}%)" if len(var) > 1 else "PC2")
    ax.set_title(title or f"PCA of embeddings ({100 * var.sum():.1f}% of variance)")
    return ax


def loss_curve(log_history: Sequence[Mapping[str, Any]], ax: Any = None, title: str | None = None) -> Any:
    """Training loss per step from a ``transformers`` log history (``TrainResult.log_history``); dev metrics
    (keys starting with ``eval_``) go on a second y axis."""
    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e and "step" in e]
    evals: dict[str, list[tuple[float, float]]] = {}
    for e in log_history:
        for key, value in e.items():
            if (
                key.startswith("eval_")
                and isinstance(value, (int, float))
                and not key.endswith(("runtime", "_per_second", "_loss"))
            ):
                evals.setdefault(key, []).append((e.get("step", np.nan), value))
    if not train and not evals:
        raise ValueError("log_history holds no 'loss' or 'eval_*' entries")
    ax = _axes(ax, (6.0, 4.0))
    if train:
        steps, losses = zip(*train, strict=True)
        ax.plot(steps, losses, "o-", markersize=3, label="training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    handles, names = ax.get_legend_handles_labels()
    if evals:
        ax2 = ax.twinx()
        for key, points in evals.items():
            xs, ys = zip(*points, strict=True)
            ax2.plot(xs, ys, "s--", color="darkorange", markersize=5, label=key)
        ax2.set_ylabel("dev metric")
        h2, n2 = ax2.get_legend_handles_labels()
        handles, names = handles + h2, names + n2
    ax.legend(handles, names, fontsize="small")
    ax.set_title(title or "Training")
    return ax
