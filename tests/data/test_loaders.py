"""Tests for ``textsiam.data``.

Tests of the real benchmark files read them from ``$TEXTSIAM_DATA`` (CI sets it to
``../shared/data``) and are skipped when it is unset. The malformed-file tests build their own
files under ``tmp_path`` and always run.
"""

from __future__ import annotations

import functools
import os
import random
from pathlib import Path

import datasets
import pytest

from textsiam.data import (
    DATASETS,
    MRPC_DEV_PAIRS,
    QUORA_DEV_PAIRS,
    SICK_E_CLASSES,
    DataFormatError,
    DataNotFoundError,
    all_sentences,
    dataset_info,
    load_pairs,
    load_pairs_from_file,
    task_type,
)
from textsiam.data.readers import quora_dev_mask

DATA_ENV = os.environ.get("TEXTSIAM_DATA", "").strip()
needs_data = pytest.mark.skipif(
    not DATA_ENV,
    reason="TEXTSIAM_DATA is unset: point it at the shared data folder (e.g. ../shared/data) to test the real files",
)


@functools.cache
def _load(name: str, split: str) -> datasets.Dataset:
    """Load each real split once per test session (the files are read-only)."""
    return load_pairs(name, split, DATA_ENV)


def _col(ds: datasets.Dataset, column: str) -> list:
    """A column as a plain list (``datasets`` >= 4 returns a lazy ``Column`` object)."""
    return list(ds[column])


# (name, split) -> (rows, first text_a, first text_b, first label)
_SICK_TRAIN_A = "A group of kids is playing in a yard and an old man is standing in the background"
_SICK_TRAIN_B = "A group of boys in a yard is playing and a man is standing in the background"
_SICK_DEV_A = "The young boys are playing outdoors and the man is smiling nearby"
_SICK_DEV_B = "There is no boy playing outdoors and there is no man smiling"
EXPECTED = {
    ("stsb", "train"): (5749, "A plane is taking off.", "An air plane is taking off.", 5.0),
    ("stsb", "dev"): (1500, "A man with a hard hat is dancing.", "A man wearing a hard hat is dancing.", 5.0),
    ("stsb", "test"): (1379, "A girl is styling her hair.", "A girl is brushing her hair.", 2.5),
    ("sick", "train"): (4500, _SICK_TRAIN_A, _SICK_TRAIN_B, 4.5),
    ("sick", "dev"): (500, _SICK_DEV_A, _SICK_DEV_B, 3.6),
    ("sick", "test"): (4927, _SICK_DEV_B, _SICK_TRAIN_A, 3.3),
    ("sick", "all"): (9927, _SICK_TRAIN_A, _SICK_TRAIN_B, 4.5),
    ("sick-e", "train"): (4500, _SICK_TRAIN_A, _SICK_TRAIN_B, 0),  # NEUTRAL
    ("sick-e", "dev"): (500, _SICK_DEV_A, _SICK_DEV_B, 0),  # CONTRADICTION
    ("sick-e", "test"): (4927, _SICK_DEV_B, _SICK_TRAIN_A, 0),  # NEUTRAL
    ("sick-e", "all"): (9927, _SICK_TRAIN_A, _SICK_TRAIN_B, 0),
    ("mrpc", "train"): (
        3676,
        'Amrozi accused his brother, whom he called "the witness", of deliberately distorting his evidence.',
        'Referring to him as only "the witness", Amrozi accused his brother of deliberately distorting his evidence.',
        1,
    ),
    ("mrpc", "dev"): (  # line 3678 of msr_paraphrase_train.txt = 3,677th pair
        400,
        "No dates have been set for the criminal or civil cases, but Shanley has pleaded not guilty.",
        "No dates have been set for either the civil trial or the criminal trial.",
        0,
    ),
    ("mrpc", "test"): (
        1725,
        "PCCW's chief operating officer, Mike Butcher, and Alex Arena, the chief financial officer, "
        "will report directly to Mr So.",
        "Current Chief Operating Officer Mike Butcher and Group Chief Financial Officer Alex Arena will report to So.",
        1,
    ),
    ("quora", "train"): (
        8000,
        "How do I get funding for my web based startup idea ?",
        "How do I get seed funding pre product ?",
        1,
    ),
    ("quora", "dev"): (2000, "What is your favorite song and why ?", "What is your favorite song or artist ?", 0),
    ("quora", "test"): (
        10000,
        "What should I do to avoid sleeping in class ?",
        "How do I not sleep in a boring class ?",
        1,
    ),
}


def test_expected_covers_every_split() -> None:
    assert set(EXPECTED) == {(name, split) for name, info in DATASETS.items() for split in info.splits}


