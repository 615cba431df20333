"""Plots run headless (Agg) and draw something."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from textsiam import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def binary():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.clip(0.4 + 0.3 * y + rng.normal(0, 0.15, y.size), -1, 1)
    return s, y


def _drew(ax) -> bool:
    return bool(ax.lines or ax.patches or ax.collections or ax.images)


def test_score_histogram_binary_and_graded(binary):
    s, y = binary
    ax = plot.score_histogram(s, y)
    assert _drew(ax) and len(ax.get_legend().get_texts()) == 2
    gold = np.linspace(0, 5, s.size)
    ax = plot.score_histogram(s, gold, bins=20)
    assert len(ax.get_legend().get_texts()) == 5  # 0-1 ... 4-5, 5.0 in the last bin
    with pytest.raises(ValueError, match=r"scores and gold have different lengths \(\d+ and \d+\)"):
        plot.score_histogram(s, y[:-1])


def test_pr_and_roc_mark_the_threshold(binary):
    s, y = binary
    fig, axes = plt.subplots(1, 2)
    ax = plot.pr_curve(s, y, threshold=0.55, ax=axes[0])
    assert ax is axes[0] and len(ax.lines) == 3  # curve, chance line, threshold marker
    assert any("0.550" in t.get_text() for t in ax.get_legend().get_texts())
    ax = plot.roc_curve(s, y, threshold=0.55, ax=axes[1])
    assert len(ax.lines) == 3 and any("AUC" in t.get_text() for t in ax.get_legend().get_texts())
    fig.canvas.draw()
    with pytest.raises(ValueError, match="one class"):
        plot.roc_curve(s, np.ones_like(y))


def test_reliability_diagram_several_curves(binary):
    s, y = binary
    ax = plot.reliability_diagram({"raw": np.clip(s, 0, 1), "half": np.full(s.size, 0.5)}, y)
    assert len(ax.lines) == 3
    assert all("ECE" in t.get_text() for t in ax.get_legend().get_texts()[1:])
    ax = plot.reliability_diagram(np.clip(s, 0, 1), y, n_bins=10)
    ax.figure.canvas.draw()


def test_similarity_heatmap(tiny_model):
    texts = ["A man plays guitar.", "A person plays the guitar.", "Stocks fell <sharply> on Monday & Tuesday."]
    m = tiny_model.similarity_matrix(texts, texts)
    ax = plot.similarity_heatmap(m, texts, texts, max_label_chars=10)
    assert ax.images and len(ax.texts) == 9
    assert all(len(t.get_text()) <= 10 for t in ax.get_xticklabels())
    ax.figure.canvas.draw()
    with pytest.raises(ValueError, match="row_labels has 2 entries for 3 rows"):
        plot.similarity_heatmap(m, texts[:2], texts)


def test_embedding_projection(tiny_model):
    texts = ["a cat", "a dog", "stocks fell", "markets dropped", "guitar music"]
    emb = tiny_model.encode(texts)
    ax = plot.embedding_projection(emb, labels=["animal", "animal", "finance", "finance", "music"], texts=texts)
    assert len(ax.collections) == 3 and len(ax.texts) == 5 and "PC1" in ax.get_xlabel()
    ax.figure.canvas.draw()
    with pytest.raises(ValueError, match=r"embeddings must be \(N, D\) with N >= 2, got shape \(1, 32\)"):
        plot.embedding_projection(emb[:1])


def test_loss_curve():
    history = [
        {"step": 10, "loss": 1.2},
        {"step": 20, "loss": 0.9},
        {"step": 20, "eval_cosine_spearman": 80.1, "eval_runtime": 1.0},
        {"step": 30, "loss": 0.7},
    ]
    ax = plot.loss_curve(history)
    assert len(ax.lines) == 1 and len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match=r"log_history holds no 'loss' or 'eval_\*' entries"):
        plot.loss_curve([{"step": 1}])
