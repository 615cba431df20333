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

import html
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from textsiam.similarity import pairwise_similarity

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("occlusion", "integrated_gradients")
BASELINES: tuple[str, ...] = ("pad", "mask", "zero")
_METHOD_ALIASES = {"ig": "integrated_gradients", "integrated-gradients": "integrated_gradients"}

__all__ = ["BASELINES", "METHODS", "Explanation", "TextAttribution", "explain", "faithfulness"]


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


# ---------------------------------------------------------------------------------------------- tokenisation
@dataclass
class _Tokenized:
    """One text as the model sees it."""

    text: str
    ids: list[int]  # all token ids, special tokens included
    positions: list[int]  # indices into ids of the non-special tokens
    tokens: list[str]  # their token strings
    offsets: list[tuple[int, int]] | None  # their character spans
    word_tokens: list[list[int]]  # per word: indices into positions / tokens


def _tokenize_one(model: Any, text: str) -> _Tokenized:
    tok = model.tokenizer
    fast = bool(getattr(tok, "is_fast", False))
    enc = tok(
        text,
        truncation=True,
        max_length=model.max_seq_length,
        return_special_tokens_mask=True,
        return_offsets_mapping=fast,
    )
    ids = list(enc["input_ids"])
    special = list(enc["special_tokens_mask"])
    positions = [i for i, s in enumerate(special) if not s]
    pieces = tok.convert_ids_to_tokens(ids)
    tokens = [pieces[i] for i in positions]
    offsets: list[tuple[int, int]] | None = None
    word_tokens: list[list[int]]
    if fast:
        all_offsets = enc["offset_mapping"]
        offsets = [(int(all_offsets[i][0]), int(all_offsets[i][1])) for i in positions]
        word_ids = enc.word_ids()
        groups: dict[Any, list[int]] = {}
        for j, i in enumerate(positions):
            key = word_ids[i] if word_ids[i] is not None else ("token", j)
            groups.setdefault(key, []).append(j)
        word_tokens = list(groups.values())
    else:
        word_tokens = [[j] for j in range(len(positions))]
    return _Tokenized(text, ids, positions, tokens, offsets, word_tokens)


def _words(t: _Tokenized) -> tuple[list[str], list[tuple[int, int]] | None]:
    if t.offsets is None:
        return [" ".join(t.tokens[j] for j in group) for group in t.word_tokens], None
    spans = [(t.offsets[group[0]][0], t.offsets[group[-1]][1]) for group in t.word_tokens]
    return [t.text[s:e] for s, e in spans], spans


def _delete(ids: list[int], drop: Iterable[int]) -> list[int]:
    gone = set(drop)
    return [x for i, x in enumerate(ids) if i not in gone]