# --------------------------------------------------------------------------------------------
# Real files
# --------------------------------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize(("name", "split"), sorted(EXPECTED))
def test_rows_first_row_and_label_types(name: str, split: str) -> None:
    rows, text_a, text_b, label = EXPECTED[(name, split)]
    ds = _load(name, split)
    info = dataset_info(name)
    assert len(ds) == rows == info.num_rows[split]
    assert {"text_a", "text_b", "label"} <= set(ds.column_names)
    first = ds[0]
    assert (first["text_a"], first["text_b"], first["label"]) == (text_a, text_b, label)
    assert ds.features["text_a"].dtype == ds.features["text_b"].dtype == "string"
    labels = _col(ds, "label")
    low, high = info.score_range
    assert min(labels) >= low and max(labels) <= high
    if info.task == "sts":
        assert ds.features["label"].dtype == "float64"
        assert all(type(x) is float for x in labels)
        assert min(labels) == low and max(labels) == high  # both ends occur in every split
    else:
        assert ds.features["label"].dtype == "int64"
        assert set(labels) == {0, 1}
    for column in ("text_a", "text_b"):
        assert all(isinstance(t, str) and t and "\r" not in t and "\ufeff" not in t for t in ds[column])


@needs_data
def test_class_balance_and_extra_columns() -> None:
    assert sum(_load("mrpc", "train")["label"]) + sum(_load("mrpc", "dev")["label"]) == 2753
    assert sum(_load("mrpc", "test")["label"]) == 1147
    assert sum(_load("quora", "test")["label"]) == 5000
    assert sum(_load("quora", "train")["label"]) + sum(_load("quora", "dev")["label"]) == 5000
    genres = _col(_load("stsb", "train"), "genre")
    assert {g: genres.count(g) for g in set(genres)} == {"captions": 2000, "forums": 450, "news": 3299}
    # Line 5553 of sts-train.csv has 9 columns: the two trailing source columns are ignored.
    row = _load("stsb", "train")[5552]
    assert (row["text_a"], row["label"], row["pair_id"]) == (
        "Driver backs into stroller with child, drives off",
        4.0,
        "headlines-2016-0012",
    )


@needs_data
def test_sick_e_labels_and_sick_all_order() -> None:
    ds = _load("sick-e", "test")
    assert ds.features["label3"].names == list(SICK_E_CLASSES) == ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]
    assert ds["label"] == [int(x == 0) for x in ds["label3"]]
    counts = [_col(ds, "label3").count(i) for i in range(3)]
    assert counts == [1414, 2793, 720]
    # Last line of the CRLF test file: the \r must not leak into the judgment or the score.
    last = ds[-1]
    assert (last["pair_id"], last["label3"], last["score"]) == ("9996", 1, 1.0)
    assert last["text_b"] == "The snowboarder is leaping fearlessly over white snow"
    assert _load("sick-e", "dev")[0]["label3"] == 2
    # all = train + dev + test, in that order
    all_ids = _col(_load("sick", "all"), "pair_id")
    parts = [_col(_load("sick", s), "pair_id") for s in ("train", "dev", "test")]
    assert all_ids == parts[0] + parts[1] + parts[2]
    assert _load("sick", "all")["label"][4500] == 3.6


@needs_data
def test_mrpc_dev_is_last_400_train_lines() -> None:
    train, dev = _load("mrpc", "train"), _load("mrpc", "dev")
    assert len(dev) == MRPC_DEV_PAIRS
    assert train[-1]["pair_id"] == "1722074-1721807"  # line 3677
    assert dev[0]["pair_id"] == "1782659-1782732"  # line 3678
    assert dev[-1]["pair_id"] == "453575-453448"  # line 4077, no trailing newline
    assert dev[-1]["text_b"].endswith("down from 4.35 percent late Wednesday.")
    assert not set(train["pair_id"]) & set(dev["pair_id"])


