"""Tables in every sentence-transformers format (``textsiam.data.tables``) and :func:`load_table_from_file`."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pandas as pd
import pytest

from textsiam.data import (
    COLUMN_NAMES,
    DataFormatError,
    DataNotFoundError,
    TableFormat,
    as_table,
    canonical,
    load_table_from_file,
    resolve_format,
    table_format,
)

#: One table of each ST format, by its ST column names, with the canonical table it becomes.
ST_TABLES = {
    "sts": (
        {"sentence1": ["a b", "c"], "sentence2": ["a", "d"], "score": [4.5, 0.5]},
        "pair",
        {"text_a": ["a b", "c"], "text_b": ["a", "d"], "label": [4.5, 0.5]},
    ),
    "duplicates": (
        {"question1": ["q1", "q2"], "question2": ["q3", "q4"], "is_duplicate": [1, 0]},
        "pair",
        {"text_a": ["q1", "q2"], "text_b": ["q3", "q4"], "label": [1, 0]},
    ),
    "anchor_positive": (
        {"anchor": ["a", "c"], "positive": ["b", "d"]},
        "anchor_positive",
        {"text_a": ["a", "c"], "text_b": ["b", "d"]},
    ),
    "triplet": (
        {"anchor": ["a"], "positive": ["b"], "negative": ["c"]},
        "triplet",
        {"text_a": ["a"], "text_b": ["b"], "text_c": ["c"]},
    ),
    "single": (
        {"text": ["x", "y", "z"], "label": ["sport", "food", "sport"]},
        "single",
        {"text_a": ["x", "y", "z"], "label": [1, 0, 1]},  # class names numbered in sorted order
    ),
}


def write(table: dict, path: Path) -> Path:
    """``table`` as a CSV, TSV, JSONL or JSON (list of records) file, by the suffix of ``path``."""
    rows = [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]
    if path.suffix in (".csv", ".tsv"):
        sep = "," if path.suffix == ".csv" else "\t"
        lines = [sep.join(table)] + [sep.join(str(v) for v in row.values()) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(ST_TABLES))
def test_every_st_format_becomes_its_canonical_table_in_memory(name):
    table, kind, expected = ST_TABLES[name]
    for data in (table, pd.DataFrame(table), datasets.Dataset.from_dict(table)):
        out = canonical(as_table(data))
        assert table_format(out) == kind and out.to_dict() == expected and out.column_names == list(expected)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json"])
@pytest.mark.parametrize("name", list(ST_TABLES))
def test_every_st_format_loads_from_every_file_type(name, suffix, tmp_path):
    table, kind, expected = ST_TABLES[name]
    out = load_table_from_file(write(table, tmp_path / f"{name}{suffix}"))
    assert table_format(out) == kind and out.to_dict() == expected


def test_label_types():
    pair = canonical(as_table({"text_a": ["a", "b"], "text_b": ["c", "d"], "label": [True, False]}))
    assert pair["label"] == [1, 0] and pair.features["label"].dtype == "int64"
    graded = canonical(as_table({"text_a": ["a", "b"], "text_b": ["c", "d"], "label": [0, 2]}))
    assert graded["label"] == [0.0, 2.0] and graded.features["label"].dtype == "float64"  # 0/2: not binary
    numbers_as_text = canonical(as_table({"text_a": ["a", "b"], "text_b": ["c", "d"], "label": ["1", " 0 "]}))
    assert numbers_as_text["label"] == [1, 0]
    classes = canonical(as_table({"text": ["a", "b"], "label": [3.0, 7.0]}))
    assert classes["label"] == [3, 7] and classes.features["label"].dtype == "int64"  # classes stay whole


def test_rows_are_read_by_shape():
    shapes = {
        "anchor_positive": [("a", "b"), ("c", "d")],
        "triplet": [("a", "b", "c")],
        "pair": [("a", "b", 0.5), ("c", "d", 1)],
        "single": [("a", 1), ("b", 2)],
    }
    for kind, rows in shapes.items():
        assert table_format(canonical(as_table(rows))) == kind
    assert table_format(canonical(as_table([{"anchor": "a", "positive": "b"}]))) == "anchor_positive"
    assert as_table([["a", "b"]]).column_names == ["anchor", "positive"]  # lists are rows too


def test_column_names_and_column_maps():
    # first present name wins; ST triplets carry no label: an extra label column is ignored
    assert resolve_format(["anchor", "positive", "negative", "label"]) == TableFormat(
        "triplet", {"text_a": "anchor", "text_b": "positive", "text_c": "negative"}
    )
    assert resolve_format(["sentence1", "sentence2", "label", "score"]).columns["label"] == "label"
    # a role mapped to None is absent; a mapped role takes its column
    assert resolve_format(["anchor", "positive", "score"], {"label": None}).kind == "anchor_positive"
    fmt = resolve_format(["q", "d", "rel", "id"], {"text_a": "q", "text_b": "d", "label": "rel"})
    assert fmt == TableFormat("pair", {"text_a": "q", "text_b": "d", "label": "rel"})
    assert "pairs without labels from columns anchor, positive" in resolve_format(["anchor", "positive"]).describe()
    # a column mapped to one role is not found by name for another
    assert resolve_format(["text_a", "sentence2", "x"], {"text_b": "text_a", "text_a": "x"}).columns == {
        "text_a": "x",
        "text_b": "text_a",
    }
    assert set(COLUMN_NAMES) == {"text_a", "text_b", "text_c", "label"}


def test_column_map_in_load_table_from_file(tmp_path):
    path = write({"q": ["a", "c"], "d": ["b", "e"], "rel": [1, 0]}, tmp_path / "mine.csv")
    out = load_table_from_file(path, {"text_a": "q", "text_b": "d", "label": "rel"})
    assert out.to_dict() == {"text_a": ["a", "c"], "text_b": ["b", "e"], "label": [1, 0]}
    scored = write({"anchor": ["a"], "positive": ["b"], "score": [0.5]}, tmp_path / "scored.jsonl")
    assert table_format(load_table_from_file(scored, {"label": None})) == "anchor_positive"
    assert table_format(load_table_from_file(scored)) == "pair"
    numbered = write({"text": ["x", "y"], "label": [2, 5]}, tmp_path / "numbered.csv")
    assert load_table_from_file(numbered)["label"] == [2, 5]  # numeric classes are kept, not renumbered


def test_errors_in_memory():
    with pytest.raises(ValueError, match=r"data: no known format in the columns \['foo', 'bar'\].*accepted: labelled"):
        canonical(as_table({"foo": ["a"], "bar": ["b"]}))
    with pytest.raises(ValueError, match="has no column 'nope' \\(given for label\\)"):
        resolve_format(["anchor", "positive"], {"label": "nope"})
    with pytest.raises(ValueError, match="unknown role 'query'"):
        resolve_format(["anchor", "positive"], {"query": "anchor"})
    with pytest.raises(TypeError, match=r"columns\['label'\] must be a column name or None"):
        resolve_format(["anchor", "positive"], {"label": 3})
    with pytest.raises(TypeError, match="columns must be a dict"):
        resolve_format(["anchor", "positive"], ["anchor"])
    with pytest.raises(ValueError, match=r"columns differ in length: \{'anchor': 2, 'positive': 1\}"):
        as_table({"anchor": ["a", "b"], "positive": ["c"]})
    with pytest.raises(ValueError, match="mine holds no rows"):
        as_table([], "mine")
    with pytest.raises(TypeError, match="got int"):
        as_table(3)
    with pytest.raises(TypeError, match=r"rows of different lengths \[2, 3\]"):
        as_table([("a", "b"), ("a", "b", "c")])
    with pytest.raises(TypeError, match="row 1 ends with a int where row 0 ends with a str"):
        as_table([("a", "b"), ("c", 1)])
    with pytest.raises(TypeError, match="rows mix dicts and tuples"):
        as_table([{"anchor": "a", "positive": "b"}, ("c", "d")])
    with pytest.raises(TypeError, match="rows must be tuples \\(or dicts\\), found a str"):
        as_table([("a", "b"), "c d"])
    with pytest.raises(TypeError, match="rows of 4 items"):
        as_table([("a", "b", "c", "d")])
    with pytest.raises(ValueError, match="row 1: column 'positive' must be text, found NoneType"):
        canonical(as_table(pd.DataFrame({"anchor": ["a", "b"], "positive": ["c", None]})))
    with pytest.raises(ValueError, match="row 0: column 'anchor' must be text, found int"):
        canonical(as_table({"anchor": [1, 2], "positive": ["c", "d"]}))
    for mixed in (
        {"anchor": ["a", "b"], "positive": ["c", 5]},
        pd.DataFrame({"anchor": ["a", "b"], "positive": ["c", 5]}),
    ):
        with pytest.raises(ValueError, match="data: column 'positive' mixes str and int values"):
            as_table(mixed)
    with pytest.raises(ValueError, match="mine: column 'positive' mixes str and int values"):
        as_table([{"anchor": "a", "positive": "b"}, {"anchor": "c", "positive": 2}], "mine")
    with pytest.raises(ValueError, match="row 0: non-numeric label 'high' in column 'score'"):
        canonical(as_table({"sentence1": ["a"], "sentence2": ["b"], "score": ["high"]}))
    with pytest.raises(ValueError, match="row 1: missing or non-numeric label None"):
        canonical(as_table({"text_a": ["a", "b"], "text_b": ["c", "d"], "label": [1.0, None]}))
    with pytest.raises(ValueError, match="row 0: non-finite label inf"):
        canonical(as_table({"text_a": ["a"], "text_b": ["c"], "label": [float("inf")]}))


def test_boolean_labels_from_files(tmp_path):
    """A Quora-style file whose ``is_duplicate`` column holds True / False (as pandas writes a boolean column)."""
    path = tmp_path / "quora.csv"
    path.write_text("question1,question2,is_duplicate\na,b,True\nc,d,False\n", encoding="utf-8")
    assert load_table_from_file(path)["label"] == [1, 0]


def test_errors_from_files(tmp_path):
    with pytest.raises(DataNotFoundError, match="file not found: .*missing.csv"):
        load_table_from_file(tmp_path / "missing.csv")
    bad = write({"foo": ["a"], "bar": ["b"]}, tmp_path / "bad.csv")
    with pytest.raises(ValueError, match=r"bad.csv: no known format in the columns \['foo', 'bar'\]"):
        load_table_from_file(bad)
    word = write({"sentence1": ["a"], "sentence2": ["b"], "score": ["high"]}, tmp_path / "word.csv")
    with pytest.raises(DataFormatError, match=r"word.csv:2: non-numeric label 'high'"):
        load_table_from_file(word)
    number = tmp_path / "number.jsonl"
    number.write_text('{"anchor": "a", "positive": 3}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"number.jsonl:1: column 'positive' must be text, found int"):
        load_table_from_file(number)
    with pytest.raises(ValueError, match=r"has no column 'nope' \(given for label\)"):
        load_table_from_file(write(ST_TABLES["anchor_positive"][0], tmp_path / "ap.csv"), {"label": "nope"})
