"""``faithfulness``: the deletion test of attributions (do the top-attributed tokens matter more than random ones?)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from textsiam.explain.methods import Explainer, delete_tokens, resolve_model
from textsiam.model.scheduler import inference_context
from textsiam.model.scoring import pairwise_similarity


def pair_texts(pairs: Any) -> tuple[list[str], list[str]]:
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
    texts_a, texts_b = pair_texts(pairs)
    if not texts_a:
        raise ValueError("pairs is empty")
    m = resolve_model(model)
    explainer = Explainer(m, method, steps, baseline, batch_size)
    scorer = explainer.scorer
    rng = np.random.default_rng(seed)
    drops: dict[int, tuple[list[float], list[float]]] = {v: ([], []) for v in ks}
    skipped: dict[int, int] = dict.fromkeys(ks, 0)
    scores: list[float] = []
    with inference_context(m):
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
                    seq_a.append(delete_tokens(ta.ids, [units[i][1] for i in sel if units[i][0] == 0]))
                    seq_b.append(delete_tokens(tb.ids, [units[i][1] for i in sel if units[i][0] == 1]))
                emb_a, emb_b = scorer.embed(seq_a), scorer.embed(seq_b)
                after = pairwise_similarity(emb_a, emb_b, scorer.similarity).double().cpu().numpy()
                drops[v][0].append(exp.score - float(after[0]))
                drops[v][1].append(exp.score - float(after[1:].mean()))

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
