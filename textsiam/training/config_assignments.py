"""``--set key=value`` assignments applied to a config's data: each value read by its field's type hint
(:func:`~textsiam.training.config_values.convert`), ``key.sub=value`` for one entry of a mapping, and a value
written as one quoted YAML scalar (``"query: "``) taken as the text inside the quotes."""

from __future__ import annotations

import types
import typing
from typing import Any, Union

from textsiam.training.config_values import (
    can_hold_mapping,
    convert,
    is_list_type,
    is_mapping_type,
    load_yaml,
    read_untyped,
    strip_optional,
)


def apply_assignments(
    data: dict[str, Any],
    assignments: list[str],
    field_types: dict[str, Any],
    resolve: typing.Callable[[str], str] | None = None,
) -> list[str]:
    """Apply ``--set key=value`` items to ``data`` in place; return every problem (empty: all applied).

    Values are read by the field's type hint (:func:`convert`); ``key.sub=value`` sets one entry of a mapping field
    (the entry read by :func:`read_untyped`), and ``key.sub.subsub=value`` an entry of a mapping inside it (e.g.
    ``train_datasets.quora.max_train_pairs=1000``). ``resolve`` maps a key to its field name (aliases, dashes) and
    raises ``KeyError`` naming the valid ones; by default dashes become underscores and unknown keys are a problem.
    """

    def default_resolve(key: str) -> str:
        key = key.replace("-", "_")
        if key not in field_types:
            raise KeyError(f"unknown field {key!r}; valid: {', '.join(field_types)}")
        return key

    resolve = resolve or default_resolve
    problems: list[str] = []
    for item in assignments:
        if "=" not in item:
            problems.append(f"--set expects key=value, got {item!r}")
            continue
        raw_key, value = item.split("=", 1)
        raw_key = raw_key.strip()
        head, _, sub = raw_key.partition(".")
        try:
            key = resolve(head.strip())
            if sub:
                if not can_hold_mapping(field_types[key]):
                    raise ValueError(f"{key} is not a mapping; {raw_key!r} cannot set an entry of it")
                if (quoted := _quoted(value)) is not None:
                    entry = quoted
                elif _string_entries(field_types[key]):
                    entry = value
                else:
                    entry = read_untyped(value)
                data[key] = _set_entry(data.get(key) or {}, sub.split("."), entry, raw_key)
            elif (quoted := _quoted(value)) is not None:  # "a, b" is one text: a one-item list where a list fits
                base = strip_optional(field_types[key])[0]
                arms = typing.get_args(base) if typing.get_origin(base) in (Union, types.UnionType) else (base,)
                as_list = any(is_list_type(arm) for arm in arms)
                data[key] = convert([quoted] if as_list else quoted, field_types[key], key)
            else:
                data[key] = convert(value, field_types[key], key)
        except (KeyError, ValueError, TypeError) as err:
            message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            problems.append(f"--set {raw_key}: {message}")
    return problems


def _quoted(value: str) -> str | None:
    """The text of a ``--set`` value written as one quoted YAML scalar (``"query: "``, ``'a,b'``), else None: the
    quotes delimit the text, they are not part of it."""
    text = value.strip()
    if len(text) < 2 or text[0] not in "\"'" or text[-1] != text[0]:
        return None
    try:
        parsed = load_yaml(text)
    except ValueError:
        return None  # e.g. "a", "b": not one scalar
    return parsed if isinstance(parsed, str) else None


def _string_entries(tp: Any) -> bool:
    """Whether the mapping of type ``tp`` holds strings (``dict[str, str]``): its entries are set verbatim (a prompt
    such as ``relatedness: `` must not be read as YAML)."""
    arms = [tp, *typing.get_args(tp)]
    return any(is_mapping_type(arm) and typing.get_args(arm)[1:] == (str,) for arm in arms)


def _set_entry(mapping: Any, path: list[str], value: Any, raw_key: str) -> dict[str, Any]:
    """A copy of ``mapping`` with the entry at ``path`` (keys of nested mappings) set to ``value``."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{raw_key!r} sets an entry inside {mapping!r}, which is not a mapping")
    head, rest = path[0], path[1:]
    if not head:
        raise ValueError(f"{raw_key!r} has an empty key")
    inner = _set_entry(mapping.get(head) or {}, rest, value, raw_key) if rest else value
    return {**mapping, head: inner}