@needs_data
def test_quora_split_has_no_question_leak_and_keeps_file_order() -> None:
    train, dev = _load("quora", "train"), _load("quora", "dev")
    assert (len(train), len(dev)) == (8000, QUORA_DEV_PAIRS)

    def key(text: str) -> str:
        return " ".join(text.lower().split())

    raw_train = set(_col(train, "text_a") + _col(train, "text_b"))
    raw_dev = set(_col(dev, "text_a") + _col(dev, "text_b"))
    assert raw_train.isdisjoint(raw_dev)
    assert {key(q) for q in raw_train}.isdisjoint({key(q) for q in raw_dev})

    # train + dev partition dev.tsv, each in file order
    lines = (Path(DATA_ENV) / "quora" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    file_ids = [line.split("\t")[3] for line in lines]
    position = {pid: i for i, pid in enumerate(file_ids)}
    assert sorted(_col(train, "pair_id") + _col(dev, "pair_id"), key=position.__getitem__) == file_ids
    for part in (train, dev):
        pos = [position[pid] for pid in part["pair_id"]]
        assert pos == sorted(pos)


@needs_data
def test_quora_split_is_deterministic() -> None:
    dev = _load("quora", "dev")
    again = load_pairs("quora", "dev", DATA_ENV)  # fresh read, not the cached one
    assert again["pair_id"] == dev["pair_id"]
    # The choice depends on the pair texts only, not on their order in the file.
    source = load_pairs("quora", "train", DATA_ENV)
    firsts = _col(source, "text_a") + _col(dev, "text_a")
    seconds = _col(source, "text_b") + _col(dev, "text_b")
    texts = list(zip(firsts, seconds, strict=True))
    random.Random(0).shuffle(texts)
    mask = quora_dev_mask([a for a, _ in texts], [b for _, b in texts])
    chosen = sorted(p for p, m in zip(texts, mask, strict=True) if m)
    assert chosen == sorted(zip(dev["text_a"], dev["text_b"], strict=True))


@needs_data
def test_all_sentences() -> None:
    sentences = all_sentences(DATA_ENV)
    assert len(sentences) == len(set(sentences)) == 36641
    assert sentences[:2] == ["A plane is taking off.", "An air plane is taking off."]
    assert "How do I get funding for my web based startup idea ?" in sentences  # quora train
    assert "What is your favorite song and why ?" not in sentences  # quora dev only
    assert all(s == s.strip() and s for s in sentences)


# --------------------------------------------------------------------------------------------
# Registry and argument errors
# --------------------------------------------------------------------------------------------


def test_registry() -> None:
    assert set(DATASETS) == {"stsb", "sick", "sick-e", "mrpc", "quora"}
    assert task_type("stsb") == task_type("sick") == "sts"
    assert task_type("sick-e") == task_type("mrpc") == task_type("quora") == "classification"
    assert dataset_info("qqp").name == "quora"
    assert dataset_info("sick").splits == ("train", "dev", "test", "all")
    assert dataset_info("stsb").score_range == (0.0, 5.0)


def test_unknown_dataset_lists_supported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'snli'") as info:
        load_pairs("snli", "train", tmp_path)
    for name in DATASETS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="supported datasets"):
        task_type("nope")


def test_unknown_split_lists_splits(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown split 'all' for dataset 'mrpc'.*train, dev, test"):
        load_pairs("mrpc", "all", tmp_path)


def test_missing_file_names_path_and_env_var(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"data file for 'stsb' not found: .*sts-dev\.csv") as info:
        load_pairs("stsb", "dev", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "stsb" / "sts-dev.csv") in message and "TEXTSIAM_DATA" in message
    with pytest.raises(FileNotFoundError, match="data directory not found"):
        load_pairs("stsb", "dev", tmp_path / "missing")


def test_no_data_dir_offline_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.delenv("TEXTSIAM_DATA", raising=False)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # datasets reads these at import time, so patch the parsed values too, and use an empty cache.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    with pytest.raises(DataNotFoundError, match="TEXTSIAM_DATA.*data_dir"):
        load_pairs("stsb", "train")


# --------------------------------------------------------------------------------------------
# Malformed benchmark files
# --------------------------------------------------------------------------------------------

_STSB_LINE = "main-captions\tMSRvid\t2012test\t{sid}\t{score}\tA man is here.\tA man is there.\n"


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_stsb_non_numeric_score(tmp_path: Path) -> None:
    text = _STSB_LINE.format(sid=1, score="5.0") + _STSB_LINE.format(sid=2, score="high")
    path = _write(tmp_path / "stsb" / "sts-train.csv", text)
    with pytest.raises(DataFormatError, match=f"{path}:2: non-numeric score 'high'"):
        load_pairs("stsb", "train", tmp_path)


def test_stsb_empty_score_is_the_only_skip(tmp_path: Path) -> None:
    lines = [_STSB_LINE.format(sid=i, score=s) for i, s in enumerate(["1.0", "", "2.5"])]
    _write(tmp_path / "stsb" / "sts-dev.csv", "".join(lines))
    ds = load_pairs("stsb", "dev", tmp_path)
    assert ds["label"] == [1.0, 2.5]
    assert ds["pair_id"] == ["MSRvid-2012test-0", "MSRvid-2012test-2"]


def test_stsb_too_few_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "stsb" / "sts-test.csv", _STSB_LINE.format(sid=1, score="1") + "a\tb\tc\n")
    with pytest.raises(DataFormatError, match=f"{path}:2: expected at least 7 tab-separated columns, found 3"):
        load_pairs("stsb", "test", tmp_path)


