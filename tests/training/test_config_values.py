"""config_values: config values read by their type hints (YAML / JSON values and ``--set`` strings)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import pytest

from textsiam.training.config_values import (
    convert,
    is_list_type,
    is_mapping_type,
    read_number,
    read_untyped,
    strip_optional,
    type_name,
    type_problem,
)

GOOD = [
    # bool: YAML's boolean words (by yaml.safe_load), 0 / 1
    (bool, True, True),
    (bool, False, False),
    (bool, "true", True),
    (bool, " TRUE ", True),
    (bool, "False", False),
    (bool, "yes", True),
    (bool, "no", False),
    (bool, "on", True),
    (bool, "off", False),
    (bool, 1, True),
    (bool, 0, False),
    (bool, "1", True),
    (bool, "0", False),
    # int: Python's int(); whole floats
    (int, 3, 3),
    (int, "3", 3),
    (int, " -3 ", -3),
    (int, "1_000", 1000),
    (int, "010", 10),  # YAML 1.1 would read octal 8
    (int, 2.0, 2),
    (int, "2.0", 2),
    (int, "1e3", 1000),
    (int, np.int64(7), 7),
    (int, 10**30, 10**30),
    # float: Python's float(), finite
    (float, 1, 1.0),
    (float, 2.5, 2.5),
    (float, "3e-5", 3e-5),  # YAML 1.1 would read a string
    (float, " 0.5 ", 0.5),
    (float, "1_000.5", 1000.5),
    (float, np.float32(0.5), 0.5),
    # str: as given; numbers and paths become text
    (str, "x", "x"),
    (str, "none", "none"),  # a valid string where None is not allowed (augment: none)
    (str, "", ""),
    (str, 2020, "2020"),
    (str, Path("runs/x"), str(Path("runs/x"))),
    # optional
    (int | None, None, None),
    (int | None, "none", None),
    (int | None, "None", None),
    (int | None, "null", None),
    (int | None, "~", None),
    (int | None, "", None),
    (int | None, "5", 5),
    (str | None, "none", None),
    (str | None, "null", None),
    (str | None, "", ""),
    (str | None, "stsb", "stsb"),
    (bool | None, "no", False),
    (float | None, "0.5", 0.5),
    # lists: a list, [a, b] (YAML / JSON), or a,b,c
    (list[str], ["a", "b"], ["a", "b"]),
    (list[str], "a,b", ["a", "b"]),
    (list[str], " a, b ,", ["a", "b"]),
    (list[str], "[a, b]", ["a", "b"]),
    (list[str], '["mrpc"]', ["mrpc"]),
    (list[str], "[]", []),
    (list[str], ("a",), ["a"]),
    (list[str], [1], ["1"]),
    (list[str], None, []),
    (list[str], "none", []),
    (list[float], "0.5,0.7", [0.5, 0.7]),
    (list[float], "[0.5, 1]", [0.5, 1.0]),
    (list[float], [1, "2"], [1.0, 2.0]),
    (list[int] | None, "none", None),
    (list, [1, "a"], [1, "a"]),
    # mappings: a mapping or a YAML / JSON flow mapping; Any values that read as numbers become numbers
    (dict[str, Any], {"scale": "25"}, {"scale": 25}),
    (
        dict[str, Any],
        {"scale": "2.5e1", "similarity": "dot", "on": True},
        {"scale": 25.0, "similarity": "dot", "on": True},
    ),
    (dict[str, Any], '{"scale": 20}', {"scale": 20}),
    (dict[str, Any], "{scale: 20, similarity: dot}", {"scale": 20, "similarity": "dot"}),
    (dict[str, Any], "", {}),
    (dict[str, Any], None, {}),
    (dict[str, Any], {1: 2}, {"1": 2}),
    (dict[str, float], {"a": "1.5", "b": 2}, {"a": 1.5, "b": 2.0}),
    (dict, {"a": "1"}, {"a": 1}),
    # Literal, Union, Any
    (Literal["a", "b", 1], "a", "a"),
    (Literal["a", "b", 1], 1, 1),
    (Literal["a", "b", 1], "1", 1),
    (Literal["auto", "none"], "none", "none"),
    (Literal["x"] | None, "none", None),
    (Union[int, str], "3", 3),  # the typing spelling
    (int | str, "x", "x"),
    (int | float, 2.5, 2.5),
    (int | float, "2", 2),
    # where text fits, a string is a mapping only when written as one (a name with ": " stays a name)
    (str | dict[str, Any], "<in-memory teacher 0: X>", "<in-memory teacher 0: X>"),
    (str | dict[str, Any], "{train: {epochs: 2}}", {"train": {"epochs": 2}}),
    (str | dict[str, Any] | list[str | dict[str, Any]], "a: b", ["a: b"]),
    (list[str | dict[str, Any]], "[{train: {}}, runs/a]", [{"train": {}}, "runs/a"]),
    (list[str | dict[str, Any]], ["x: y", {"train": None}], ["x: y", {"train": None}]),
    (Any, [1, {"a": None}], [1, {"a": None}]),
    (Any, None, None),
]


def _shape(value: Any) -> Any:
    """The types inside ``value`` (so that ``1`` and ``1.0``, or ``True`` and ``1``, differ)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value)


@pytest.mark.parametrize(("tp", "value", "expected"), GOOD, ids=lambda x: repr(x)[:30])
def test_good_values(tp, value, expected):
    out = convert(value, tp, "field")
    assert out == expected
    assert _shape(out) == _shape(expected)


