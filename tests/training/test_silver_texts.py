"""Where silver pairs come from (#26): ``silver_texts`` names the training texts, benchmark splits, text files and
data files; the pool is their distinct texts in order; bad sources are refused before anything is read."""

from __future__ import annotations

import logging
import re

import pytest

from textsiam.training import ConfigError, TrainConfig
from textsiam.training.silver_checks import silver_texts_problems
from textsiam.training.silver_texts import given_texts, silver_text_pool


def test_the_pool_joins_the_sources_in_order_without_repeats(tmp_path):
    txt = tmp_path / "questions.txt"
    txt.write_text("how do I cook rice?\n\nthe cat sat\nhow do I cook rice?\nwhy is the sky blue?\n", encoding="utf-8")
    csv = tmp_path / "pairs.csv"
    csv.write_text("sentence1,sentence2,score\nthe cat sat,a dog ran,1.0\nbirds sing,why is the sky blue?,0.5\n")
    pool = silver_text_pool(["train", str(txt), str(csv)], ["the cat sat", "a cat sits"], TrainConfig())
    assert pool.texts == [
        "the cat sat", "a cat sits",  # train
        "how do I cook rice?", "why is the sky blue?",  # the .txt file: blank line skipped, repeats once
        "a dog ran", "birds sing",  # the pairs file: both text columns, no label
    ]  # fmt: skip
    assert [(s["source"], s["texts"], s["new"]) for s in pool.sources] == [
        ("train", 2, 2),
        (str(txt), 3, 2),  # the blank line is no text
        (str(csv), 4, 2),
    ]


def test_a_benchmark_split_gives_both_columns_texts(data_dir, caplog):
    config = TrainConfig(data_dir=data_dir)
    with caplog.at_level(logging.WARNING, logger="textsiam.training.silver_texts"):
        pool = silver_text_pool(["sick:train"], [], config)
    assert len(pool.texts) == 4802 and pool.sources == [{"source": "sick:train", "texts": 4802, "new": 4802}]
    assert not caplog.text
    with caplog.at_level(logging.WARNING, logger="textsiam.training.silver_texts"):
        silver_text_pool(["sick:test"], [], config)
    assert "sick:test is a test split: figures on it are no longer held out" in caplog.text


def test_a_source_that_cannot_be_read_or_holds_too_little_is_refused(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff broken\n")
    with pytest.raises(ConfigError, match=r"silver_texts: .*bad.txt: .*bad.txt:2: invalid UTF-8"):
        silver_text_pool([str(bad)], [], TrainConfig())
    one = tmp_path / "one.txt"
    one.write_text("only me\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"silver_texts: \[.*one.txt'\] hold 1 distinct text\(s\); pairs need two"):
        silver_text_pool([str(one)], [], TrainConfig())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("train", "give a list of sources"),
        ([], "name at least one source"),
        (["train", 3], "each source is train, NAME:SPLIT or a file path, got 3"),
        (["sick"], r"'sick' names no split; write NAME:SPLIT \(e.g. sick:train\)"),
        (["stsb:nope"], "dataset 'stsb' has no split 'nope'"),
        (["nosuch:train"], "silver_texts: .*nosuch"),
        (["missing/texts.txt"], "silver_texts: file not found: missing/texts.txt"),
        (["train", "sick:train", "train"], "train given more than once"),
    ],
)
def test_bad_sources_are_named(value, message):
    problems = silver_texts_problems(value)
    assert len(problems) == 1 and re.search(message, problems[0]), problems


def test_the_setting_is_checked_with_the_config_and_only_with_a_teacher():
    assert silver_texts_problems(["train", "sick:dev"]) == []
    with pytest.raises(ConfigError, match="silver_texts: 'quora' names no split"):
        TrainConfig(silver_teacher="t", silver_texts=["quora"]).validate()
    with pytest.raises(ConfigError, match="silver_texts: setting.* of the teacher pipeline, which is off"):
        TrainConfig(silver_texts=["sick:train"]).validate()


def test_texts_given_from_python_stand_in_the_recipe_under_a_name():
    import datasets

    from textsiam.training.sources import GivenData

    given = GivenData()
    table = datasets.Dataset.from_dict({"text": ["x y", "y z"], "label": [1, 0]})
    value = given_texts(["train", ["a b", "b c", "a b"], table, "sick:train"], given)
    assert value == ["train", "<in-memory texts 1: 3 texts>", "<in-memory texts 2: 2 texts>", "sick:train"]
    assert given.texts["<in-memory texts 2: 2 texts>"] == ["x y", "y z"]  # the text column, not the labels
    assert silver_texts_problems(value) == []
    pool = silver_text_pool(value[:3], ["a b"], TrainConfig(), given)
    assert pool.texts == ["a b", "b c", "x y", "y z"]
    with pytest.raises(TypeError, match=r"silver_texts\[1\]: texts must be strings, got int 3"):
        given_texts(["train", ["a", 3]], GivenData())
    with pytest.raises(TypeError, match=r"silver_texts\[0\]: texts must be strings, got NoneType None"):
        given_texts([datasets.Dataset.from_dict({"text": ["a", None]})], GivenData())
    with pytest.raises(TypeError, match=r"silver_texts\[0\]: give a source .* got dict"):
        given_texts([{"text": ["a"]}], GivenData())
    with pytest.raises(ConfigError, match="'<in-memory texts 1: 3 texts>' stands for texts given to textsiam.fit"):
        silver_text_pool(value[:2], ["a b"], TrainConfig())  # a saved recipe run again, without them
