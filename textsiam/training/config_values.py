"""Config values read by their type hints: YAML / JSON values and ``--set`` strings checked against a field's type.

A value comes from a config file (already parsed by ``yaml.safe_load`` or ``json``) or from the command line
(``--set key=value``, a string). :func:`convert` checks it against the field's type hint and converts only what is
unambiguous, or raises ``ValueError`` naming the field and the expected type:

* ``str``: a string as given (a path, or a number from YAML such as ``train_split: 2020``, becomes its text);
* ``int`` / ``float``: numbers, never booleans; a string by Python's ``int()`` / ``float()`` (``3e-5``, ``1_000``;
  YAML 1.1 would read ``3e-5`` as a string and ``010`` as octal). Floats must be finite; an integer field takes
  a float only when it is whole (``2.0``);
* ``bool``: ``true`` / ``false`` or YAML's other boolean words (``yes`` / ``no`` / ``on`` / ``off``) and ``1`` /
  ``0``, read by ``yaml.safe_load``;
* ``None`` (optional fields): ``null`` / ``~`` / ``none``; a non-optional list or mapping takes it as empty;
* ``list[T]``: a list, a YAML / JSON flow sequence (``[a, b]``) or the shorthand ``a,b,c``; each item as a ``T``;
* ``dict[str, T]``: a mapping or a YAML / JSON flow mapping (``{scale: 20}``); each value as a ``T`` (for ``Any``,
  strings that read as numbers become numbers);
* ``Literal[...]``, other ``Union[...]`` (the first arm that fits, text last; where text fits, a string is read as
  a mapping only when written as one, ``{...}``) and ``Any`` (as given).

:func:`type_problem` is the strict check of a value set in Python (``TrainConfig(bf16="false")``), without
conversion: ``bool("false")`` would be ``True``.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import types
import typing
from typing import Any, Literal, Union

import yaml

#: Words for "no value" in an optional field (besides YAML's own ``null`` / ``~``).
NONE_WORDS: frozenset[str] = frozenset({"none", "null", "~"})

_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_INTEGER = re.compile(r"[-+]?\d+")
_SCALAR_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", Any: "any value"}
_PLURALS = {bool: "booleans", int: "integers", float: "finite numbers", str: "strings"}


# ---------------------------------------------------------------------------------------------- type hints
def strip_optional(tp: Any) -> tuple[Any, bool]:
    """``(type without None, whether None was allowed)``: ``int | None`` -> ``(int, True)``."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = typing.get_args(tp)
        rest = tuple(a for a in args if a is not type(None))
        optional = len(rest) < len(args)
        if len(rest) == 1:
            return rest[0], optional
        return Union[rest], optional
    return tp, False


def is_list_type(tp: Any) -> bool:
    """Whether ``tp`` (optional or not) is ``list`` or ``list[T]``."""
    base, _ = strip_optional(tp)
    return base is list or typing.get_origin(base) is list


def is_mapping_type(tp: Any) -> bool:
    """Whether ``tp`` (optional or not) is ``dict`` or ``dict[K, V]``."""
    base, _ = strip_optional(tp)
    return base is dict or typing.get_origin(base) is dict


def can_hold_mapping(tp: Any) -> bool:
    """Whether a value of type ``tp`` may be a mapping: a mapping type, or a union with one (``str | dict``)."""
    return is_mapping_type(tp) or any(is_mapping_type(arm) for arm in typing.get_args(tp))


def type_name(tp: Any) -> str:
    """How messages and ``--list-options`` name a type: ``"an integer or none"``, ``"a list (a,b,c or JSON)"``."""
    base, optional = strip_optional(tp)
    origin = typing.get_origin(base)
    if is_list_type(base):
        name = "a list (a,b,c or JSON)"
    elif is_mapping_type(base):
        name = "a mapping (JSON / YAML)"
    elif origin is Literal:
        name = f"one of {list(typing.get_args(base))}"
    elif origin in (Union, types.UnionType):
        name = " or ".join(type_name(arm) for arm in typing.get_args(base))
    else:
        name = _SCALAR_NAMES.get(base, getattr(base, "__name__", str(base)))
    return f"{name} or none" if optional else name


