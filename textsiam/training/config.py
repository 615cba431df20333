"""The training recipe: :class:`TrainConfig`, read from YAML / JSON and overridable with ``--set key=value``.

The fields and their help live in :mod:`~textsiam.training.config_fields` (``textsiam train --list-options``
prints them), values are read by their type hints in :mod:`~textsiam.training.config_values`, and
:meth:`TrainConfig.validate` (the checks in :mod:`~textsiam.training.config_checks`) checks a config *before* any
data or model is loaded, so a typo fails in a second instead of after a model download.

Example::

    cfg = TrainConfig.from_file("benchmarks/configs/stsb.yaml")
    cfg = cfg.with_overrides(["lr=3e-5", "epochs=2"])
    cfg.validate()
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from textsiam.training.config_assignments import apply_assignments
from textsiam.training.config_checks import (
    ENCODER_CHOICES,
    LR_SCHEDULERS,
    TOWER_OPTIONS,
    config_problems,
)
from textsiam.training.config_fields import ALIASES, TrainFields, field_help, field_types
from textsiam.training.config_values import convert, type_name
from textsiam.training.dataset_names import dataset_task, is_file_dataset
from textsiam.training.labels import LABEL_TRANSFORMS

logger = logging.getLogger(__name__)

__all__ = [
    "ALIASES",
    "ENCODER_CHOICES",
    "LABEL_TRANSFORMS",
    "LR_SCHEDULERS",
    "TOWER_OPTIONS",
    "ConfigError",
    "TrainConfig",
    "coerce_value",
    "dataset_task",
    "describe_fields",
    "field_help",
    "field_types",
    "is_file_dataset",
    "resolve_key",
]


class ConfigError(ValueError):
    """A training config is invalid. ``problems`` lists every problem found (the message shows them all)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid training config ({len(self.problems)} problem(s)):\n{lines}")


@dataclass
class TrainConfig(TrainFields):
    """Everything that defines one fine-tuning run: the fields of :class:`~textsiam.training.config_fields.TrainFields`
    (``textsiam train --list-options``), read from and written to YAML / JSON, overridable with ``--set`` and
    checked by :meth:`validate`.
    """

    # ------------------------------------------------------------------------------------------ io
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a config from a mapping; aliases are accepted, values are read by the field types.

        Raises:
            ConfigError: unknown keys (with the valid ones) or values that do not fit a field's type.
        """
        if not isinstance(data, dict):
            raise ConfigError([f"a config must be a mapping of field names to values, got {type(data).__name__}"])
        kwargs: dict[str, Any] = {}
        problems: list[str] = []
        for raw_key, value in data.items():
            try:
                key = resolve_key(str(raw_key))
                kwargs[key] = coerce_value(key, value)
            except (KeyError, ValueError, TypeError) as err:
                problems.append(_message(err))
        if problems:
            raise ConfigError(problems)
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a ``.yaml`` / ``.yml`` (``yaml.safe_load``) or ``.json`` config file.

        Raises:
            FileNotFoundError: no such file.
            ConfigError: the file is not valid UTF-8 / YAML / JSON, or its values do not fit (each problem is
                prefixed with the path).
        """
        p = Path(path).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"config file not found: {p}")
        try:
            text = p.read_bytes().decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as err:
            raise ConfigError([f"{p}: not valid UTF-8 (byte {err.start}: {err.reason})"]) from None
        if p.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as err:
                raise ConfigError([f"{p}: invalid JSON: {err}"]) from None
        else:
            import yaml

            try:
                data = yaml.safe_load(text)
            except (yaml.YAMLError, RecursionError) as err:
                raise ConfigError([f"{p}: invalid YAML: {err}"]) from None
        if data is None:
            data = {}
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise ConfigError([f"{p}: {problem}" for problem in err.problems]) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write the config as YAML (``.yaml`` / ``.yml``) or JSON (``.json``); returns the path."""
        from textsiam.io_utils import atomic_open

        p = Path(path).expanduser()
        if p.suffix.lower() == ".json":
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        elif p.suffix.lower() in (".yaml", ".yml"):
            text = self.to_yaml()
        else:
            raise ValueError(f"config files must end with .yaml, .yml or .json, got {p.name}")
        with atomic_open(p) as fh:
            fh.write(text)
        return p

    def to_yaml(self) -> str:
        """YAML text of the config, one ``key: value`` line per field with its help as the comment."""
        import yaml

        lines = []
        for f in fields(self):
            value = yaml.safe_dump({f.name: getattr(self, f.name)}, default_flow_style=True, width=10_000)
            value = value.strip()[1:-1]  # drop the {} of the flow mapping
            comment = f.metadata.get("help", "")
            lines.append(f"{value}  # {comment}" if comment else value)
        return "\n".join(lines) + "\n"

    def with_overrides(self, assignments: list[str]) -> TrainConfig:
        """A copy with ``key=value`` assignments applied (``--set``); ``key.sub=value`` sets a mapping's entry.

        Values are read by the field's type (see :mod:`~textsiam.training.config_values`): numbers, ``true`` /
        ``false``, ``none`` / ``null`` for optional fields, lists as ``a,b,c`` or ``[a, b]``, mappings as JSON /
        YAML flow (``{scale: 20}``); a mapping's entry as a number if it reads as one, else by ``yaml.safe_load``.

        Raises:
            ConfigError: every assignment that is malformed, names an unknown key or does not fit its field.
        """
        data = self.to_dict()
        problems = apply_assignments(data, assignments, field_types(TrainConfig), resolve_key)
        if problems:
            raise ConfigError(problems)
        return type(self).from_dict(data)

    # ------------------------------------------------------------------------------------------ validation
    def validate(self) -> TrainConfig:
        """Check the config without loading data or models; raise :class:`ConfigError` listing every problem.

        Checks (:func:`~textsiam.training.config_checks.config_problems`): every value's type, the loss and its
        keyword arguments, dataset / split names, that the training labels fit the loss (e.g. graded STS scores
        with ``contrastive`` need ``label_transform: binarize``), and every number. Returns ``self`` so calls
        chain.
        """
        problems = config_problems(self)
        if problems:
            raise ConfigError(problems)
        return self


# ---------------------------------------------------------------------------------------------- helpers
def _message(err: BaseException) -> str:
    return err.args[0] if isinstance(err, KeyError) and err.args else str(err)


def resolve_key(key: str) -> str:
    """Map an alias (``lr``) or a dashed name (``no-duplicates-in-batch``) to its field name.

    Raises:
        KeyError: an unknown key (the message names the valid keys, close matches first).
    """
    key = key.strip().replace("-", "_")
    key = ALIASES.get(key, key)
    names = [f.name for f in fields(TrainConfig)]
    if key not in names:
        close = [k for k in names if key in k or k in key]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"unknown config key {key!r}{hint}; valid keys: {', '.join(names)}; aliases: {ALIASES}")
    return key


def coerce_value(key: str, value: Any) -> Any:
    """``value`` (a ``--set`` string, or a YAML / JSON value) read as the type of field ``key``.

    Raises:
        ValueError: the value does not fit (the message names the field and the expected type).
    """
    return convert(value, field_types(TrainConfig)[key], key)


def describe_fields() -> str:
    """A plain-text table of every field: name, type, default and help (``textsiam train --list-options``)."""
    types_ = field_types(TrainConfig)
    rows = []
    for f in fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_text = f.metadata.get("help", "")
        rows.append(f"{f.name:<28} {type_name(types_[f.name]):<34} default={default!r}\n    {help_text}")
    return "\n".join(rows)
