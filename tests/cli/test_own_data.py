"""Your own data through the CLI, with sentence-transformers' column names (#17 item 5)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from textsiam.cli import main

WORDS = "cat dog man woman guitar plays sits mat stocks fell market rain sun park runs eats".split()


def _write(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _sts_rows(n: int, offset: int = 0) -> list[tuple[str, str, float]]:
    rows = []
    for i in range(n):
        a = " ".join(WORDS[(i + offset + k) % len(WORDS)] for k in range(5))
        k = i % 6
        b = " ".join(a.split()[:k] + [WORDS[(i * 7 + j) % len(WORDS)] for j in range(5 - k)])
        rows.append((a, b, round(k + 0.1 * (i % 3), 2)))
    return rows


def test_evaluate_pairs_with_sentence_transformers_columns(tiny_model_dir, tmp_path, capsys):
    path = _write(tmp_path / "my_eval.csv", ["sentence1", "sentence2", "score"], _sts_rows(30))
    out = tmp_path / "results.json"
    code = main(
        [
            "evaluate",
            "--pairs",
            str(path),
            "--task",
            "sts",
            "-m",
            str(tiny_model_dir),
            "--n-resamples",
            "0",
            "-o",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    stdout = capsys.readouterr().out
    assert "my_eval" in stdout and "spearman" in stdout
    record = json.loads(out.read_text())["results"][0]
    assert record["dataset"] == "my_eval" and record["task"] == "sts" and record["n_pairs"] == 30


def test_evaluate_classification_pairs_with_dev_pairs_and_inferred_task(tiny_model_dir, tmp_path, capsys):
    rows = [(a, b if i % 2 else a, i % 2 == 0 and 1 or 0) for i, (a, b, _) in enumerate(_sts_rows(24))]
    test = _write(tmp_path / "dups.csv", ["question1", "question2", "is_duplicate"], rows)
    dev = _write(tmp_path / "dups_dev.csv", ["question1", "question2", "is_duplicate"], rows[::-1])
    code = main(
        [
            "evaluate",
            "--pairs",
            str(test),
            "--dev-pairs",
            str(dev),
            "-m",
            str(tiny_model_dir),
            "--n-resamples",
            "0",
            "-q",
        ]
    )
    assert code == 0
    assert "accuracy" in capsys.readouterr().out  # task inferred from the 0/1 labels


def test_evaluate_named_columns_and_clear_errors(tiny_model_dir, tmp_path, capsys):
    path = _write(tmp_path / "odd.csv", ["left", "right", "gold"], _sts_rows(12))
    base = ["evaluate", "--pairs", str(path), "-m", str(tiny_model_dir), "--n-resamples", "0", "-q"]
    assert main([*base, "--text-a-column", "left", "--text-b-column", "right", "--label-column", "gold"]) == 0
    capsys.readouterr()
    assert main(base) == 2
    assert "textsiam evaluate: error:" in capsys.readouterr().err
    assert main(["evaluate", "--datasets", "stsb", "--task", "sts", "-m", str(tiny_model_dir)]) == 2
    assert "--task applies to --pairs" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("header", "make", "metric"),
    [
        (
            ["anchor", "positive", "negative"],
            lambda rows: [(a, b, rows[(i + 5) % len(rows)][1]) for i, (a, b, _) in enumerate(rows)],
            "accuracy",
        ),
        (["anchor", "positive"], lambda rows: [(a, b) for a, b, _ in rows], "mrr@10"),
        (["text", "label"], lambda rows: [(a, i % 3) for i, (a, _, _) in enumerate(rows)], "map"),
    ],
)
def test_evaluate_every_st_format_with_the_task_from_its_columns(
    header, make, metric, tiny_model_dir, tmp_path, capsys
):
    path = _write(tmp_path / "mine.csv", header, make(_sts_rows(18)))
    out = tmp_path / "r.json"
    base = ["evaluate", "--pairs", str(path), "-m", str(tiny_model_dir), "--n-resamples", "0", "-q", "-o", str(out)]
    assert main(base) == 0
    record = json.loads(out.read_text())["results"][0]
    expected = {3: "triplet", 2: "paired_retrieval"}.get(len(header)) if header[0] != "text" else "label_retrieval"
    assert record["task"] == expected
    assert record["primary_metric"].endswith(metric)
    assert metric in capsys.readouterr().out


@pytest.mark.slow
def test_train_on_a_csv_with_sentence_transformers_columns(tiny_model_dir, tmp_path, capsys):
    train = _write(tmp_path / "train.csv", ["sentence1", "sentence2", "score"], _sts_rows(40))
    dev = _write(tmp_path / "dev.csv", ["sentence1", "sentence2", "score"], _sts_rows(20, offset=3))
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "-q",
            "--output-dir",
            str(out),
            "--set",
            f"model={tiny_model_dir}",
            f"train_dataset={train}",
            f"dev_dataset={dev}",
            "test_datasets=[]",
            "epochs=1",
            "batch_size=8",
            "n_resamples=0",
            "logging_steps=1",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "{'loss'" not in captured.out and "'loss'" not in captured.err  # -q: no Trainer log dicts
    assert f"model saved to {out / 'model'}" in captured.out
    assert (out / "model" / "textsiam.json").is_file()
    card = (out / "model" / "README.md").read_text()
    assert str(tiny_model_dir) not in card.split("---")[1]  # no local path in the card's front matter
