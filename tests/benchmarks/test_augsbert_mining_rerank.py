"""``python -m benchmarks.augsbert_mining_rerank``: the gold duplicates (transitive closure, explicit labels), the
ranking metrics on hand-made candidates, the paired bootstrap and the goal, and a smoke run (a tiny random twin tower
mines 300 Quora test questions, a tiny random cross-encoder re-ranks them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

GOLD = np.array([1, 1, 0, 0, 0, 0])
PERFECT = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_mining_rerank")


def test_gold_is_the_transitive_closure_where_no_label_says_otherwise(bench: Any) -> None:
    rows = [("q1", "q2", 1), ("q2", "q3", 1), ("q4", "q5", 0), ("q5", "q6", 1), ("q6", "q7", 1), ("q5", "q7", 0)]
    rows += [("q8", "q8", 1), ("q3", "q2", 0)]  # a self-pair; a pair labelled both ways (1 wins)
    a, b, y = zip(*rows, strict=True)
    corpus = bench.build_corpus(list(a), list(b), list(y), seen_texts={"q1"})
    assert corpus.questions == [f"q{i}" for i in range(1, 9)]
    assert corpus.n_pairs == 8 and corpus.n_self_pairs == 1
    assert corpus.conflicts() == [(4, 6)]  # q5~q7 by closure, but labelled 0: the label wins
    assert corpus.n_gold() == 3 + 3 - 1  # {q1, q2, q3}: 3 pairs; {q5, q6, q7}: 3 less the labelled 0
    assert corpus.n_labelled_duplicates() == 4
    assert corpus.n_gold(~corpus.seen) == 1 + 2  # without q1: q2~q3, and the q5-q6-q7 cluster
    assert corpus.seen.tolist() == [True] + [False] * 7
    gold, labelled = bench.gold_of(corpus, np.array([[0, 2], [4, 6], [3, 4], [0, 3], [1, 0], [2, 1]]))
    assert gold.tolist() == [1, 0, 0, 0, 1, 1]  # (q1, q3) by closure; (q2, q1) in either order
    assert labelled.tolist() == [False, True, True, False, True, True]


def test_metrics_of_a_perfect_and_a_reversed_ranking(bench: Any) -> None:
    assert bench.average_precision(GOLD, PERFECT) == pytest.approx(1.0)
    assert bench.average_precision(GOLD, -PERFECT) == pytest.approx((1 / 5 + 2 / 6) / 2)
    for r in bench.RECALL_LEVELS:
        assert bench.precision_at_recall(GOLD, PERFECT, r) == pytest.approx(1.0)
    assert bench.precision_at_recall(GOLD, -PERFECT, 0.25) == pytest.approx(1 / 5)  # the first duplicate at rank 5
    assert bench.precision_at_recall(GOLD, -PERFECT, 0.75) == pytest.approx(2 / 6)
    assert bench.precision_at_recall(GOLD, np.ones(6), 0.25) == pytest.approx(2 / 6)  # ties go together
    assert np.isnan(bench.precision_at_recall(GOLD, PERFECT, 1.5))
    assert np.isnan(bench.precision_at_recall(np.zeros(6), PERFECT, 0.5))
    assert np.isnan(bench.average_precision(np.zeros(6), PERFECT))
    assert bench.f1_max(GOLD, PERFECT, 2) == pytest.approx(1.0)
    assert bench.f1_max(GOLD, PERFECT, 4) == pytest.approx(2 * 0.5 / 1.5)  # the budget holds half the duplicates
    assert bench.f1_max(GOLD, -PERFECT, 2) == pytest.approx(2 * (2 / 6) / (1 + 2 / 6))

    got = bench.ranking_metrics(GOLD, -PERFECT, 4)  # 4 gold duplicates, 2 in the budget
    assert got["precision_at_recall"] == pytest.approx({"0.25": 1 / 5, "0.5": 1 / 5, "0.75": 2 / 6})
    assert got["precision_at_recall_of_all"]["0.25"] == pytest.approx(1 / 5)  # recall 0.5 of the budget's
    assert got["precision_at_recall_of_all"]["0.5"] == pytest.approx(2 / 6)
    assert got["precision_at_recall_of_all"]["0.75"] is None  # out of the budget's reach


def test_paired_bootstrap_and_goal(bench: Any) -> None:
    gold = np.tile(GOLD, 10)
    perfect = np.tile(PERFECT, 10) + np.repeat(np.arange(10) * 0.01, 6)
    better = bench.subset_report(gold, -perfect, perfect, 30, n_resamples=100, seed=0)
    assert better["candidates"] == 60 and better["duplicates"] == 20 and better["recall"] == pytest.approx(20 / 30)
    assert better["cross_encoder"]["ap"] == pytest.approx(1.0) and better["twin"]["ap"] < 0.5
    names = {"ap", *(f"precision_at_recall_{r:g}" for r in bench.RECALL_LEVELS)}
    assert set(better["comparisons"]) == names
    for comp in better["comparisons"].values():
        assert comp["difference"] > 0.5 and comp["ci"]["low"] > 0 and comp["p_value"] < bench.ALPHA
    assert bench.goal({"all": better, "labelled": better})["met"] is True

    worse = bench.subset_report(gold, perfect, -perfect, 30, n_resamples=100, seed=0)
    assert all(c["difference"] < 0 for c in worse["comparisons"].values())
    assert bench.goal({"all": better, "labelled": worse})["met"] is False
    tie = bench.subset_report(gold, perfect, perfect, 30, n_resamples=50, seed=0)
    assert all(c["difference"] == 0 and c["p_value"] == 1.0 for c in tie["comparisons"].values())
    assert bench.goal({"all": better, "labelled": tie})["met"] is False  # no gain is not a gain
    partial = bench.goal({"all": better})
    assert partial["met"] is None and [c["met"] for c in partial["checks"]] == [True] * 3 + [None] * 3
    empty = bench.subset_report(np.zeros(6, dtype=int), PERFECT, -PERFECT, 0, n_resamples=50, seed=0)
    assert empty["comparisons"] == {} and empty["recall"] is None


def test_the_mixed_ranking_is_compared_and_judged_like_the_cross_encoder(bench: Any) -> None:
    gold = np.tile(GOLD, 10)
    perfect = np.tile(PERFECT, 10) + np.repeat(np.arange(10) * 0.01, 6)
    report = bench.subset_report(gold, -perfect, -perfect, 30, n_resamples=50, seed=0, fused=perfect)
    assert report["fused"]["ap"] == pytest.approx(1.0) and report["cross_encoder"]["ap"] < 0.5
    assert all(c["difference"] > 0.5 and c["p_value"] < bench.ALPHA for c in report["fused_comparisons"].values())
    assert all(c["difference"] == 0 for c in report["comparisons"].values())  # the cross-encoder is the twin here
    subsets = {"all": report, "labelled": report}
    assert bench.goal(subsets, "fused")["met"] is True and bench.goal(subsets)["met"] is False
    assert bench.goal(subsets, "fused")["ranking"] == "fused"


def test_the_twin_weight_chosen_on_dev_has_the_largest_smallest_gain(bench: Any) -> None:
    from types import SimpleNamespace

    # 12 questions, 6 labelled pairs (3 duplicates), 12 candidates: the labelled pairs and 6 unlabelled ones
    a = [f"q{i}" for i in range(0, 12, 2)]
    b = [f"q{i}" for i in range(1, 12, 2)]
    corpus = bench.build_corpus(a, b, [1, 0, 1, 0, 1, 0])
    pairs = np.array(
        [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [0, 2], [0, 4], [1, 6], [3, 8], [5, 10], [7, 9]]
    )
    gold = bench.gold_of(corpus, pairs)[0]
    assert gold.tolist() == [1, 0, 1, 0, 1, 0] + [0] * 6
    good = gold * 10.0 + np.arange(12)[::-1] * 0.1  # duplicates first, then the rest

    def run(twin: np.ndarray, cross: np.ndarray) -> SimpleNamespace:
        return SimpleNamespace(pairs=pairs, scores=twin, rerank_scores=cross)

    cross_wins = bench.choose_twin_weight(corpus, run(-good, good), [0.0, 0.5, 1.0])
    assert cross_wins["chosen"] == 0.0 and [r["twin_weight"] for r in cross_wins["weights"]] == [0.0, 0.5, 1.0]
    assert cross_wins["weights"][0]["min_gain"] > 0 and cross_wins["weights"][2]["min_gain"] == 0.0
    twin_wins = bench.choose_twin_weight(corpus, run(good, -good), [0.0, 0.5, 1.0])
    assert twin_wins["chosen"] == 1.0  # no weight gains; ordering by the twin alone loses nothing
    # the two err on different pairs: the cross-encoder puts the unlabelled pairs first, the twin one duplicate low
    twin = good.copy()
    twin[4] = 0.0
    cross = good.copy()
    cross[6:] += 12.0
    mixed = bench.choose_twin_weight(corpus, run(twin, cross), [0.0, 0.5, 1.0])
    assert mixed["chosen"] == 0.5 and mixed["weights"][1]["min_gain"] == 0.0 and mixed["weights"][1]["mean"] > 0
    assert mixed["weights"][0]["min_gain"] < 0  # the cross-encoder alone loses on all candidates
    assert mixed["weights"][2]["mean"] == 0.0  # the twin alone gains nothing: the mix wins on the mean gain
    twin[4], cross[6:] = -5.0, good[6:] + 5.0  # now the cross-encoder alone and the mix gain as much: the smaller
    tie = bench.choose_twin_weight(corpus, run(twin, cross), [0.0, 0.5, 1.0])
    assert tie["weights"][0]["mean"] == tie["weights"][1]["mean"] > 0 and tie["chosen"] == 0.0


def test_arguments(bench: Any, capsys: pytest.CaptureFixture[str]) -> None:
    args = bench.parse_args(["--cross-encoder", "ce", "--smoke", "--max-questions", "1000"])
    assert args.max_questions == bench.SMOKE_QUESTIONS and args.n_resamples == bench.SMOKE_RESAMPLES
    assert args.top_k == 5 and args.budget is None and args.twin is None
    assert args.results_dir.parts[-2:] == ("results", "augsbert")
    with pytest.raises(SystemExit, match="^2$"):
        bench.parse_args(["--cross-encoder", "ce", "--budget", "0"])
    assert "--budget must be a positive integer" in capsys.readouterr().err
    assert args.twin_weights == list(bench.TWIN_WEIGHTS) and bench.TWIN_WEIGHTS[0] == 0.0
    with pytest.raises(SystemExit, match="^2$"):
        bench.parse_args(["--cross-encoder", "ce", "--twin-weights", "0.5", "1.5"])
    assert "--twin-weights must lie in [0, 1]" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_run(
    bench: Any, tiny_model_dir: Path, default_tokenizer: Any, data_dir: str, tmp_path: Path, one_torch_thread: None
) -> None:
    from cross_encoders import make_tiny_cross_encoder

    ce = tmp_path / "ce"
    make_tiny_cross_encoder(default_tokenizer).save(ce)
    results = tmp_path / "results"
    argv = ["--cross-encoder", str(ce), "--twin", str(tiny_model_dir), "--data-dir", data_dir, "--smoke"]
    payload = bench.main([*argv, "--n-resamples", "20", "--results-dir", str(results)])

    saved = json.loads((results / "mining_rerank_smoke.json").read_text(encoding="utf-8"))
    assert {"date", "command", "machine", "versions", "settings", "data", "costs", "subsets", "goal"} <= set(saved)
    assert saved["subsets"] == payload["subsets"] and saved["machine"]["cpu"]
    data, costs = saved["data"], saved["costs"]
    assert 250 <= data["questions"] <= bench.SMOKE_QUESTIONS and costs["questions"] == data["questions"]
    assert data["gold_duplicates"] >= data["labelled_duplicates"] > 0
    assert costs["budget"] == costs["candidates"] == data["questions"] < costs["mined_candidates"]
    assert costs["rerank"]["wall_s"] > 0 and costs["rerank"]["cpu_s"] > 0
    per = costs["rerank_per_1000_candidates"]["wall_s"]
    assert per == pytest.approx(1000 * costs["rerank"]["wall_s"] / costs["candidates"])
    subsets = saved["subsets"]
    assert set(subsets) == set(bench.SUBSETS) and subsets["all"]["candidates"] == costs["candidates"]
    assert subsets["labelled"]["candidates"] <= subsets["all"]["candidates"]
    assert subsets["all"]["gold_duplicates"] == data["gold_duplicates"]
    assert subsets["all"]["duplicates"] > 0 and len(subsets["all"]["comparisons"]) == 4
    assert saved["goal"]["met"] in (True, False, None) and len(saved["goal"]["checks"]) == 6
    dev = saved["dev"]
    assert [row["twin_weight"] for row in dev["weights"]] == list(bench.TWIN_WEIGHTS)
    assert saved["twin_weight"] == dev["chosen"] and 250 <= dev["questions"] <= bench.SMOKE_QUESTIONS
    assert saved["goal"]["ranking"] == ("fused" if dev["chosen"] > 0 else "cross_encoder")
    assert ("fused" in subsets["all"]) == (dev["chosen"] > 0)
    text = (results / "mining_rerank_smoke.md").read_text(encoding="utf-8")
    assert "paired bootstrap" in text and "re-ranking" in text and "P@R 0.5 budget" in text
    assert "The twin tower's weight, chosen on dev" in text and "(chosen)" in text
    assert "re-ranking raises the precision of mined Quora duplicates at the same recall" in text