# ---------------------------------------------------------------------------------------------- model access
class _Scorer:
    """Embeds token-id sequences with a :class:`~textsiam.SiameseModel` and scores them."""

    def __init__(self, model: Any, batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size
        self.similarity = model.similarity_fn_name
        self.device = model.device
        pad = getattr(model.tokenizer, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else 0

    def features(self, sequences: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        """Right-padded batch of token-id sequences (``token_type_ids`` are dropped by encoders without them)."""
        length = max(1, max(len(s) for s in sequences))
        ids = torch.full((len(sequences), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), length), dtype=torch.long)
        for i, s in enumerate(sequences):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        feats = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
        return {k: v.to(self.device) for k, v in feats.items()}

    @torch.no_grad()
    def embed(self, sequences: Sequence[list[int]]) -> torch.Tensor:
        """``(N, D)`` float32 embeddings of token-id sequences, in chunks of ``batch_size``."""
        out = []
        for start in range(0, len(sequences), self.batch_size):
            out.append(self.model.embed(self.features(sequences[start : start + self.batch_size])).float())
        return torch.cat(out)

    def score(self, emb: torch.Tensor, other: torch.Tensor) -> np.ndarray:
        """Similarity of every row of ``emb`` ``(N, D)`` with one embedding ``other`` ``(1, D)``: ``(N,)``."""
        sims = pairwise_similarity(emb, other.expand(emb.shape[0], -1), self.similarity)
        return sims.detach().cpu().double().numpy()


# ---------------------------------------------------------------------------------------------- methods
def _occlusion(scorer: _Scorer, t: _Tokenized, other: torch.Tensor, full: float) -> tuple[list[float], list[float]]:
    """Token and word scores: ``full - score(deleted)``, deleting one token / one whole word at a time."""
    variants = [_delete(t.ids, [p]) for p in t.positions]
    multi = [g for g in t.word_tokens if len(g) > 1]
    variants += [_delete(t.ids, [t.positions[j] for j in g]) for g in multi]
    if not variants:
        return [], []
    scores = full - scorer.score(scorer.embed(variants), other)
    n = len(t.positions)
    token_scores = [float(s) for s in scores[:n]]
    multi_scores = iter(scores[n:])
    word_scores = [float(next(multi_scores)) if len(g) > 1 else token_scores[g[0]] for g in t.word_tokens]
    return token_scores, word_scores


def _baseline_ids(scorer: _Scorer, baseline: str) -> int | None:
    if baseline == "zero":
        return None
    tok = scorer.model.tokenizer
    token_id = tok.pad_token_id if baseline == "pad" else tok.mask_token_id
    if token_id is None:
        raise ValueError(f"baseline={baseline!r}: the tokenizer has no {baseline} token; use baseline='zero'")
    return int(token_id)


def _integrated_gradients(
    scorer: _Scorer,
    t: _Tokenized,
    other: torch.Tensor,
    full: float,
    steps: int,
    baseline: str,
) -> tuple[list[float], list[float], float]:
    """Token scores, word scores (sums of pieces) and the baseline score of one side."""
    model = scorer.model
    embedding = _input_embeddings(model)
    dev = scorer.device
    ids = torch.tensor([t.ids], dtype=torch.long, device=dev)
    with torch.no_grad():
        x = embedding(ids).detach()  # (1, T, H)
        base = x.clone()
        pos = torch.tensor(t.positions, dtype=torch.long, device=dev)
        base_id = _baseline_ids(scorer, baseline)
        if len(t.positions):
            if base_id is None:
                base[0, pos] = 0.0
            else:
                base[0, pos] = embedding(torch.tensor([base_id], device=dev)).to(base.dtype)
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor((nodes + 1.0) / 2.0, dtype=x.dtype, device=dev)  # quadrature nodes on [0, 1]
    w = torch.tensor(weights / 2.0, dtype=torch.float64, device=dev)
    feats = scorer.features([t.ids])
    avg_grad = torch.zeros(x.shape[1:], dtype=torch.float64, device=dev)  # (T, H)
    with torch.enable_grad():
        for start in range(0, steps, scorer.batch_size):
            a = alphas[start : start + scorer.batch_size].view(-1, 1, 1)
            path = (base + a * (x - base)).requires_grad_(True)  # (s, T, H)
            n = path.shape[0]
            batch = {k: v.expand(n, -1) for k, v in feats.items()}
            batch["inputs_embeds"] = path
            emb = model.embed(batch).float()
            sims = pairwise_similarity(emb, other.expand(n, -1), scorer.similarity)
            (grad,) = torch.autograd.grad(sims.sum(), path)
            avg_grad += (grad.double() * w[start : start + n].view(-1, 1, 1)).sum(0)
    attr = ((x - base)[0].double() * avg_grad).sum(-1)  # (T,)
    token_scores = [float(attr[p]) for p in t.positions]
    word_scores = [float(sum(token_scores[j] for j in g)) for g in t.word_tokens]
    with torch.no_grad():
        emb_base = model.embed({**feats, "inputs_embeds": base}).float()
        base_score = float(scorer.score(emb_base, other)[0])
    gap = sum(token_scores) - (full - base_score)
    if abs(gap) > 0.05 * max(1e-3, abs(full - base_score)):
        logger.info("integrated gradients: completeness gap %.2e with %d steps; raise steps to shrink it", gap, steps)
    return token_scores, word_scores, base_score


def _input_embeddings(model: Any) -> torch.nn.Module:
    hf = getattr(getattr(model, "encoder", None), "model", None)
    if hf is None or not hasattr(hf, "get_input_embeddings"):
        raise TypeError(
            "integrated gradients needs a transformer tower (model.encoder.model.get_input_embeddings()); "
            "use method='occlusion' for this model"
        )
    return hf.get_input_embeddings()


def _check_method(method: str) -> str:
    m = _METHOD_ALIASES.get(str(method).lower(), str(method).lower())
    if m not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    return m


def _resolve_model(model: Any) -> Any:
    from textsiam.api import get_model

    if model is None or isinstance(model, (str, os.PathLike)):
        return get_model(model)
    if not hasattr(model, "embed") or not hasattr(model, "tokenizer"):
        raise TypeError(f"model must be a SiameseModel, a model directory or None, got {type(model).__name__}")
    return model


class _Explainer:
    """Shared by :func:`explain` and :func:`faithfulness`: one model, one method, eval mode."""

    def __init__(self, model: Any, method: str, steps: int, baseline: str, batch_size: int) -> None:
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}")
        if baseline not in BASELINES:
            raise ValueError(f"unknown baseline {baseline!r}; choose one of {list(BASELINES)}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.method = _check_method(method)
        self.steps = steps
        self.baseline = baseline
        self.scorer = _Scorer(model, batch_size)
        if self.method == "integrated_gradients":
            _input_embeddings(model)

    def __call__(self, text_a: str, text_b: str) -> tuple[Explanation, _Tokenized, _Tokenized]:
        model = self.scorer.model
        ta, tb = _tokenize_one(model, text_a), _tokenize_one(model, text_b)
        emb = self.scorer.embed([ta.ids, tb.ids])  # (2, D)
        ea, eb = emb[:1], emb[1:]
        full = float(self.scorer.score(ea, eb)[0])
        sides = []
        for t, other in ((ta, eb), (tb, ea)):
            base_score = None
            if self.method == "occlusion":
                token_scores, word_scores = _occlusion(self.scorer, t, other, full)
            else:
                token_scores, word_scores, base_score = _integrated_gradients(
                    self.scorer, t, other, full, self.steps, self.baseline
                )
            words, spans = _words(t)
            sides.append(
                TextAttribution(
                    text=t.text,
                    tokens=list(t.tokens),
                    token_scores=token_scores,
                    token_offsets=t.offsets,
                    words=words,
                    word_scores=word_scores,
                    word_offsets=spans,
                    word_tokens=[list(g) for g in t.word_tokens],
                    baseline_score=base_score,
                )
            )
        params: dict[str, Any] = {"max_seq_length": model.max_seq_length}
        if self.method == "integrated_gradients":
            params.update(steps=self.steps, baseline=self.baseline, quadrature="gauss-legendre")
        else:
            params.update(deletion="token removed from the input sequence")
        exp = Explanation(text_a, text_b, full, self.method, self.scorer.similarity, sides[0], sides[1], params)
        return exp, ta, tb


def _check_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------------------------------------- public API
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
    a, b = _check_text(a, "a"), _check_text(b, "b")
    m = _resolve_model(model)
    explainer = _Explainer(m, method, steps, baseline, batch_size)
    was_training = m.training
    m.eval()
    try:
        return explainer(a, b)[0]
    finally:
        m.train(was_training)


def _pair_texts(pairs: Any) -> tuple[list[str], list[str]]:
    if isinstance(pairs, Sequence) and not isinstance(pairs, str) and pairs and isinstance(pairs[0], (tuple, list)):
        return [str(p[0]) for p in pairs], [str(p[1]) for p in pairs]
    try:
        a, b = pairs["text_a"], pairs["text_b"]
    except (KeyError, TypeError, IndexError) as err:
        raise ValueError("pairs must have columns text_a and text_b, or be a list of (a, b) tuples") from err
    a, b = [str(t) for t in a], [str(t) for t in b]
    if len(a) != len(b):
        raise ValueError(f"text_a and text_b have different lengths ({len(a)} and {len(b)})")
    return a, b


def faithfulness(
    model: Any,
    pairs: Any,
    k: int | Sequence[int] = 3,
    seed: int = 0,
    *,
    method: str = "occlusion",
    n_random: int = 5,
    steps: int = 32,
    baseline: str = "pad",
    batch_size: int = 64,
    n_resamples: int = 1000,
    show_progress_bar: bool = False,
) -> dict[str, Any]:
    """Deletion test of attribution faithfulness: do the top-attributed tokens matter more than random ones?

    For every pair, the tokens of both texts (special tokens excluded) are ranked by attribution. Deleting
    the ``k`` highest-ranked tokens from the input should lower the score more than deleting ``k`` tokens
    drawn at random (uniformly among the same tokens, ``n_random`` draws averaged). Use pairs with a high
    score (e.g. STS-B pairs with gold >= 4): there, deleting the words that carry the match has an effect.
    Pairs with ``k`` or fewer tokens in total are skipped.

    Args:
        model: a :class:`~textsiam.SiameseModel`, a directory, or ``None`` for the default model.
        pairs: a :class:`datasets.Dataset` / dict / DataFrame with ``text_a`` and ``text_b``, or a list of
            ``(a, b)`` tuples.
        k: tokens deleted; an int or several (each gets its own row in ``results``).
        seed: seed of :func:`numpy.random.default_rng` for the random deletions and the bootstrap.
        method: attribution method (see :func:`explain`).
        n_random: random deletions per pair, averaged.
        steps, baseline: integrated gradients settings (see :func:`explain`).
        batch_size: sequences per forward pass.
        n_resamples: bootstrap resamples for the CI of the mean difference (0 = no CI).
        show_progress_bar: tqdm bar over pairs.

    Returns:
        ``{"method", "params", "n_pairs", "seed", "n_random", "mean_score", "results": [...]}``; each result
        has ``k``, ``n_pairs`` (pairs used), ``n_skipped``, ``mean_drop_topk`` and ``mean_drop_random`` (mean
        of ``score - score after deletion``), ``mean_difference`` (top-k minus random; > 0 means faithful),
        its paired-bootstrap ``ci_low`` / ``ci_high`` and ``p_value``, and ``win_rate`` (fraction of pairs
        where the top-k deletion lowered the score more than the random one).
    """
    from textsiam.evaluation.bootstrap import paired_bootstrap

    ks = [k] if isinstance(k, int) else [int(v) for v in k]
    if not ks or any(v < 1 for v in ks):
        raise ValueError(f"k must be a positive int or a list of them, got {k!r}")
    if not isinstance(n_random, int) or n_random < 1:
        raise ValueError(f"n_random must be a positive int, got {n_random!r}")
    texts_a, texts_b = _pair_texts(pairs)
    if not texts_a:
        raise ValueError("pairs is empty")
    m = _resolve_model(model)
    explainer = _Explainer(m, method, steps, baseline, batch_size)
    scorer = explainer.scorer
    rng = np.random.default_rng(seed)
    drops: dict[int, tuple[list[float], list[float]]] = {v: ([], []) for v in ks}
    skipped: dict[int, int] = dict.fromkeys(ks, 0)
    scores: list[float] = []
    was_training = m.training
    m.eval()
    try:
        for ta_text, tb_text in tqdm(
            list(zip(texts_a, texts_b, strict=True)), desc="Faithfulness", unit="pair", disable=not show_progress_bar
        ):
            exp, ta, tb = explainer(ta_text, tb_text)
            scores.append(exp.score)
            units = [(0, p, s) for p, s in zip(ta.positions, exp.a.token_scores, strict=True)]
            units += [(1, p, s) for p, s in zip(tb.positions, exp.b.token_scores, strict=True)]
            order = sorted(range(len(units)), key=lambda i: -units[i][2])
            for v in ks:
                if len(units) <= v:
                    skipped[v] += 1
                    continue
                chosen = [order[:v]] + [list(rng.choice(len(units), size=v, replace=False)) for _ in range(n_random)]
                seq_a, seq_b = [], []
                for sel in chosen:
                    seq_a.append(_delete(ta.ids, [units[i][1] for i in sel if units[i][0] == 0]))
                    seq_b.append(_delete(tb.ids, [units[i][1] for i in sel if units[i][0] == 1]))
                emb_a, emb_b = scorer.embed(seq_a), scorer.embed(seq_b)
                after = pairwise_similarity(emb_a, emb_b, scorer.similarity).double().cpu().numpy()
                drops[v][0].append(exp.score - float(after[0]))
                drops[v][1].append(exp.score - float(after[1:].mean()))
    finally:
        m.train(was_training)

    results = []
    for v in ks:
        top, rand = np.asarray(drops[v][0]), np.asarray(drops[v][1])
        row: dict[str, Any] = {"k": v, "n_pairs": int(top.size), "n_skipped": skipped[v]}
        if top.size == 0:
            row.update(mean_drop_topk=None, mean_drop_random=None, mean_difference=None, win_rate=None)
            results.append(row)
            continue
        row.update(
            mean_drop_topk=float(top.mean()),
            mean_drop_random=float(rand.mean()),
            mean_difference=float((top - rand).mean()),
            win_rate=float(np.mean(top > rand)),
        )
        if n_resamples and top.size > 1:
            res = paired_bootstrap(
                lambda _g, s: float(np.mean(s)), np.zeros_like(top), rand, top, n_resamples, seed, 0.95
            )
            row.update(ci_low=res.low, ci_high=res.high, p_value=res.p_value)
        results.append(row)
    return {
        "method": explainer.method,
        "params": {"steps": steps, "baseline": baseline} if explainer.method == "integrated_gradients" else {},
        "n_pairs": len(texts_a),
        "seed": seed,
        "n_random": n_random,
        "mean_score": float(np.mean(scores)),
        "results": results,
    }
