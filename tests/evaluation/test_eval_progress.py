"""#24 item 7: ``evaluate()`` shows progress bars only for long work."""

from __future__ import annotations

from textsiam.evaluation import evaluate
from textsiam.evaluation.base import PROGRESS_MIN_PAIRS
from textsiam.evaluation.sts_evaluator import STSEvaluator

PAIRS = {
    "sentence1": ["A man plays a guitar.", "A cat sits.", "Stocks fell.", "How do I learn Python?"],
    "sentence2": ["A man is playing guitar.", "Stocks rose.", "Markets dropped.", "How can I learn Python?"],
    "score": [4.8, 0.2, 3.9, 4.6],
}


def test_a_short_evaluation_shows_no_progress_bar_by_default(tiny_model, capsys):
    evaluate(tiny_model, PAIRS, task="sts", n_resamples=50)
    assert capsys.readouterr().err == ""
    evaluate(tiny_model, PAIRS, task="sts", n_resamples=50, show_progress_bar=True)  # asked for: shown
    assert "Encoding" in capsys.readouterr().err


def test_long_evaluations_show_bars_by_default():
    short = STSEvaluator(PAIRS, show_progress_bar=None)
    many = {k: v * (PROGRESS_MIN_PAIRS // 4) for k, v in PAIRS.items()}
    assert not short.progress and STSEvaluator(many, show_progress_bar=None).progress
    assert STSEvaluator(PAIRS, show_progress_bar=True).progress and not STSEvaluator(many).progress
