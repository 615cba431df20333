"""Cross-encoders in the evaluation: how one is told from a twin tower, and how it scores a list of pairs.

A cross-encoder reads both texts of a pair together and scores the pair directly: it has
``predict(pairs, batch_size=..., show_progress_bar=..., apply_softmax=..., convert_to_numpy=...)`` and no
``encode`` (:class:`textsiam.model.cross_encoder.CrossEncoder`, sentence-transformers' ``CrossEncoder``, or any
object that looks like them). It has no embeddings, so it has no similarity functions either: its score is
recorded under the name :data:`CROSS_ENCODER` where a twin tower has ``cosine``, ``dot``, ...

One score per pair is what every pair task needs. A head of one label (a reranker, an STS regressor) gives it:
``predict``'s output, with the model's own activation (sentence-transformers: a sigmoid). A head of several
labels gives one output per label; the score is the output of one of them, the *positive label*: label 1 of a
two-label head by default, the one named by ``positive_label`` (an index or a name of the model's ``id2label``)
otherwise. A head of three or more labels has no default (which of *entailment*, *neutral* and *contradiction* is
the positive one?): :func:`positive_label_index` says so. The outputs are turned into probabilities by a softmax
(``apply_softmax=True``) only when they are raw logits, the model's activation being ``Identity`` (the default for
several labels) or not known (:func:`softmax_applies`); a head with its own activation (a multi-label head with a
``Sigmoid``: one independent probability per label) is scored by its activated output as it is, since a softmax
after the activation would mix the labels' probabilities.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: The name of a cross-encoder's score in records and metric keys (``cross_encoder_spearman``, ...), where a twin
#: tower has the name of its similarity function.
CROSS_ENCODER = "cross_encoder"

#: The tasks a cross-encoder can be evaluated on: those that score given pairs (and triplets, as two pairs).
CROSS_ENCODER_TASKS: tuple[str, ...] = ("sts", "classification", "triplet")


def is_cross_encoder(model: Any) -> bool:
    """Whether ``model`` is a cross-encoder: it has a ``predict`` method and no ``encode`` method (duck typing)."""
    return callable(getattr(model, "predict", None)) and not callable(getattr(model, "encode", None))


def num_labels_of(model: Any) -> int | None:
    """The ``num_labels`` of a cross-encoder, or ``None`` when it does not say."""
    value = getattr(model, "num_labels", None)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return None
    return int(value)


def label_names(model: Any) -> dict[int, str]:
    """The model's ``id2label`` (``{index: name}``), from ``model.config`` or ``model.model.config``; ``{}`` if none."""
    for holder in (model, getattr(model, "model", None)):
        config = getattr(holder, "config", None)
        id2label = getattr(config, "id2label", None)
        if isinstance(config, Mapping):
            id2label = config.get("id2label", id2label)
        if isinstance(id2label, Mapping) and id2label:
            try:
                return {int(k): str(v) for k, v in id2label.items()}
            except (TypeError, ValueError):
                continue
    return {}


def positive_label_index(model: Any, n_labels: int, positive_label: int | str | None) -> int | None:
    """The label whose probability is the score of a pair: ``None`` for a head of one label (its output is the score).

    Args:
        model: the cross-encoder (for its name and its label names).
        n_labels: the number of labels of its head.
        positive_label: ``None`` (label 1 of two), a label index, or a label name (case-insensitive, from the
            model's ``id2label``); ignored for a head of one label, whose output is the score.

    Raises:
        ValueError: a head of three or more labels without ``positive_label``, an index out of range or an unknown
            name (the message lists the labels).
    """
    if n_labels <= 1:
        return None
    name = getattr(model, "name_or_path", None) or type(model).__name__
    names = label_names(model)
    listed = ", ".join(f"{i}: {names.get(i, '?')}" for i in range(n_labels)) if names else f"0 to {n_labels - 1}"
    if positive_label is None:
        if n_labels == 2:
            return 1
        raise ValueError(
            f"the cross-encoder {name!r} has {n_labels} labels ({listed}), and a pair task needs one score per pair: "
            "pass positive_label= (the index or name of the label whose probability is the score, e.g. "
            "positive_label='entailment' for an NLI head; textsiam evaluate: --positive-label), or evaluate a "
            "cross-encoder with num_labels=1"
        )
    if isinstance(positive_label, (int, np.integer)) and not isinstance(positive_label, bool):
        if 0 <= int(positive_label) < n_labels:
            return int(positive_label)
        raise ValueError(f"positive_label={positive_label} is out of range: {name!r} has labels {listed}")
    if isinstance(positive_label, str):
        wanted = positive_label.strip().lower()
        for index, label in names.items():
            if label.lower() == wanted and 0 <= index < n_labels:
                return index
        raise ValueError(
            f"positive_label={positive_label!r} is not a label of {name!r}; its labels: {listed} "
            "(pass a label index if it has no names)"
        )
    raise TypeError(f"positive_label must be a label index or name, got {type(positive_label).__name__}")


