"""What counts as a text and as a batch of texts: one check shared by every entry point."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MappingView, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Union

import numpy as np

#: A text, or an ordered batch of texts.
Texts = Union[str, Sequence[str]]


def as_text_list(texts: Any, name: str = "texts") -> tuple[list[str], bool]:
    """Validate texts. Returns ``(list_of_str, was_single_string)``.

    A text is a ``str`` (a 0-d numpy array holding one counts as one text). A batch is an ordered sequence of
    them: a list, tuple, 1-D numpy array, pandas Series, ... Sets, dicts and their views have no order to pair
    texts by, so they are refused. A text that cannot be encoded as UTF-8 (a lone surrogate) is refused with
    its index.
    """
    if texts is None:
        raise TypeError(f"{name} must be a string or a list of strings, got None")
    if isinstance(texts, np.ndarray):
        if texts.ndim == 0:
            texts = texts.item()
            if not isinstance(texts, str):
                raise TypeError(f"{name} is a 0-d array of {type(texts).__name__}; expected a string")
        elif texts.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array of strings, got shape {texts.shape}")
        else:
            texts = texts.tolist()
    if isinstance(texts, str):
        check_unicode([texts], name, single=True)
        return [texts], True
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError(f"{name} must be str, not bytes; decode it first")
    if isinstance(texts, (AbstractSet, Mapping, MappingView)):
        raise TypeError(
            f"{name} is a {type(texts).__name__}, which has no order to pair texts by; pass a list "
            "(e.g. sorted(...) or list(...) in the order you want)"
        )
    if not isinstance(texts, Iterable):
        raise TypeError(f"{name} must be a string or a list of strings, got {type(texts).__name__}")
    tolist = getattr(texts, "tolist", None)  # pandas Series / Index
    out = list(tolist()) if callable(tolist) and not isinstance(texts, Sequence) else list(texts)
    for i, t in enumerate(out):
        if isinstance(t, str):
            continue
        if t is None:
            raise TypeError(f"{name}[{i}] is None; expected a string (use '' for an empty text)")
        if isinstance(t, (list, tuple)):
            raise TypeError(f"{name}[{i}] is a nested {type(t).__name__}; expected a flat list of strings")
        raise TypeError(f"{name}[{i}] is {type(t).__name__}; expected a string")
    check_unicode(out, name, single=False)
    return out, False


def check_unicode(texts: list[str], name: str, single: bool) -> None:
    """``ValueError`` naming the first text that is not valid Unicode (a lone surrogate cannot be tokenised)."""
    try:
        "".join(texts).encode("utf-8")
        return
    except UnicodeEncodeError:
        pass
    for i, t in enumerate(texts):
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as err:
            where = name if single else f"{name}[{i}]"
            raise ValueError(
                f"{where} is not valid Unicode: {err.reason} at character {err.start} ({t[err.start]!r})"
            ) from None


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` consecutive items of ``items`` (the last may be shorter), read lazily: a file of any size
    is held one chunk at a time."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
