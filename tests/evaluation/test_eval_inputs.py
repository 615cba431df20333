from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset

from textsiam.evaluation.inputs import PairData, column_names, is_pair_table, is_registered, pair_columns, score_range

PAIRS = {"text_a": ["a b", "c d", "e"], "text_b": ["a", "d", "f g"], "label": [1, 0, 1]}
ST_PAIRS = {"sentence1": ["a b", "c d", "e"], "sentence2": ["a", "d", "f g"], "score": [0.9, 0.1, 0.5]}


@pytest.mark.parametrize("wrap", [dict, pd.DataFrame, Dataset.from_dict], ids=["dict", "pandas", "datasets"])
def test_pair_columns_reads_every_table_type(wrap):
    pairs = pair_columns(wrap(PAIRS))
    assert isinstance(pairs, PairData) and len(pairs) == 3
    assert pairs.text_a == PAIRS["text_a"] and pairs.text_b == PAIRS["text_b"]
    assert pairs.labels.tolist() == [1, 0, 1]
    st = pair_columns(wrap(ST_PAIRS))
    assert st.text_a == ST_PAIRS["sentence1"] and st.labels.tolist() == [0.9, 0.1, 0.5]


def test_pair_columns_reads_rows_and_files(tmp_path):
    pairs = pair_columns([("a b", "a", 1), ("c d", "d", 0)])
    assert pairs.text_a == ["a b", "c d"] and pairs.text_b == ["a", "d"] and pairs.labels.tolist() == [1, 0]
    path = tmp_path / "pairs.csv"
    path.write_text("sentence1,sentence2,score\na b,a,0.9\nc d,d,0.1\n", encoding="utf-8")
    for given in (path, str(path)):
        from_file = pair_columns(given)
        assert from_file.text_a == ["a b", "c d"] and from_file.labels.tolist() == [0.9, 0.1]


def test_label_wins_over_score_and_texts_become_str():
    pairs = pair_columns({"sentence1": [1, 2], "text_b": ["x", "y"], "label": [0, 1], "score": [0.5, 0.5]})
    assert pairs.text_a == ["1", "2"] and pairs.labels.tolist() == [0, 1]


def test_pair_columns_errors_are_clear():
    with pytest.raises(ValueError, match=r"must have columns text_a, text_b and label.*'text_b' or 'sentence2'"):
        pair_columns({"text_a": ["a"], "label": [1]}, "mine")
    with pytest.raises(ValueError, match="'label' or 'score'"):
        pair_columns(pd.DataFrame({"sentence1": ["a"], "sentence2": ["b"]}))
    with pytest.raises(ValueError, match="must be a datasets.Dataset, a pandas.DataFrame, a dict of lists"):
        pair_columns(42)
    with pytest.raises(ValueError, match=r"no column 'label' or 'score'.*triplets: evaluate them with task='triplet'"):
        pair_columns({"anchor": ["a"], "positive": ["b"], "negative": ["c"]})
    with pytest.raises(ValueError, match="lengths differ"):
        pair_columns({"text_a": ["a"], "text_b": ["b", "c"], "label": [1]})
    with pytest.raises(ValueError, match="empty"):
        pair_columns({"text_a": [], "text_b": [], "label": []})


def test_table_detection():
    assert is_pair_table(PAIRS) and is_pair_table(pd.DataFrame(ST_PAIRS)) and is_pair_table(Dataset.from_dict(PAIRS))
    assert not is_pair_table("stsb") and not is_pair_table(["stsb"]) and not is_pair_table({"mine": PAIRS})
    assert column_names(np.zeros(3)) is None and column_names(pd.DataFrame({"x": [1]})) == ["x"]


def test_registered_datasets():
    assert is_registered("stsb") and not is_registered("my-data")
    assert score_range("stsb") == (0.0, 5.0) and score_range("sick") == (1.0, 5.0)
    assert score_range("my-data") is None