def _item_type(tp: Any, index: int) -> Any:
    args = typing.get_args(strip_optional(tp)[0])
    return args[index] if len(args) > index else Any


def _takes_text(tp: Any) -> bool:
    """Whether a string is a valid value of ``tp`` as it is (so ``"none"`` must stay a string)."""
    base, _ = strip_optional(tp)
    origin = typing.get_origin(base)
    if origin is Literal:
        return any(isinstance(choice, str) for choice in typing.get_args(base))
    if origin in (Union, types.UnionType):
        return any(_takes_text(arm) for arm in typing.get_args(base))
    return base in (str, Any)


# ---------------------------------------------------------------------------------------------- text
def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of one value; ``ValueError`` (with YAML's reason) for text that is not valid YAML."""
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as err:
        lines = str(err).splitlines()
        reason = getattr(err, "problem", None) or (lines[0] if lines else type(err).__name__)
        raise ValueError(f"not valid YAML ({reason})") from None


def read_number(text: str) -> Any:
    """``text`` as an ``int`` / ``float`` if it is written as a number (``20``, ``0.5``, ``3e-5``), else unchanged."""
    stripped = text.strip()
    if _INTEGER.fullmatch(stripped):
        return int(stripped)
    if _NUMBER.fullmatch(stripped):
        return float(stripped)
    return text


def read_untyped(text: str) -> Any:
    """A ``--set`` value of no declared type (``loss_kwargs.scale=20``): a number, else ``yaml.safe_load``'s value.

    Text that is not valid YAML stays text.
    """
    value = read_number(text)
    if value is not text:
        return value
    try:
        return load_yaml(text.strip())
    except ValueError:
        return text.strip()


# ---------------------------------------------------------------------------------------------- conversion
def convert(value: Any, tp: Any, name: str) -> Any:
    """``value`` (a YAML / JSON value or a ``--set`` string) checked and converted to the type hint ``tp``.

    Args:
        value: the value to read.
        tp: the field's type hint (``int``, ``float | None``, ``list[str]``, ``dict[str, Any]``, ``Literal[...]``).
        name: the field name, for the message.

    Raises:
        ValueError: the value does not fit (``"batch_size: expected an integer, got 2.5"``).
        TypeError: ``tp`` is a type hint this module does not read (a mistake in the field's declaration).
    """
    base, optional = strip_optional(tp)
    if _is_none(value, tp):
        if optional or base is Any:
            return None
        if is_list_type(base):
            return []
        if is_mapping_type(base):
            return {}
        raise ValueError(f"{name}: expected {type_name(tp)}, got {value!r} (this field is not optional)")
    origin = typing.get_origin(base)
    if base is Any or base is object:
        return value
    if origin is Literal:
        return _convert_literal(value, base, name)
    if origin in (Union, types.UnionType):
        return _convert_union(value, base, name)
    if is_list_type(base):
        return _convert_list(value, base, name)
    if is_mapping_type(base):
        return _convert_mapping(value, base, name)
    converter = _SCALARS.get(base)
    if converter is None:
        raise TypeError(f"{name}: no conversion for the type {tp!r}")
    result = converter(value)
    if result is _NO_FIT:
        raise ValueError(f"{name}: expected {type_name(tp)}, got {value!r}")
    if base is float and not math.isfinite(result):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return result


def _is_none(value: Any, tp: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    word = value.strip().lower()
    if _takes_text(tp):  # "none" is a valid string (augment: none); only an optional field reads it as None
        return strip_optional(tp)[1] and word in NONE_WORDS
    return word in NONE_WORDS or word == ""


_NO_FIT = object()


def _to_bool(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = load_yaml(value)
        except ValueError:
            return _NO_FIT
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    return _NO_FIT


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return _NO_FIT
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
        try:
            value = float(value.strip())
        except ValueError:
            return _NO_FIT
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return _NO_FIT


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _NO_FIT
    try:
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):  # an int too large for a float
        pass
    return _NO_FIT


def _to_str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _NO_FIT


_SCALARS = {bool: _to_bool, int: _to_int, float: _to_float, str: _to_str}


def _convert_literal(value: Any, tp: Any, name: str) -> Any:
    choices = typing.get_args(tp)
    for choice in choices:
        if type(value) is type(choice) and value == choice:
            return choice
    if isinstance(value, str):
        for choice in choices:
            try:
                if convert(value, type(choice), name) == choice:
                    return choice
            except ValueError:
                continue
    raise ValueError(f"{name}: expected {type_name(tp)}, got {value!r}")


def _convert_union(value: Any, tp: Any, name: str) -> Any:
    arms = sorted(typing.get_args(tp), key=_takes_text)  # text last: "3" is a number where one fits
    if isinstance(value, str) and not value.strip().startswith("{") and any(_takes_text(arm) for arm in arms):
        arms = [arm for arm in arms if not is_mapping_type(arm)]  # "name: x" is text, not YAML's {name: x}
    for arm in arms:
        try:
            return convert(value, arm, name)
        except ValueError:
            continue
    raise ValueError(f"{name}: expected {type_name(tp)}, got {value!r}")


def _convert_list(value: Any, tp: Any, name: str) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = load_yaml(text)
            except ValueError as err:
                raise ValueError(f"{name}: expected {type_name(tp)}, got {text!r}: {err}") from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected {type_name(tp)}, got {value!r}")
    item_type = _item_type(tp, 0)
    out = []
    for item in value:
        try:
            out.append(convert(item, item_type, name))
        except ValueError:
            what = _PLURALS.get(item_type, type_name(item_type))
            raise ValueError(f"{name}: expected a list of {what}, got the item {item!r}") from None
    return out


def _convert_mapping(value: Any, tp: Any, name: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            parsed = load_yaml(value) if value.strip() else {}
        except ValueError:
            parsed = None  # not valid YAML
        if not isinstance(parsed, dict):
            raise ValueError(f'{name}: expected {type_name(tp)} (e.g. {{"scale": 20}}), got {value!r}')
        value = parsed
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected {type_name(tp)}, got {value!r}")
    value_type = _item_type(tp, 1)
    out = {}
    for key, item in value.items():
        if value_type is Any:  # e.g. loss_kwargs: {scale: '25'} -> 25
            out[str(key)] = read_number(item) if isinstance(item, str) else item
        else:
            out[str(key)] = convert(item, value_type, f"{name}.{key}")
    return out


# ---------------------------------------------------------------------------------------------- strict checks
def has_type(value: Any, tp: Any) -> bool:
    """Whether ``value`` is a valid ``bool`` / ``int`` / ``float`` / ``str`` value as it is.

    Booleans are real ``bool``; integers are ``int`` but not ``bool``; floats are finite real numbers (not
    ``bool``); strings may be paths.
    """
    if tp is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if tp is int:
        return isinstance(value, numbers.Integral)
    if tp is float:
        try:
            return isinstance(value, numbers.Real) and math.isfinite(value)
        except OverflowError:  # an int too large for a float
            return False
    if tp is str:
        return isinstance(value, (str, os.PathLike))
    return True


def type_problem(value: Any, tp: Any, name: str) -> str | None:
    """The problem with ``value`` as a value of ``tp`` (no conversion), or ``None`` if it fits.

    Lists and mappings are checked for their container type, and list items of a scalar type with
    :func:`has_type`.
    """
    base, optional = strip_optional(tp)
    if value is None and optional:
        return None
    origin = typing.get_origin(base)
    if is_list_type(base):
        if not isinstance(value, list):
            return f"{name}: expected a list, got {value!r}"
        item_type = _item_type(base, 0)
        bad = [item for item in value if item_type in _PLURALS and not has_type(item, item_type)]
        return f"{name}: expected a list of {_PLURALS[item_type]}, got the item {bad[0]!r}" if bad else None
    if is_mapping_type(base):
        return None if isinstance(value, dict) else f"{name}: expected a mapping, got {value!r}"
    if origin is Literal:
        return None if value in typing.get_args(base) else f"{name}: expected {type_name(tp)}, got {value!r}"
    if origin in (Union, types.UnionType):
        fits = any(type_problem(value, arm, name) is None for arm in typing.get_args(base))
        return None if fits else f"{name}: expected {type_name(tp)}, got {value!r}"
    if has_type(value, base):
        return None
    if base is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{name} must be a finite number, got {value!r}"
    return f"{name}: expected {type_name(tp)}, got {value!r}"
