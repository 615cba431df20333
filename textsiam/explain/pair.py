"""``explain(a, b)``: which words of each text push the similarity of a pair up or down."""

from __future__ import annotations

from typing import Any

from textsiam.explain.attribution import Explanation
from textsiam.explain.methods import Explainer, check_text, resolve_model
from textsiam.model.scheduler import inference_context


def explain(
    a: str,
    b: str,
    model: Any = None,
    method: str = "occlusion",
    *,
    steps: int = 64,
    baseline: str = "pad",
    batch_size: int = 64,
) -> Explanation:
    """Per-token contributions of ``a``'s and ``b``'s tokens to the model's similarity score of the pair.

    Args:
        a, b: the two texts.
        model: a :class:`~textsiam.SiameseModel`, a model directory / Hub name, or ``None`` for the embedded
            default model.
        method: ``"occlusion"`` (exact score change when a token / word is deleted) or
            ``"integrated_gradients"`` (alias ``"ig"``; gradients on the input word embeddings).
        steps: integrated gradients: quadrature points along the path (more = smaller completeness gap).
        baseline: integrated gradients: the baseline input, non-special tokens replaced by ``"pad"``
            (``[PAD]``'s embedding), ``"mask"`` (``[MASK]``'s) or ``"zero"`` (zero vectors).
        batch_size: sequences per forward pass.

    Returns:
        An :class:`Explanation` (plain data via its attributes and :meth:`Explanation.to_dict`; highlighted
        HTML in a notebook). Positive contributions raise the score, negative ones lower it.

    Raises:
        TypeError: ``a`` / ``b`` are not strings, or integrated gradients on a model without a transformer
            tower.
        ValueError: unknown ``method`` or ``baseline``, or a non-positive ``steps`` / ``batch_size``.
    """
    a, b = check_text(a, "a"), check_text(b, "b")
    m = resolve_model(model)
    explainer = Explainer(m, method, steps, baseline, batch_size)
    with inference_context(m):  # eval mode (dropout off) without racing other threads' inference
        return explainer(a, b)[0]