BAD = [
    (bool, "maybe", "expected a boolean"),
    (bool, "flase", "expected a boolean"),
    (bool, 2, "expected a boolean"),
    (bool, -1, "expected a boolean"),
    (bool, 0.5, "expected a boolean"),
    (bool, [], "expected a boolean"),
    (bool, {}, "expected a boolean"),
    (bool, None, "not optional"),
    (bool, "", "not optional"),
    (bool, "[", "expected a boolean"),  # not valid YAML
    (int, True, "expected an integer"),
    (int, 2.5, "expected an integer, got 2.5"),
    (int, "2.5", "expected an integer"),
    (int, "abc", "expected an integer"),
    (int, "inf", "expected an integer"),
    (int, math.nan, "expected an integer"),
    (int, [1], "expected an integer"),
    (int, None, "not optional"),
    (float, True, "expected a number"),
    (float, "abc", "expected a number"),
    (float, "1,5", "expected a number"),
    (float, math.inf, "must be a finite number"),
    (float, "nan", "must be a finite number"),
    (float, "-inf", "must be a finite number"),
    (float, 10**400, "expected a number"),
    (float, [0.5], "expected a number"),
    (float | None, "x", "expected a number or none"),
    (str, True, "expected a string"),
    (str, [], "expected a string"),
    (str, {"a": 1}, "expected a string"),
    (str, None, "not optional"),
    (list[str], 3, "expected a list"),
    (list[str], {"a": 1}, "expected a list"),
    (list[str], "[a", "not valid YAML"),
    (list[str], [True], "expected a list of strings, got the item True"),
    (list[float], ["x"], "expected a list of finite numbers, got the item 'x'"),
    (list[float], [math.nan], "list of finite numbers"),
    (list[float], [10**400], "list of finite numbers"),
    (list[float], "0.5,x", "got the item 'x'"),
    (dict[str, Any], "[1]", "expected a mapping"),
    (dict[str, Any], "scale=20", "expected a mapping"),
    (dict[str, Any], "{a", "expected a mapping"),
    (dict[str, Any], 3, "expected a mapping"),
    (dict[str, Any], [], "expected a mapping"),
    (dict[str, float], {"a": "x"}, r"field\.a: expected a number"),
    (Literal["a", "b"], "c", r"expected one of \['a', 'b'\]"),
    (Literal["a", 1], True, "expected one of"),
    (int | float, "x", "expected an integer or a number"),
]


@pytest.mark.parametrize(("tp", "value", "message"), BAD, ids=lambda x: repr(x)[:30])
def test_bad_values_name_the_field_and_the_type(tp, value, message):
    with pytest.raises(ValueError, match=message) as info:
        convert(value, tp, "field")
    assert str(info.value).startswith("field")


def test_an_unsupported_type_is_a_type_error():
    with pytest.raises(TypeError, match="no conversion"):
        convert(1, complex, "field")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20", 20),
        (" 0.5 ", 0.5),
        ("3e-5", 3e-5),
        ("010", 10),
        ("dot", "dot"),
        ("false", False),
        ("null", None),
        ("[1, 2]", [1, 2]),
        ("{a: 1}", {"a": 1}),
        ("[x", "[x"),  # not valid YAML: the text
    ],
)
def test_read_untyped(text, expected):
    assert read_untyped(text) == expected


def test_read_number_leaves_other_text():
    assert read_number("25") == 25 and read_number("-2.5e1") == -25.0
    for text in ("dot", "1,5", "inf", "0x10", ""):
        assert read_number(text) == text


@pytest.mark.parametrize(
    ("tp", "value", "problem"),
    [
        (bool, True, None),
        (bool, "false", "field: expected a boolean, got 'false'"),
        (bool, 0, "field: expected a boolean, got 0"),
        (bool, None, "field: expected a boolean, got None"),
        (bool | None, None, None),
        (int, 3, None),
        (int, True, "field: expected an integer, got True"),
        (int, 2.0, "field: expected an integer, got 2.0"),
        (int, "16", "field: expected an integer, got '16'"),
        (float, 1, None),
        (float, math.inf, "field must be a finite number, got inf"),
        (float, 10**400, "field must be a finite number"),
        (float, False, "field: expected a number, got False"),
        (str, Path("x"), None),
        (str, 3, "field: expected a string, got 3"),
        (list[float], [0.5, 1], None),
        (list[float], [0.5, math.nan], "field: expected a list of finite numbers, got the item nan"),
        (list[str], "stsb", "field: expected a list, got 'stsb'"),
        (dict[str, Any], {"a": 1}, None),
        (dict[str, Any], [1], "field: expected a mapping, got [1]"),
        (Literal["a"], "a", None),
        (Literal["a"], "b", "field: expected one of ['a'], got 'b'"),
        (int | str, "x", None),
        (int | str, 2.5, "field: expected an integer or a string, got 2.5"),
        (Any, object, None),
    ],
)
def test_type_problem_is_strict(tp, value, problem):
    got = type_problem(value, tp, "field")
    if problem is None:
        assert got is None
    else:
        assert got is not None and got.startswith(problem)


def test_type_helpers():
    assert strip_optional(int | None) == (int, True)
    assert strip_optional(Union[int, None]) == (int, True)
    assert strip_optional(int) == (int, False)
    base, optional = strip_optional(int | str | None)
    assert optional and set(base.__args__) == {int, str}
    assert is_list_type(list[str] | None) and is_list_type(list) and not is_list_type(str)
    assert is_mapping_type(dict[str, Any]) and is_mapping_type(dict | None) and not is_mapping_type(list)
    assert type_name(int | None) == "an integer or none"
    assert type_name(list[float]) == "a list (a,b,c or JSON)"
    assert type_name(dict[str, Any]) == "a mapping (JSON / YAML)"
    assert type_name(Literal["a", "b"]) == "one of ['a', 'b']"
