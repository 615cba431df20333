"""Token attributions for the similarity score of a pair: which words of each text push the score up or down.

Two methods:

* ``"occlusion"``: the contribution of a token is ``score(a, b) - score(a without that token, b)``: the
  actual change of the score when the token is deleted from the input (its word pieces removed from the
  token sequence). Word-level scores delete all pieces of the word together, so they are exact too.
* ``"integrated_gradients"`` (Sundararajan et al., 2017): gradients of the score with respect to the input
  word embeddings, integrated along the straight path from a baseline (the non-special tokens replaced by
  ``[PAD]``, ``[MASK]`` or zeros) to the input, with Gauss-Legendre quadrature. The attributions of one
  side sum to ``score(a, b) - score(baseline_a, b)`` (completeness); word scores are sums of piece scores.

Each side is explained with the other side held at its real input. Special tokens (``[CLS]``, ``[SEP]``)
are never deleted or interpolated and carry no attribution.

:func:`faithfulness` checks that the attributions mean something: deleting the ``k`` top-attributed tokens
of a pair should lower its score more than deleting ``k`` random tokens.

Example:
    >>> import textsiam
    >>> e = textsiam.explain("A man is playing a guitar.", "A person plays the guitar.")  # doctest: +SKIP
    >>> e.a.words, e.a.word_scores  # doctest: +SKIP
    >>> e  # in a notebook: the two texts with green (raises the score) and red (lowers it) highlights
"""

from __future__ import annotations

from textsiam.explain.attribution import Explanation, TextAttribution
from textsiam.explain.deletion import faithfulness
from textsiam.explain.methods import BASELINES, METHODS
from textsiam.explain.pair import explain

__all__ = ["BASELINES", "METHODS", "Explanation", "TextAttribution", "explain", "faithfulness"]
