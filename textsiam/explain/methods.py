"""How attributions are computed: occlusion (delete a token, rescore) and integrated gradients (Sundararajan et
al., 2017), over token-id sequences embedded by the model's own tower."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from textsiam.explain.attribution import Explanation, TextAttribution
from textsiam.model.scoring import pairwise_similarity

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("occlusion", "integrated_gradients")
BASELINES: tuple[str, ...] = ("pad", "mask", "zero")
_METHOD_ALIASES = {"ig": "integrated_gradients", "integrated-gradients": "integrated_gradients"}


# ---------------------------------------------------------------------------------------------- tokenisation
@dataclass
class Tokenized:
    """One text as the model sees it."""

    text: str
    ids: list[int]  # all token ids, special tokens included
    positions: list[int]  # indices into ids of the non-special tokens
    tokens: list[str]  # their token strings
    offsets: list[tuple[int, int]] | None  # their character spans
    word_tokens: list[list[int]]  # per word: indices into positions / tokens


def tokenize_one(model: Any, text: str) -> Tokenized:
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
    return Tokenized(text, ids, positions, tokens, offsets, word_tokens)


def word_spans(t: Tokenized) -> tuple[list[str], list[tuple[int, int]] | None]:
    if t.offsets is None:
        return [" ".join(t.tokens[j] for j in group) for group in t.word_tokens], None
    spans = [(t.offsets[group[0]][0], t.offsets[group[-1]][1]) for group in t.word_tokens]
    return [t.text[s:e] for s, e in spans], spans


def delete_tokens(ids: list[int], drop: Iterable[int]) -> list[int]:
    gone = set(drop)
    return [x for i, x in enumerate(ids) if i not in gone]


# ---------------------------------------------------------------------------------------------- model access
class Scorer:
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
def occlusion(scorer: Scorer, t: Tokenized, other: torch.Tensor, full: float) -> tuple[list[float], list[float]]:
    """Token and word scores: ``full - score(deleted)``, deleting one token / one whole word at a time."""
    variants = [delete_tokens(t.ids, [p]) for p in t.positions]
    multi = [g for g in t.word_tokens if len(g) > 1]
    variants += [delete_tokens(t.ids, [t.positions[j] for j in g]) for g in multi]
    if not variants:
        return [], []
    scores = full - scorer.score(scorer.embed(variants), other)
    n = len(t.positions)
    token_scores = [float(s) for s in scores[:n]]
    multi_scores = iter(scores[n:])
    word_scores = [float(next(multi_scores)) if len(g) > 1 else token_scores[g[0]] for g in t.word_tokens]
    return token_scores, word_scores


def baseline_ids(scorer: Scorer, baseline: str) -> int | None:
    if baseline == "zero":
        return None
    tok = scorer.model.tokenizer
    token_id = tok.pad_token_id if baseline == "pad" else tok.mask_token_id
    if token_id is None:
        raise ValueError(f"baseline={baseline!r}: the tokenizer has no {baseline} token; use baseline='zero'")
    return int(token_id)


def integrated_gradients(
    scorer: Scorer,
    t: Tokenized,
    other: torch.Tensor,
    full: float,
    steps: int,
    baseline: str,
) -> tuple[list[float], list[float], float]:
    """Token scores, word scores (sums of pieces) and the baseline score of one side."""
    model = scorer.model
    embedding = input_embedding_layer(model)
    dev = scorer.device
    ids = torch.tensor([t.ids], dtype=torch.long, device=dev)
    with torch.no_grad():
        x = embedding(ids).detach()  # (1, T, H)
        base = x.clone()
        pos = torch.tensor(t.positions, dtype=torch.long, device=dev)
        base_id = baseline_ids(scorer, baseline)
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


def input_embedding_layer(model: Any) -> torch.nn.Module:
    """The word-embedding layer that integrated gradients interpolates (transformer towers only)."""
    encoder = getattr(model, "encoder", None)
    layer = encoder.input_embeddings() if encoder is not None else None
    if layer is None or not getattr(encoder, "accepts_inputs_embeds", False):
        raise TypeError(
            "integrated gradients needs a tower that takes input embeddings (a transformer tower); "
            "use method='occlusion' for this model"
        )
    return layer


def check_method(method: str) -> str:
    m = _METHOD_ALIASES.get(str(method).lower(), str(method).lower())
    if m not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    return m


def resolve_model(model: Any) -> Any:
    from textsiam.model.resolve import get_model

    if model is None or isinstance(model, (str, os.PathLike)):
        return get_model(model)
    if not hasattr(model, "embed") or not hasattr(model, "tokenizer"):
        raise TypeError(f"model must be a SiameseModel, a model directory or None, got {type(model).__name__}")
    return model


class Explainer:
    """Shared by :func:`explain` and :func:`faithfulness`: one model, one method, eval mode."""

    def __init__(self, model: Any, method: str, steps: int, baseline: str, batch_size: int) -> None:
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}")
        if baseline not in BASELINES:
            raise ValueError(f"unknown baseline {baseline!r}; choose one of {list(BASELINES)}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.method = check_method(method)
        self.steps = steps
        self.baseline = baseline
        self.scorer = Scorer(model, batch_size)
        if self.method == "integrated_gradients":
            input_embedding_layer(model)

    def __call__(self, text_a: str, text_b: str) -> tuple[Explanation, Tokenized, Tokenized]:
        model = self.scorer.model
        ta, tb = tokenize_one(model, text_a), tokenize_one(model, text_b)
        emb = self.scorer.embed([ta.ids, tb.ids])  # (2, D)
        ea, eb = emb[:1], emb[1:]
        full = float(self.scorer.score(ea, eb)[0])
        sides = []
        for t, other in ((ta, eb), (tb, ea)):
            base_score = None
            if self.method == "occlusion":
                token_scores, word_scores = occlusion(self.scorer, t, other, full)
            else:
                token_scores, word_scores, base_score = integrated_gradients(
                    self.scorer, t, other, full, self.steps, self.baseline
                )
            words, spans = word_spans(t)
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


def check_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value
