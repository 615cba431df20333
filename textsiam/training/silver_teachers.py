"""The teachers of the teacher pipeline (Augmented SBERT): which models ``silver_teacher`` names, what kind each
is, what identifies its weights, and how it scores a list of pairs.

A teacher is a **cross-encoder** (its score is ``predict``'s: :func:`~textsiam.evaluation.cross_encoding.
cross_encoder_scores`) or a **twin tower** (its similarity of the two texts). A folder or Hub name is told apart
by its ``config.json`` (:func:`textsiam.model.model_kind.is_cross_encoder_model`), an object by its methods (a
cross-encoder has ``predict`` and no ``encode``). :func:`textsiam.fit` also takes model objects: each goes to
``GivenData.teachers`` under a name like ``<in-memory teacher 0: CrossEncoder>``, which stands for it in the
config (and in the saved ``train_config.yaml``, where it cannot be loaded again).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textsiam.training.config import ConfigError
from textsiam.training.fingerprints import digest_json, model_fingerprint

logger = logging.getLogger(__name__)

__all__ = [
    "IN_MEMORY_TEACHER",
    "Teacher",
    "given_teachers",
    "resolve_teachers",
    "saved_prompts",
    "score_pairs",
    "teacher_kind",
]

#: Teacher names that start with this stand for a model object given to :func:`textsiam.fit`.
IN_MEMORY_TEACHER = "<in-memory teacher"
CROSS_ENCODER = "cross_encoder"
TWIN_TOWER = "siamese"


def teacher_kind(model: Any) -> str:
    """``"cross_encoder"`` or ``"siamese"`` (a twin tower) for a model object, folder or Hub name."""
    if model is None or isinstance(model, (str, os.PathLike)):
        from textsiam.model.model_kind import is_cross_encoder_model

        return CROSS_ENCODER if is_cross_encoder_model(model) else TWIN_TOWER
    if callable(getattr(model, "predict", None)) and not callable(getattr(model, "encode", None)):
        return CROSS_ENCODER
    if callable(getattr(model, "encode", None)):
        return TWIN_TOWER
    raise TypeError(
        f"silver_teacher: a teacher is a CrossEncoder, a SiameseModel, or a folder / Hub name of one, got "
        f"{type(model).__name__}"
    )


@dataclass
class Teacher:
    """One teacher: its name in the config, where it comes from (a name, or the object itself), its kind, the
    fingerprint of its weights (kind, name and weights digest, hashed together, with the prompt when one is set) and,
    for a twin tower, the saved prompt it encodes with (``silver_prompt_name``)."""

    name: str
    source: Any
    kind: str
    weights: dict[str, str]
    prompt_name: str | None = None

    @property
    def fingerprint(self) -> str:
        key = {"kind": self.kind, "name": self.weights["name"], "digest": self.weights["digest"]}
        return digest_json({**key, "prompt_name": self.prompt_name} if self.prompt_name is not None else key)

    def describe(self) -> dict[str, Any]:
        """The record of ``silver.json``: name, kind, fingerprint, how the weights were identified and the prompt."""
        return {
            "name": self.weights["name"],
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "weights_digest": self.weights["digest"],
            "identified_by": self.weights["from"],
            "prompt_name": self.prompt_name,
        }

    def load(self) -> Any:
        """The model (the object itself when one was given).

        Raises:
            ValueError: it cannot be loaded, or it has no saved prompt named :attr:`prompt_name`.
        """
        if not isinstance(self.source, (str, os.PathLike)):
            return self.source
        try:
            if self.kind == CROSS_ENCODER:
                from textsiam.model.cross_encoder import CrossEncoder

                return CrossEncoder(self.source)
            from textsiam.model.siamese import SiameseModel

            model = SiameseModel.from_pretrained(self.source)
        except (OSError, ValueError) as err:
            raise ValueError(f"silver_teacher: cannot load {self.name!r} ({self.kind}): {err}") from err
        _check_prompt(self.name, model.prompts, self.prompt_name)
        return model


def _check_prompt(name: str, prompts: Mapping[str, str] | None, prompt_name: str | None) -> None:
    """Refuse a twin-tower teacher ``name`` whose saved ``prompts`` (None: not known before loading) lack
    ``prompt_name``."""
    if prompt_name is None or prompts is None or prompt_name in prompts:
        return
    raise ConfigError(
        [
            f"silver_prompt_name {prompt_name!r}: the twin-tower teacher {name!r} has no prompt of that name (its "
            f"prompts: {sorted(prompts) or 'none'}); every twin-tower teacher must have it"
        ]
    )


def saved_prompts(source: Any) -> dict[str, str] | None:
    """A twin tower's saved prompts without loading it: an object's, or a local folder's
    ``config_sentence_transformers.json``; None when they cannot be read yet (a Hub name)."""
    if not isinstance(source, (str, os.PathLike)):
        return dict(getattr(source, "prompts", None) or {})
    folder = os.fspath(source)
    if not os.path.isdir(folder):
        return None
    path = os.path.join(folder, "config_sentence_transformers.json")
    if not os.path.isfile(path):
        return {}
    import json

    with open(path, encoding="utf-8") as fh:
        prompts = json.load(fh).get("prompts") or {}
    return dict(prompts) if isinstance(prompts, Mapping) else {}


def given_teachers(value: Any, given: Any) -> Any:
    """:func:`textsiam.fit`'s ``silver_teacher``: every model object goes to ``given.teachers`` under the name that
    stands for it in the config; names (strings, paths) and teachers to train (``{"train": {...}}``, see
    :mod:`~textsiam.training.teacher_recipe`) stay. Returns the config value (a name, a mapping, or a list)."""
    single = not isinstance(value, (list, tuple))
    names = []
    for i, item in enumerate([value] if single else value):
        if item is None or isinstance(item, (str, os.PathLike)):
            names.append(os.fspath(item) if isinstance(item, os.PathLike) else item)
            continue
        if isinstance(item, Mapping):  # a teacher to train first: its settings go to the config (paths as text)
            names.append(_as_text_paths(item))
            continue
        teacher_kind(item)  # a TypeError for anything that is not a model
        name = f"{IN_MEMORY_TEACHER} {i}: {type(item).__name__}>"
        given.teachers[name] = item
        names.append(name)
    return names[0] if single else names


def _as_text_paths(value: Any) -> Any:
    """``value`` (mappings and lists of settings) with every path as its text, so that the recipe saves as YAML."""
    if isinstance(value, Mapping):
        return {key: _as_text_paths(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_text_paths(item) for item in value]
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def resolve_teachers(value: str | list[str], given: Any = None, prompt_name: str | None = None) -> list[Teacher]:
    """The :class:`Teacher` of every name in ``silver_teacher`` (model objects from ``given.teachers``); nothing is
    loaded yet, only the kind, the fingerprint and, with ``prompt_name`` (``silver_prompt_name``), a twin tower's
    saved prompts are read.

    Raises:
        ConfigError: a name that stands for a model given from Python, in a recipe that has none; a twin-tower
            teacher without the prompt ``prompt_name``.
    """
    names = [value] if isinstance(value, str) else list(value)
    objects = getattr(given, "teachers", None) or {}
    out = []
    for name in names:
        if not isinstance(name, str):  # a teacher to train first is replaced by its folder before it gets here
            raise ConfigError([f"silver_teacher: {name!r} is not a model name; a teacher to train is trained first"])
        if name.startswith(IN_MEMORY_TEACHER):
            if name not in objects:
                raise ConfigError(
                    [f"silver_teacher {name!r} stands for a model given to textsiam.fit; name a folder or Hub name"]
                )
            source: Any = objects[name]
        else:
            source = name
        kind = teacher_kind(source)
        prompt = prompt_name if kind == TWIN_TOWER else None
        if prompt is not None:
            _check_prompt(name, saved_prompts(source), prompt)
        out.append(Teacher(name, source, kind, model_fingerprint(source), prompt))
        logger.info(
            "silver teacher: %s (%s)%s",
            out[-1].weights["name"],
            kind.replace("_", "-"),
            f", prompt {prompt!r}" if prompt else "",
        )
    return out


def score_pairs(
    model: Any,
    kind: str,
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    batch_size: int,
    prompt_name: str | None = None,
) -> np.ndarray:
    """The teacher's score of each pair ``(texts_a[i], texts_b[i])``: ``(N,)`` float64.

    A cross-encoder's is its ``predict`` output (a head of two labels: the probability of label 1); a twin tower's
    is its similarity (its own function: cosine, dot, ...), each distinct text encoded once, with its saved prompt
    ``prompt_name`` when given (else its default prompt, if any).
    """
    if kind == CROSS_ENCODER:
        from textsiam.evaluation.cross_encoding import cross_encoder_scores

        scores, _ = cross_encoder_scores(model, texts_a, texts_b, batch_size=batch_size, show_progress_bar=False)
        return scores
    from textsiam.model.scoring import pairwise_similarity

    if not len(texts_a):
        return np.empty(0, dtype=np.float64)
    unique = list(dict.fromkeys([*texts_a, *texts_b]))
    row = {t: i for i, t in enumerate(unique)}
    options = {"prompt_name": prompt_name} if prompt_name is not None else {}
    emb = np.asarray(model.encode(unique, batch_size=batch_size, show_progress_bar=False, **options))
    ia = np.fromiter((row[t] for t in texts_a), dtype=np.int64, count=len(texts_a))
    ib = np.fromiter((row[t] for t in texts_b), dtype=np.int64, count=len(texts_b))
    name = getattr(model, "similarity_fn_name", None) or "cosine"
    return np.asarray(pairwise_similarity(emb[ia], emb[ib], name), dtype=np.float64)