def test_quora_wrong_delimiter_and_bad_label(tmp_path: Path) -> None:
    path = _write(tmp_path / "quora" / "test.tsv", "1\tq one ?\tq two ?\t7\n0,q three ?,q four ?,8\n")
    with pytest.raises(DataFormatError, match=f"{path}:2: .*found 1 .*tab-separated"):
        load_pairs("quora", "test", tmp_path)
    _write(path, "1\tq one ?\tq two ?\t7\n2\tq three ?\tq four ?\t8\n")
    with pytest.raises(DataFormatError, match=f"{path}:2: is_duplicate must be 0 or 1"):
        load_pairs("quora", "test", tmp_path)


def test_sick_non_utf8_and_bad_header(tmp_path: Path) -> None:
    header = b"pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\r\n"
    rows = b"1\tA dog.\tA cat.\t2.0\tNEUTRAL\r\n2\tA caf\xe9.\tA bar.\t3\tNEUTRAL\r\n"
    path = _write(tmp_path / "sick" / "SICK_trial.txt", header + rows)
    with pytest.raises(DataFormatError, match=f"{path}:3: invalid UTF-8"):
        load_pairs("sick", "dev", tmp_path)
    _write(path, header + b"1\tA dog.\tA cat.\t2.0\tMAYBE\r\n")
    with pytest.raises(DataFormatError, match=f"{path}:2: unknown entailment judgment 'MAYBE'"):
        load_pairs("sick-e", "dev", tmp_path)
    _write(path, b"1\tA dog.\tA cat.\t2.0\tNEUTRAL\n")
    with pytest.raises(DataFormatError, match=f"{path}:1: unexpected header"):
        load_pairs("sick", "dev", tmp_path)


def test_empty_benchmark_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "mrpc" / "msr_paraphrase_test.txt", b"\xef\xbb\xbf")
    with pytest.raises(DataFormatError, match=f"{path}:1: file is empty"):
        load_pairs("mrpc", "test", tmp_path)


# --------------------------------------------------------------------------------------------
# User files
# --------------------------------------------------------------------------------------------


def test_user_csv_tsv_jsonl_json(tmp_path: Path) -> None:
    csv_path = _write(tmp_path / "p.csv", 'id,s1,s2,y\n1,"Hello, world",Hi,1\n\n2,"He said ""no""",No,0\n')
    ds = load_pairs_from_file(csv_path, text_a="s1", text_b="s2", label="y")
    assert ds.column_names == ["text_a", "text_b", "label"]
    assert ds["text_a"] == ["Hello, world", 'He said "no"']
    assert ds["label"] == [1, 0] and ds.features["label"].dtype == "int64"

    tsv_path = _write(tmp_path / "p.tsv", 'text_a\ttext_b\tlabel\r\nA "quoted\tB\t4.5\r\nC\tD\t1\r\n')
    ds = load_pairs_from_file(tsv_path)
    assert ds["text_a"] == ['A "quoted', "C"]
    assert ds["label"] == [4.5, 1.0] and ds.features["label"].dtype == "float64"

    jsonl_path = _write(tmp_path / "p.jsonl", '{"a": "x", "b": "y", "s": 0.25}\n{"a": "u", "b": "v", "s": "3"}\n')
    ds = load_pairs_from_file(jsonl_path, text_a="a", text_b="b", label="s")
    assert ds["label"] == [0.25, 3.0]

    json_path = _write(tmp_path / "p.json", '[{"text_a": "x", "text_b": "y"}, {"text_a": "u", "text_b": "v"}]')
    ds = load_pairs_from_file(json_path, label=None)
    assert ds.column_names == ["text_a", "text_b"] and len(ds) == 2


def test_user_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", "text_a,other,label\nx,y,1\n")
    with pytest.raises(DataFormatError, match=rf"{path}:1: missing column\(s\) \['text_b'\]"):
        load_pairs_from_file(path)
    path = _write(tmp_path / "m.csv", "text_a,text_b\nx,y\n")  # a label named explicitly is required
    with pytest.raises(DataFormatError, match=rf"{path}:1: missing column\(s\) \['label'\]"):
        load_pairs_from_file(path, label="label")
    assert load_pairs_from_file(path).column_names == ["text_a", "text_b"]  # label="auto": none found, none read
    assert len(load_pairs_from_file(path, label=None)) == 1
    path = _write(tmp_path / "m.jsonl", '{"text_a": "x", "text_b": "y", "label": 1}\n{"text_a": "x", "label": 1}\n')
    with pytest.raises(DataFormatError, match=rf"{path}:2: missing key\(s\) \['text_b'\]"):
        load_pairs_from_file(path)


