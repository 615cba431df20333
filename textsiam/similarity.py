"""Deprecated alias of :mod:`textsiam.model.scoring` (moved in 0.2): it warns, and goes in the next release."""

from __future__ import annotations

from textsiam.compat import moved_module

__getattr__ = moved_module(__name__, "textsiam.model.scoring")
