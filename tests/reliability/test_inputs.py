"""#15 item 5: what a text and a batch are; everything else is refused with a clear message."""

from __future__ import annotations

from collections import OrderedDict, deque

import numpy as np
import pandas as pd
import pytest

import textsiam
from textsiam.texts import as_text_list


def test_zero_d_numpy_string_is_one_text(tiny_model):
    assert as_text_list(np.array("a cat"), "a") == (["a cat"], True)
    score = tiny_model.similarity(np.array("a cat"), np.array("a dog"))
    assert isinstance(score, float)
    assert score == pytest.approx(tiny_model.similarity("a cat", "a dog"), abs=1e-6)


@pytest.mark.parametrize(
    "batch",
    [["x", "y"], ("x", "y"), np.array(["x", "y"]), pd.Series(["x", "y"]), pd.Index(["x", "y"]), deque(["x", "y"])],
    ids=["list", "tuple", "ndarray", "series", "index", "deque"],
)
def test_ordered_batches_are_accepted(batch):
    assert as_text_list(batch, "a") == (["x", "y"], False)


def test_a_series_with_a_shuffled_index_keeps_its_order(tiny_model):
    s = pd.Series(["b text", "a text"], index=[5, 1])
    assert as_text_list(s, "a")[0] == ["b text", "a text"]


@pytest.mark.parametrize(
    "batch",
    [{"x", "y"}, frozenset({"x", "y"}), {"x": 1, "y": 2}, OrderedDict(x=1), {"x": 1}.keys(), {"x": 1}.values()],
    ids=["set", "frozenset", "dict", "ordereddict", "keys", "values"],
)
def test_unordered_collections_are_refused(tiny_model, batch):
    with pytest.raises(TypeError, match="has no order to pair texts by"):
        tiny_model.similarity(batch, ["x", "y"][: len(batch)])
    with pytest.raises(TypeError, match="has no order"):
        tiny_model.encode(batch)


def test_lone_surrogate_is_reported_with_its_index(tiny_model):
    with pytest.raises(ValueError, match=r"b\[2\] is not valid Unicode: surrogates not allowed at character 3"):
        tiny_model.similarity(["a", "b", "c"], ["ok", "fine", "bad\ud800text"])
    with pytest.raises(ValueError, match=r"^texts is not valid Unicode"):
        tiny_model.encode("\udfff")


def test_two_d_array_is_refused(tiny_model):
    with pytest.raises(ValueError, match=r"1-D array of strings, got shape \(1, 2\)"):
        tiny_model.encode(np.array([["x", "y"]]))


def test_zero_d_non_string_array_is_refused(tiny_model):
    with pytest.raises(TypeError, match="0-d array of int"):
        tiny_model.encode(np.array(3))


def test_facade_refuses_sets_too(tiny_model):
    with pytest.raises(TypeError, match="no order"):
        textsiam.similarity({"a", "b"}, {"c", "d"}, model=tiny_model)


def test_num_threads_and_normalize_must_have_the_right_type(tiny_model, tiny_model_dir):
    with pytest.raises(ValueError, match="num_threads must be a positive int"):
        tiny_model.encode("x", num_threads=True)
    with pytest.raises(ValueError, match="num_threads must be a positive int"):
        textsiam.SiameseModel.from_pretrained(tiny_model_dir, num_threads=True)
    with pytest.raises(TypeError, match="normalize must be True or False"):
        textsiam.SiameseModel.from_pretrained(tiny_model_dir, normalize="false")
    with pytest.raises(TypeError, match="normalize must be True, False or None"):
        tiny_model.encode("x", normalize="false")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        tiny_model.encode("x", batch_size=True)


# ---------------------------------------------------------------------------------------------- input files (#24)
def test_input_file_check_names_what_the_path_is(tmp_path):
    import os

    from textsiam.io_utils.input_paths import check_input_file

    regular = tmp_path / "ok.txt"
    regular.write_text("x\n", encoding="utf-8")
    assert check_input_file(regular) == regular
    link = tmp_path / "link.txt"
    link.symlink_to(regular)
    assert check_input_file(link) == link  # a link to a regular file is one
    with pytest.raises(FileNotFoundError, match=r"^pairs file not found: .*nope\.tsv$"):
        check_input_file(tmp_path / "nope.tsv", "pairs file")
    with pytest.raises(FileNotFoundError, match=r"not found: .*ok\.txt/x"):  # a "folder" on the way is a file
        check_input_file(regular / "x")
    with pytest.raises(IsADirectoryError, match=r"^input file .* is a directory, not a file$"):
        check_input_file(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # never opened: opening a FIFO without a writer would block
    with pytest.raises(ValueError, match=r"is a FIFO \(named pipe\), not a regular file: textsiam reads an input"):
        check_input_file(fifo)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ValueError, match=r"^input file /dev/zero is a character device, not a regular file"):
            check_input_file("/dev/zero")
    with pytest.raises(TypeError, match="input file must be a path"):
        check_input_file(3)


def test_load_pairs_from_file_names_a_directory(tmp_path):
    from textsiam.data import DataNotFoundError, load_pairs_from_file

    with pytest.raises(IsADirectoryError, match=r"^file .* is a directory, not a file$"):
        load_pairs_from_file(tmp_path)
    with pytest.raises(DataNotFoundError, match=r"^file not found: .*nope\.csv$"):
        load_pairs_from_file(tmp_path / "nope.csv")
