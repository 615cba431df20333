"""What an explanation is: per-token and per-word attributions of both texts, and how they are shown (HTML)."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


# ---------------------------------------------------------------------------------------------- result types
@dataclass
class TextAttribution:
    """Attributions for the tokens of one text of the pair.

    Attributes:
        text: the text.
        tokens: its tokens (word pieces) as the model saw them, special tokens excluded; truncated texts
            have only the tokens within ``max_seq_length``.
        token_scores: one contribution per token (same length as ``tokens``); positive raises the score.
        token_offsets: ``(start, end)`` character span of each token in ``text`` (``None`` for slow tokenizers).
        words: the tokens merged into words (the tokenizer's pre-tokenisation: whitespace and punctuation),
            spelled as in ``text``.
        word_scores: one contribution per word: occlusion deletes the whole word, integrated gradients sums
            its pieces.
        word_offsets: ``(start, end)`` character span of each word (``None`` for slow tokenizers).
        word_tokens: indices into ``tokens`` of each word's pieces.
        baseline_score: integrated gradients only: the score with this text at the baseline and the other text
            unchanged; ``sum(token_scores) ~= score - baseline_score``.
    """

    text: str
    tokens: list[str]
    token_scores: list[float]
    token_offsets: list[tuple[int, int]] | None
    words: list[str]
    word_scores: list[float]
    word_offsets: list[tuple[int, int]] | None
    word_tokens: list[list[int]]
    baseline_score: float | None = None

    def top(self, k: int = 5, level: str = "word") -> list[tuple[str, float]]:
        """The ``k`` words (or tokens, ``level="token"``) with the largest contribution, highest first."""
        names, scores = (self.words, self.word_scores) if level == "word" else (self.tokens, self.token_scores)
        order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
        return [(names[i], float(scores[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict of every field."""
        d = asdict(self)
        for key in ("token_offsets", "word_offsets"):
            if d[key] is not None:
                d[key] = [list(span) for span in d[key]]
        return d


@dataclass
class Explanation:
    """Per-token contributions to the similarity score of one pair; see :func:`explain`.

    Attributes:
        text_a, text_b: the pair.
        score: the model's similarity of the pair.
        method: ``"occlusion"`` or ``"integrated_gradients"``.
        similarity: the model's similarity function (e.g. ``"cosine"``).
        a, b: the :class:`TextAttribution` of each text.
        params: settings of the method (``steps``, ``baseline``, ...).

    In a notebook it renders as the two texts with each word's background green (raises the score) or red
    (lowers it), the intensity proportional to the contribution; hover a word for its value.
    """

    text_a: str
    text_b: str
    score: float
    method: str
    similarity: str
    a: TextAttribution
    b: TextAttribution
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def sides(self) -> tuple[TextAttribution, TextAttribution]:
        """``(a, b)``."""
        return self.a, self.b

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict: texts, score, method, similarity, params and both sides' tokens and scores."""
        return {
            "text_a": self.text_a,
            "text_b": self.text_b,
            "score": self.score,
            "method": self.method,
            "similarity": self.similarity,
            "params": dict(self.params),
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
        }

    def to_html(self, level: str = "word") -> str:
        """HTML of both texts with contribution-coloured backgrounds (``level="token"``: word pieces)."""
        if level not in ("word", "token"):
            raise ValueError(f"level must be 'word' or 'token', got {level!r}")
        values = [*self._scores(self.a, level), *self._scores(self.b, level)]
        scale = max((abs(v) for v in values), default=0.0)
        method = "occlusion" if self.method == "occlusion" else "integrated gradients"
        head = (
            f"<div style='font-family:sans-serif;line-height:1.9'>"
            f"<div><b>{html.escape(self.similarity)} similarity {self.score:.4f}</b> &middot; {html.escape(method)}"
            f" &middot; <span style='background:{_colour(1.0, 1.0)}'>&nbsp;raises&nbsp;</span>"
            f" <span style='background:{_colour(-1.0, 1.0)}'>&nbsp;lowers&nbsp;</span>"
            f" the score (max |contribution| {scale:.4f})</div>"
        )
        rows = []
        for name, side in (("A", self.a), ("B", self.b)):
            extra = "" if side.baseline_score is None else f" <small>(baseline score {side.baseline_score:.4f})</small>"
            rows.append(f"<div><b>{name}:</b> {_side_html(side, level, scale)}{extra}</div>")
        return head + "".join(rows) + "</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    @staticmethod
    def _scores(side: TextAttribution, level: str) -> list[float]:
        return side.word_scores if level == "word" else side.token_scores

    def __repr__(self) -> str:
        def fmt(side: TextAttribution) -> str:
            return " ".join(f"{w}({s:+.3f})" for w, s in zip(side.words, side.word_scores, strict=True))

        return (
            f"Explanation(score={self.score:.4f}, method={self.method!r}, similarity={self.similarity!r})\n"
            f"  a: {fmt(self.a)}\n  b: {fmt(self.b)}"
        )


def _colour(value: float, scale: float) -> str:
    alpha = 0.0 if scale <= 0 else min(1.0, abs(value) / scale) * 0.75
    rgb = "34,170,68" if value > 0 else "221,51,51"
    return f"rgba({rgb},{alpha:.3f})"


def _span(text: str, value: float, scale: float) -> str:
    return (
        f"<span style='background:{_colour(value, scale)};border-radius:3px;padding:1px 0' "
        f"title='{html.escape(f'{value:+.4f}', quote=True)}'>{html.escape(text)}</span>"
    )


def _side_html(side: TextAttribution, level: str, scale: float) -> str:
    names = side.words if level == "word" else side.tokens
    scores = side.word_scores if level == "word" else side.token_scores
    offsets = side.word_offsets if level == "word" else side.token_offsets
    if offsets is None:  # no character spans: show the units separated by spaces
        return " ".join(_span(n, s, scale) for n, s in zip(names, scores, strict=True))
    out, pos = [], 0
    for (start, end), value in zip(offsets, scores, strict=True):
        if start < pos:  # overlapping spans (rare byte-level cases): show the rest only
            start = pos
        out.append(html.escape(side.text[pos:start]))
        out.append(_span(side.text[start:end], value, scale))
        pos = max(pos, end)
    out.append(html.escape(side.text[pos:]))
    return "".join(out)
