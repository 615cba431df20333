"""#24 items 6-7: results say when they mean little (too few pairs, no interval) and where thresholds were chosen."""

from __future__ import annotations

import json
import logging
import math

import pytest

from textsiam.evaluation import STSEvaluator, evaluate
from textsiam.evaluation.bootstrap import MIN_CI_ITEMS, MIN_RELIABLE_PAIRS
from textsiam.evaluation.results import PROTOCOL, EvaluationResults

from .helpers import HashingEncoder, make_pairs_clf, make_sts

TWO_PAIRS = {
    "sentence1": ["A man plays a guitar.", "It rains."],
    "sentence2": ["A man plays.", "Sun."],
    "score": [4.8, 0.2],
}


def test_two_pairs_have_no_interval_and_a_note(caplog):
    """2 STS pairs reported Spearman 100.00 [100.00, 100.00] without a word: a bootstrap of 2 items is degenerate."""
    with caplog.at_level(logging.WARNING, logger="textsiam.evaluation"):
        results = evaluate(HashingEncoder(), {"mine": TWO_PAIRS}, task="sts", n_resamples=200, show_progress_bar=False)
    record = results["mine"]
    ci = record["ci"]["cosine_spearman"]
    assert math.isnan(ci["low"]) and math.isnan(ci["high"])
    assert ci["undefined"] == f"only 2 pairs to resample, fewer than {MIN_CI_ITEMS}"
    assert record["notes"] == [
        f"only 2 pairs (fewer than {MIN_RELIABLE_PAIRS}): the metrics and their intervals say little",
        f"no confidence interval: only 2 pairs to resample, fewer than {MIN_CI_ITEMS}",
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("only 2 pairs (fewer than 30)" in w for w in warnings)
    assert any("no confidence interval" in w for w in warnings)
    table = results.to_markdown()
    assert "| mine | test | **cosine_spearman** |" in table and "| n/a |" in table and "[100.00" not in table
    assert "* **Note (mine):** only 2 pairs" in table
    saved = json.loads(results.to_json())["results"][0]  # strict JSON: the undefined interval is null
    assert saved["ci"]["cosine_spearman"]["low"] is None and saved["notes"] == record["notes"]
    assert "n/a" in EvaluationResults.from_dict(json.loads(results.to_json())).to_markdown()


def test_between_the_limits_an_interval_and_a_note():
    record = STSEvaluator(make_sts(20, 3), n_resamples=100).evaluate(HashingEncoder())
    ci = record["ci"]["cosine_spearman"]
    assert math.isfinite(ci["low"]) and "undefined" not in ci
    assert record["notes"] == [
        f"only 20 pairs (fewer than {MIN_RELIABLE_PAIRS}): the metrics and their intervals say little"
    ]


def test_enough_pairs_have_no_notes():
    record = STSEvaluator(make_sts(60, 3), n_resamples=50).evaluate(HashingEncoder())
    assert "notes" not in record and math.isfinite(record["ci"]["cosine_spearman"]["low"])


def test_without_resamples_only_the_few_pairs_note():
    record = STSEvaluator(TWO_PAIRS, n_resamples=0).evaluate(HashingEncoder())
    assert record["ci"] == {} and len(record["notes"]) == 1 and record["notes"][0].startswith("only 2 pairs")


# ---------------------------------------------------------------------------------------------- thresholds (item 7)
def test_protocol_says_thresholds_were_chosen_on_the_evaluated_pairs():
    """Without dev pairs the thresholds come from the evaluated pairs (as in sentence-transformers): the JSON's
    protocol said "chosen on the dev split only" all the same."""
    pairs = make_pairs_clf(60, 5)
    results = evaluate(HashingEncoder(), {"own": pairs}, task="classification", n_resamples=0, show_progress_bar=False)
    text = results.protocol["classification"]
    assert "dev split only" not in text and "chosen on the evaluated pairs themselves (no dev pairs" in text
    assert results["own"]["threshold_split"] == "test"
    assert results["own"]["notes"] == [
        "thresholds chosen on the evaluated pairs themselves (no dev pairs), as sentence-transformers' "
        "BinaryClassificationEvaluator does: the figures are optimistic"
    ]
    assert json.loads(results.to_json())["protocol"]["classification"] == text
    # with dev pairs: the dev protocol, and no note
    with_dev = evaluate(
        HashingEncoder(),
        {"own": pairs},
        task="classification",
        dev_pairs=make_pairs_clf(60, 6),
        n_resamples=0,
        show_progress_bar=False,
    )
    assert with_dev.protocol == PROTOCOL and "notes" not in with_dev["own"]


def test_protocol_names_the_sets_without_dev_pairs(fake_data):
    from textsiam.evaluation.results import protocol_for

    own = {"dataset": "own", "task": "classification", "threshold_split": "test"}
    mrpc = {"dataset": "mrpc", "task": "classification", "threshold_split": "dev"}
    text = protocol_for([mrpc, own])["classification"]
    assert (
        "chosen on the dev split and applied unchanged to the evaluated split, except for own: on the evaluated" in text
    )
    assert protocol_for([mrpc]) == PROTOCOL


def test_cli_evaluate_two_pairs_notes_in_json_and_table(tmp_path, monkeypatch, capsys):
    from textsiam.cli import common, main

    monkeypatch.setattr(common, "load_model", lambda args: HashingEncoder())

    path = tmp_path / "two.tsv"
    path.write_text("text_a\ttext_b\tlabel\nA man plays.\tA man is playing.\t4.8\nRain.\tSun.\t0.2\n", encoding="utf-8")
    out = tmp_path / "results.json"
    argv = ["evaluate", "--pairs", str(path), "--task", "sts", "--n-resamples", "50"]
    assert main([*argv, "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "* **Note (two):** only 2 pairs" in captured.out
    assert "WARNING" in captured.err and "only 2 pairs (fewer than 30)" in captured.err
    record = json.loads(out.read_text(encoding="utf-8"))["results"][0]
    assert record["ci"]["cosine_spearman"]["low"] is None and record["notes"][0].startswith("only 2 pairs")


@pytest.mark.parametrize("n", [MIN_CI_ITEMS - 1, MIN_CI_ITEMS])
def test_interval_limit(n):
    ci = STSEvaluator(make_sts(n, 7), n_resamples=50).evaluate(HashingEncoder())["ci"]["cosine_spearman"]
    assert ("undefined" in ci) == (n < MIN_CI_ITEMS)