def score_activation(model: Any) -> Any:
    """The activation ``model.predict`` applies to the logits: ``activation_fn`` (textsiam, sentence-transformers
    >= 4) or ``default_activation_function`` (older sentence-transformers); ``None`` when the model does not say."""
    for name in ("activation_fn", "default_activation_function"):
        value = getattr(model, name, None)
        if value is not None:
            return value
    return None


def softmax_applies(model: Any) -> bool:
    """Whether the outputs of a head of several labels are raw logits that a softmax turns into probabilities: the
    model's activation is ``Identity`` (or it names none, as a duck-typed model may not). Any other activation (a
    ``Sigmoid`` of a multi-label head, a ``Softmax``) already gives the scores: the positive label's output is used
    as it is, since a softmax after the activation would give ``softmax(sigmoid(z))``."""
    activation = score_activation(model)
    if activation is None:
        return True
    from torch import nn

    return isinstance(activation, nn.Identity)


def describe_score(model: Any, n_labels: int, index: int | None) -> str:
    """How a pair's score is made, for records: ``"predict() output"``, ``"probability of label 1 (LABEL_1) of 2
    (softmax)"`` for raw logits, or e.g. ``"output of label 1 (LABEL_1) of 2 (activation Sigmoid, no softmax)"``
    for a head with its own activation (:func:`softmax_applies`)."""
    if index is None:
        return "predict() output"
    label = label_names(model).get(index)
    named = f"label {index}" + (f" ({label})" if label else "") + f" of {n_labels}"
    if softmax_applies(model):
        return f"probability of {named} (softmax)"
    return f"output of {named} (activation {type(score_activation(model)).__name__}, no softmax)"


def cross_encoder_scores(
    model: Any,
    text_a: Sequence[str],
    text_b: Sequence[str],
    *,
    batch_size: int = 32,
    show_progress_bar: bool = False,
    positive_label: int | str | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One score per pair ``(text_a[i], text_b[i])`` from a cross-encoder's ``predict``, and how it was made.

    Args:
        model: a cross-encoder (see :func:`is_cross_encoder`).
        text_a, text_b: the pairs, as two equal-length columns.
        batch_size: forwarded to ``model.predict``.
        show_progress_bar: forwarded to ``model.predict``.
        positive_label: for a head of several labels, the label whose probability (or activated output, see
            :func:`softmax_applies`) is the score (see :func:`positive_label_index`).

    Returns:
        ``(scores, info)``: ``(N,)`` float64 scores, higher meaning more similar (or more likely the positive
        label), and ``{"num_labels", "score"}`` for the record (``positive_label`` too for a head of several labels).

    Raises:
        ValueError: a head of several labels without a usable ``positive_label``, or a ``predict`` output of the
            wrong shape or with NaN/inf values.
    """
    if len(text_a) != len(text_b):
        raise ValueError(f"length mismatch: {len(text_a)} first texts, {len(text_b)} second texts")
    declared = num_labels_of(model)
    index = None if declared is None else positive_label_index(model, declared, positive_label)  # before predicting
    pairs = [[str(a), str(b)] for a, b in zip(text_a, text_b, strict=True)]
    if not pairs:
        return np.empty(0, dtype=np.float64), {"num_labels": declared}
    logger.info("scoring %d pairs with a cross-encoder", len(pairs))
    raw = model.predict(
        pairs,
        batch_size=batch_size,
        show_progress_bar=show_progress_bar,
        apply_softmax=(declared is None or declared > 1) and softmax_applies(model),
        convert_to_numpy=True,
    )
    if hasattr(raw, "detach"):
        raw = raw.detach().float().cpu().numpy()
    out = np.asarray(raw, dtype=np.float64)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim not in (1, 2) or out.shape[0] != len(pairs):
        raise ValueError(f"model.predict returned shape {out.shape} for {len(pairs)} pairs; expected (N,) or (N, C)")
    n_labels = 1 if out.ndim == 1 else out.shape[1]
    if declared is not None and n_labels != declared:
        raise ValueError(f"model.predict returned {n_labels} scores per pair, but the model has num_labels={declared}")
    if declared is None:
        index = positive_label_index(model, n_labels, positive_label)
    if index is not None:
        out = out[:, index]
    if not np.all(np.isfinite(out)):
        bad = int((~np.isfinite(out)).sum())
        raise ValueError(f"model.predict returned NaN/inf scores for {bad} of {len(pairs)} pairs")
    info: dict[str, Any] = {"num_labels": n_labels, "score": describe_score(model, n_labels, index)}
    if index is not None:
        info["positive_label"] = index
    return out, info