def test_user_non_numeric_label(tmp_path: Path) -> None:
    path = _write(tmp_path / "n.csv", "text_a,text_b,label\nx,y,1\nx,y,0\nx,y,yes\n")
    with pytest.raises(DataFormatError, match=f"{path}:4: non-numeric label 'yes'"):
        load_pairs_from_file(path)


def test_user_boolean_labels(tmp_path: Path) -> None:
    """True / False labels, as pandas writes a boolean column (and as ``datasets`` reads it back), are 1 / 0."""
    path = _write(tmp_path / "b.csv", "question1,question2,is_duplicate\nx,y,True\nx,z,False\nu,v,true\n")
    pairs = load_pairs_from_file(path)
    assert pairs["label"] == [1, 0, 1] and pairs.features["label"].dtype == "int64"
    path = _write(tmp_path / "b.jsonl", '{"text_a": "x", "text_b": "y", "label": "FALSE"}\n')
    assert load_pairs_from_file(path)["label"] == [0]
    path = _write(tmp_path / "t.csv", "text_a,text_b,label\nx,y,truth\n")
    with pytest.raises(DataFormatError, match=f"{path}:2: non-numeric label 'truth'"):
        load_pairs_from_file(path)


def test_user_wrong_delimiter(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", "text_a;text_b;label\nx;y;1\n")
    with pytest.raises(DataFormatError, match=f"{path}:1: only one column found.*delimiter"):
        load_pairs_from_file(path)
    assert load_pairs_from_file(path, delimiter=";")["label"] == [1]
    path = _write(tmp_path / "d.tsv", "text_a\ttext_b\tlabel\nx\ty\t1\nx y 1\n")
    with pytest.raises(DataFormatError, match=f"{path}:3: expected 3 columns, found 1"):
        load_pairs_from_file(path)


def test_user_empty_file_and_header_only(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.csv", "")
    with pytest.raises(DataFormatError, match=f"{path}:1: file is empty"):
        load_pairs_from_file(path)
    path = _write(tmp_path / "h.csv", "text_a,text_b,label\n")
    with pytest.raises(DataFormatError, match=f"{path}:1: no data rows"):
        load_pairs_from_file(path)


def test_user_non_utf8(tmp_path: Path) -> None:
    path = _write(tmp_path / "u.csv", b"text_a,text_b,label\nx,y,1\ncaf\xe9,y,0\n")
    with pytest.raises(DataFormatError, match=f"{path}:3: invalid UTF-8"):
        load_pairs_from_file(path)


def test_user_bad_json_and_unknown_extension(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.jsonl", '{"text_a": "x", "text_b": "y", "label": 1}\n{"text_a": \n')
    with pytest.raises(DataFormatError, match=f"{path}:2: invalid JSON"):
        load_pairs_from_file(path)
    with pytest.raises(ValueError, match="cannot infer the format"):
        load_pairs_from_file(_write(tmp_path / "x.parquet", "x"))
    with pytest.raises(FileNotFoundError, match="file not found"):
        load_pairs_from_file(tmp_path / "absent.csv")


@pytest.mark.parametrize(
    ("header", "row", "label"),
    [
        ("sentence1,sentence2,score", "A man plays.,A man is playing.,4.8", 4.8),
        ("anchor,positive", "How do I learn Python?,How can I learn Python?", None),
        ("question1,question2,is_duplicate", "a?,b?,1", 1),
        ("text_a,text_b,label,score", "x,y,1,0.3", 1),  # label wins over score
    ],
)
def test_user_file_with_sentence_transformers_column_names(tmp_path: Path, header: str, row: str, label) -> None:
    path = _write(tmp_path / "st.csv", f"{header}\n{row}\n")
    ds = load_pairs_from_file(path)
    assert ds.column_names[:2] == ["text_a", "text_b"]
    assert ds["text_a"][0] == row.split(",")[0]
    assert (ds["label"][0] if "label" in ds.column_names else None) == label


def test_user_file_columns_can_be_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "left,right,gold\na,b,2.5\n")
    ds = load_pairs_from_file(path, text_a="left", text_b="right", label="gold")
    assert ds["text_b"] == ["b"] and ds["label"] == [2.5]
