"""Every sentence-transformers data format evaluates, from a file and from memory, with its task inferred.

The formats (:mod:`textsiam.data.tables`): ``sentence1, sentence2, score`` (graded: sts), ``question1, question2,
is_duplicate`` (0/1: classification), ``anchor, positive`` (paired_retrieval), ``anchor, positive, negative``
(triplet) and ``text, label`` (label_retrieval); the numbers of each evaluator are checked by hand in its own test
module, here that every way in gives the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset

from textsiam.data import as_table, canonical
from textsiam.evaluation import DevMetric, evaluate
from textsiam.evaluation.evaluator import get_evaluator, named_inputs
from textsiam.evaluation.inputs import infer_task

from .helpers import VOCAB, HashingEncoder


def _texts(rng: np.random.Generator, n: int) -> list[str]:
    return [" ".join(rng.choice(VOCAB, size=5, replace=False)) for _ in range(n)]


def _formats() -> dict[str, dict[str, list]]:
    rng = np.random.default_rng(0)
    a, b, c = _texts(rng, 14), _texts(rng, 14), _texts(rng, 14)
    b = [" ".join(x.split()[:3] + y.split()[3:]) if i % 2 else y for i, (x, y) in enumerate(zip(a, b, strict=True))]
    return {
        "sts": {"sentence1": a, "sentence2": b, "score": [round(float(s), 2) for s in rng.uniform(0, 5, 14)]},
        "classification": {"question1": a, "question2": b, "is_duplicate": [i % 2 for i in range(14)]},
        "paired_retrieval": {"anchor": a, "positive": b},
        "triplet": {"anchor": a, "positive": b, "negative": c},
        "label_retrieval": {"text": a + b, "label": ["odd" if i % 2 else "even" for i in range(28)]},
    }


FORMATS = _formats()
PRIMARY = {
    "sts": "cosine_spearman",
    "classification": "cosine_accuracy",
    "paired_retrieval": "cosine_mrr@10",
    "triplet": "cosine_accuracy",
    "label_retrieval": "cosine_map",
}
TASKS = list(FORMATS)


def rows_of(task: str) -> list[tuple]:
    """The table as row tuples; (text, label) rows need numeric labels (a text label would read as a positive)."""
    columns = dict(FORMATS[task])
    if task == "label_retrieval":
        columns["label"] = [int(v == "odd") for v in columns["label"]]
    return list(zip(*columns.values(), strict=True))


def write(table: dict, path: Path) -> Path:
    frame = pd.DataFrame(table)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_json(path, orient="records")
    return path


def run(model, data, **kwargs) -> dict:
    results = evaluate(model, data, n_resamples=0, show_progress_bar=False, **kwargs)
    assert len(results) == 1
    return results.results[0]


@pytest.mark.parametrize("task", TASKS)
def test_the_task_follows_from_the_format(task, encoder):
    inferred = run(encoder, FORMATS[task])
    assert inferred["task"] == task and inferred["primary_metric"] == PRIMARY[task]
    assert inferred["dataset"] == "custom"
    assert inferred["metrics"] == run(encoder, FORMATS[task], task=task)["metrics"]


@pytest.mark.parametrize("task", TASKS)
def test_every_table_type_and_file_type_gives_the_same_numbers(task, encoder, tmp_path):
    expected = run(encoder, FORMATS[task])["metrics"]
    table = FORMATS[task]
    in_memory = [pd.DataFrame(table), Dataset.from_dict(table), rows_of(task), canonical(as_table(table))]
    for data in in_memory:
        record = run(encoder, data)
        assert (record["task"], record["metrics"]) == (task, expected), type(data).__name__
    for suffix in (".csv", ".tsv", ".jsonl", ".json"):
        path = write(table, tmp_path / f"{task}{suffix}")
        for given in (path, str(path)):
            record = run(encoder, given)
            assert (record["dataset"], record["task"], record["metrics"]) == (str(path), task, expected), suffix
        record = run(encoder, {"mine": path})
        assert (record["dataset"], record["metrics"]) == ("mine", expected)


@pytest.mark.parametrize("task", TASKS)
def test_get_evaluator_and_dev_metric_take_every_format(task, encoder, tmp_path):
    path = write(FORMATS[task], tmp_path / f"{task}.jsonl")
    primary = get_evaluator("mine", pairs=FORMATS[task], n_resamples=0)(encoder)[PRIMARY[task]]
    from_file = get_evaluator(path, n_resamples=0)
    assert from_file.task == task and from_file.name == str(path)
    assert from_file(encoder)[PRIMARY[task]] == primary
    assert get_evaluator("mine", pairs=str(path), n_resamples=0)(encoder)[PRIMARY[task]] == primary
    # DevMetric, as training builds it for a dev set: a canonical table, any name, no task
    metric = DevMetric("custom", pairs=canonical(as_table(FORMATS[task])))
    assert metric.task == task and metric(encoder) == pytest.approx(primary) and metric.metric_name == PRIMARY[task]
    assert DevMetric(path)(encoder) == pytest.approx(primary)
    assert DevMetric("dev", pairs=rows_of(task))(encoder) == pytest.approx(primary)


def test_pair_labels_decide_between_sts_and_classification():
    pairs = {"sentence1": ["a", "b", "c"], "sentence2": ["d", "e", "f"]}
    assert infer_task("custom", {**pairs, "score": [0.0, 1.0, 1.0]}) == "classification"
    assert infer_task("custom", {**pairs, "label": [True, False, True]}) == "classification"
    assert infer_task("custom", {**pairs, "score": [0, 1, 2]}) == "sts"
    assert infer_task("custom", {**pairs, "score": [0.2, 0.9, 0.5]}) == "sts"


def test_a_registered_name_keeps_its_task_for_pairs_only(fake_data, encoder):
    binary = FORMATS["classification"]
    assert run(encoder, {"stsb": binary})["task"] == "sts"  # 0/1 labels, but STS-B is an STS dataset
    assert run(encoder, {"stsb": FORMATS["triplet"]})["task"] == "triplet"  # triplets are no STS pairs
    assert infer_task("mrpc") == "classification"


def test_lists_and_dicts_mix_names_files_and_tables(fake_data, encoder, tmp_path):
    path = write(FORMATS["triplet"], tmp_path / "triplets.csv")
    rows = rows_of("paired_retrieval")
    res = evaluate(encoder, ["stsb", path, rows], n_resamples=0, show_progress_bar=False)
    assert res.datasets == ["stsb", str(path), "custom"]
    assert [r["task"] for r in res] == ["sts", "triplet", "paired_retrieval"]
    assert named_inputs(str(path)) == [(str(path), str(path))] and named_inputs(rows) == [("custom", rows)]
    named = evaluate(encoder, {"trip": str(path), "pairs": rows}, n_resamples=0, show_progress_bar=False)
    assert named.datasets == ["trip", "pairs"] and named["trip"]["metrics"] == res[str(path)]["metrics"]


def test_clear_errors(encoder, tmp_path):
    with pytest.raises(ValueError, match=r"no known format in the columns \['foo', 'bar'\]"):
        evaluate(encoder, pd.DataFrame({"foo": ["a"], "bar": ["b"]}))
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.csv: no known format in the columns \['foo', 'bar'\]"):
        evaluate(encoder, bad)
    with pytest.raises(ValueError, match="must be a pair table"):
        evaluate(encoder, {"first": ["a"], "second": ["b"]})
    with pytest.raises(ValueError, match=r"paired_retrieval task evaluates .* these are \(anchor, positive, negative"):
        evaluate(encoder, FORMATS["triplet"], task="paired_retrieval")
    with pytest.raises(ValueError, match=r"no column 'label' or 'score'.*task='paired_retrieval'"):
        evaluate(encoder, FORMATS["paired_retrieval"], task="sts")
    with pytest.raises(TypeError, match="rows of different lengths"):
        evaluate(encoder, [("a", "b"), ("a", "b", "c")])
    with pytest.raises(FileNotFoundError, match="file not found: .*missing.csv"):
        get_evaluator("mine", pairs=tmp_path / "missing.csv")
    with pytest.raises(ValueError, match=r"'missing.csv' is neither a registered dataset .* nor an existing file"):
        DevMetric("missing.csv")
    with pytest.raises(ValueError, match=r"is neither a registered dataset .* nor an existing file"):
        evaluate(encoder, [FORMATS["triplet"], tmp_path / "missing.csv"])
    assert encoder.calls == []  # every input is read and checked before anything is encoded


def test_a_file_is_read_once_per_evaluation(tmp_path, monkeypatch):
    import textsiam.data

    path = write(FORMATS["triplet"], tmp_path / "t.csv")
    reads = []
    load = textsiam.data.load_table_from_file
    monkeypatch.setattr(textsiam.data, "load_table_from_file", lambda *a, **k: reads.append(a) or load(*a, **k))
    evaluate(HashingEncoder(), path, n_resamples=0, show_progress_bar=False)
    assert reads == [(path,)]
