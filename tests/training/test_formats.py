"""sentence-transformers' training formats train from a file and from memory, with the loss given or chosen, and
a loss that does not fit its data fails before the model loads, naming the loss and the columns."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

import textsiam
from textsiam.training import ConfigError, TrainConfig, train
from textsiam.training.loss_choice import default_loss

from .helpers import make_clf_rows, make_sts_rows, write_csv

ROWS = 40


def _write(path: Path, header: list[str], rows: list[tuple]) -> Path:
    return write_csv(path, rows, header)


def _anchor_positive() -> list[tuple[str, str]]:
    return [(a, b) for a, b, y in make_clf_rows(2 * ROWS, 5) if y == 1]


def _triplets() -> list[tuple[str, str, str]]:
    pos = _anchor_positive()
    return [(a, p, pos[(i + 7) % len(pos)][1]) for i, (a, p) in enumerate(pos)]


def _single() -> list[tuple[str, int]]:
    rows = make_clf_rows(2 * ROWS, 6)
    return [(t, i // 2 % 5) for i, (a, b, _) in enumerate(rows) for t in (a, b)][:ROWS]


FORMATS = {
    "sentence1/sentence2/score": (["sentence1", "sentence2", "score"], lambda: make_sts_rows(ROWS, 11), "cosent"),
    "anchor/positive": (["anchor", "positive"], _anchor_positive, "mnrl"),
    "anchor/positive/negative": (["anchor", "positive", "negative"], _triplets, "mnrl"),
    "question1/question2/is_duplicate": (
        ["question1", "question2", "is_duplicate"],
        lambda: make_clf_rows(ROWS, 12),
        "online_contrastive",
    ),
    "text/label": (["text", "label"], _single, "batch_hard_triplet"),
}


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _changed(before: dict[str, torch.Tensor], model) -> bool:
    return any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_st_format_trains_from_a_file_with_the_default_loss(name, tmp_path, tiny_model_dir, caplog):
    header, rows, loss = FORMATS[name]
    path = _write(tmp_path / "data.csv", header, rows())
    config = TrainConfig(
        model=str(tiny_model_dir),
        train_dataset=str(path),
        dev_dataset=str(path),
        epochs=1,
        batch_size=8,
        n_resamples=0,
        output_dir=str(tmp_path / "run"),
    )
    with caplog.at_level(logging.WARNING, logger="textsiam.training.sources"):
        result = train(config, show_progress=False)
    assert f"no loss given: using {loss}" in caplog.text
    assert result.config.loss == loss  # the saved recipe says what ran
    assert TrainConfig.from_file(tmp_path / "run" / "train_config.yaml").loss == loss
    assert result.global_step >= 3
    assert result.metric_name is not None and result.best_metric is not None  # the dev set of the same format
    assert result.evaluation.results[0]["n_pairs"] == len(rows())


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_st_format_trains_from_memory(name, tiny_model):
    header, rows, loss = FORMATS[name]
    data = {column: [r[i] for r in rows()] for i, column in enumerate(header)}  # a dict of columns
    before = _weights(tiny_model)
    result = textsiam.fit(tiny_model, data, loss=loss, dev=data, epochs=1, batch_size=8, show_progress=False)
    assert _changed(before, tiny_model)
    assert result.config.loss == loss
    assert result.best_metric is not None
    assert result.output_dir is None


@pytest.mark.parametrize(
    ("loss", "header"),
    [("mnrl", ["anchor", "positive"]), ("triplet", ["anchor", "positive", "negative"])],
)
def test_label_free_st_files_train_with_the_loss_named(loss, header, tmp_path, tiny_config):
    # issue #25: an anchor,positive CSV with loss=mnrl stopped with "ap.csv has no label column", and
    # anchor,positive,negative failed with both triplet and mnrl
    rows = _anchor_positive() if len(header) == 2 else _triplets()
    path = _write(tmp_path / "ap.csv", header, rows)
    result = train(tiny_config(train_dataset=str(path), loss=loss, epochs=1), show_progress=False)
    assert result.global_step == -(-len(rows) // 8)
    assert str(len(rows)) in result.examples


def test_triplets_as_given_for_mnrl_use_the_negative(tmp_path, tiny_config):
    path = _write(tmp_path / "apn.csv", ["anchor", "positive", "negative"], _triplets())
    result = train(tiny_config(train_dataset=str(path), loss="mnrl", epochs=1), show_progress=False)
    assert "hard negative" in result.examples and "as given" in result.examples


@pytest.mark.parametrize(
    ("loss", "header", "needle"),
    [
        ("cosent", ["anchor", "positive"], "loss 'cosent' needs pairs with a score column"),
        ("online_contrastive", ["anchor", "positive", "negative"], "needs pairs with a 0/1 label column"),
        ("mnrl", ["text", "label"], "loss 'mnrl' needs (anchor, positive) pairs"),
        ("softmax", ["anchor", "positive"], "loss 'softmax' needs pairs with class labels"),
    ],
)
def test_a_loss_that_does_not_fit_the_format_fails_before_the_model_loads(
    loss, header, needle, tmp_path, tiny_config, monkeypatch
):
    rows = {2: _anchor_positive(), 3: _triplets()}[len(header)] if header[0] != "text" else _single()
    path = _write(tmp_path / "data.csv", header, rows)

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("textsiam.training.run.build_model", no_model)
    with pytest.raises(ConfigError, match="needs") as err:
        train(tiny_config(train_dataset=str(path), loss=loss), show_progress=False)
    text = str(err.value)
    assert needle in text
    assert ", ".join(header) in text  # the columns are named
    assert not (Path(tiny_config().output_dir)).exists()


def test_label_column_null_reads_scored_pairs_as_anchor_positive(tmp_path, tiny_config):
    # issue #25: label_column=null was read as a column named "null"
    path = _write(tmp_path / "s.csv", ["sentence1", "sentence2", "score"], make_sts_rows(ROWS, 3))
    config = tiny_config(train_dataset=str(path), dev_dataset=None).with_overrides(["label_column=null"])
    assert config.label_column is None
    result = train(config, show_progress=False)
    assert result.config.loss == "mnrl"  # no label: in-batch negatives
    assert "no labels" in result.examples


def test_custom_columns_reach_the_dev_set(tmp_path, tiny_config):
    # issue #25: --text-a-column query ... reached the training set but not the dev set (same file as dev)
    rows = make_sts_rows(ROWS, 4)
    path = _write(tmp_path / "q.csv", ["query", "candidate", "relevance"], rows)
    config = tiny_config(
        train_dataset=str(path),
        dev_dataset=str(path),
        text_a_column="query",
        text_b_column="candidate",
        label_column="relevance",
        epochs=1,
    )
    result = train(config, show_progress=False)
    assert result.metric_name == "cosine_spearman"
    assert result.evaluation.results[0]["n_pairs"] == ROWS


def test_in_memory_forms_give_the_same_table(tiny_model):
    import pandas as pd

    from textsiam.data import as_table, canonical

    rows = make_sts_rows(6, 8)
    forms = [
        rows,
        {"sentence1": [r[0] for r in rows], "sentence2": [r[1] for r in rows], "score": [r[2] for r in rows]},
        pd.DataFrame(rows, columns=["text_a", "text_b", "label"]),
        [{"sentence1": a, "sentence2": b, "score": y} for a, b, y in rows],
    ]
    tables = [canonical(as_table(f)).to_dict() for f in forms]
    assert all(t == tables[0] for t in tables)


@pytest.mark.parametrize(
    ("kind", "labels", "task", "expected"),
    [
        ("pair", [0.5, 4.0, 2.2], None, "cosent"),
        ("pair", [0, 1, 1], None, "online_contrastive"),
        ("pair", [0, 1, 2], "classification", "softmax"),
        ("pair", [1, 3, 5], None, "cosent"),  # integer ratings are graded scores
        ("anchor_positive", None, None, "mnrl"),
        ("triplet", None, None, "mnrl"),
        ("single", [0, 1], None, "batch_hard_triplet"),
    ],
)
def test_default_loss_by_format_and_labels(kind, labels, task, expected):
    assert default_loss(kind, labels, task)[0] == expected


def test_a_dataset_in_a_config_points_to_fit():
    import datasets

    table = datasets.Dataset.from_dict({"sentence1": ["a"], "sentence2": ["b"], "score": [1.0]})
    with pytest.raises(ConfigError, match=r"(?s)train_dataset: expected a string.*textsiam\.fit"):
        TrainConfig(train_dataset=table).validate()  # type: ignore[arg-type]


def test_positive_pairs_labelled_1_get_mnrl_and_a_binary_loss_is_refused(tiny_model, caplog):
    # review finding: all-1 labels chose online_contrastive, a loss with no negatives to learn from
    rows = [(a, b, 1) for a, b in _anchor_positive()]
    with caplog.at_level(logging.WARNING, logger="textsiam.training.sources"):
        result = textsiam.fit(tiny_model, rows, epochs=1, batch_size=8, show_progress=False)
    assert result.config.loss == "mnrl" and "positives only" in caplog.text
    with pytest.raises(ConfigError, match="every label is 1; for positive pairs only, use mnrl"):
        textsiam.fit(tiny_model, rows, loss="online_contrastive", show_progress=False)


def test_nli_columns_are_read_and_get_a_classifier(tiny_model):
    rows = make_clf_rows(24, 9)
    data = {"premise": [r[0] for r in rows], "hypothesis": [r[1] for r in rows], "label": [i % 3 for i in range(24)]}
    result = textsiam.fit(tiny_model, data, epochs=1, batch_size=8, show_progress=False)
    assert result.config.loss == "softmax" and "3 classes" in result.examples


def test_text_pairs_whose_second_items_look_like_classes_are_flagged(caplog):
    from textsiam.data import as_table

    with caplog.at_level(logging.WARNING, logger="textsiam.data.tables"):
        as_table([(f"text {i}", "pos" if i % 2 else "neg") for i in range(20)])
    assert "if they are class names" in caplog.text


def test_wrong_data_types_are_type_errors_and_the_model_is_left_in_eval_mode(tiny_model):
    from textsiam.losses import SoftmaxLoss

    with pytest.raises(TypeError, match="got int"):
        textsiam.fit(tiny_model, 42, show_progress=False)
    rows = [(a, b, i % 3) for i, (a, b, _) in enumerate(make_clf_rows(24, 9))]
    head = SoftmaxLoss(embedding_dim=tiny_model.embedding_dim, num_labels=2)
    with pytest.raises(ConfigError, match="num_labels=2, but the data has 3 classes"):
        textsiam.fit(tiny_model, rows, loss=head, show_progress=False)
    wrong = SoftmaxLoss(embedding_dim=7, num_labels=3)
    with pytest.raises(ConfigError, match="embedding_dim is 7"):
        textsiam.fit(tiny_model, rows, loss=wrong, show_progress=False)
    assert not tiny_model.training


def test_a_failing_training_step_leaves_the_model_in_eval_mode(tiny_model, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("step failed")

    monkeypatch.setattr("textsiam.training.trainer.SiameseTrainer.training_step", boom)
    with pytest.raises(RuntimeError, match="step failed"):
        textsiam.fit(tiny_model, make_sts_rows(16, 1), epochs=1, show_progress=False)
    assert not tiny_model.training


def test_in_memory_names_count_rows():
    from textsiam.training.dataset_names import in_memory_name

    assert in_memory_name({"a": [1, 2], "b": [3, 4], "c": [5, 6]}) == "<in-memory: dict, 2 rows>"
    assert in_memory_name([(1, 2)] * 5) == "<in-memory: list, 5 rows>"


def test_numeric_class_labels_read_the_same_from_a_file_and_from_memory(tmp_path):
    from textsiam.data import as_table, canonical, load_table_from_file

    rows = [("a", "1"), ("b", "2"), ("c", "10"), ("d", "2")]
    path = _write(tmp_path / "t.csv", ["text", "label"], rows)
    in_memory = canonical(as_table({"text": [r[0] for r in rows], "label": [r[1] for r in rows]}))
    assert load_table_from_file(path)["label"] == in_memory["label"] == [1, 2, 10, 2]
