"""Re-ranking in mining: does ``textsiam mine --rerank`` raise the precision of mined Quora duplicates at the same
recall? The twin tower mines candidate pairs among the Quora test questions, a cross-encoder re-scores them, and both
rankings of the same candidates are scored against the labelled duplicates, with the cost of the re-scoring.

* **Corpus and gold.** The distinct questions of textsiam's Quora ``test`` split (BiMPM ``test.tsv``: 10,000 pairs,
  19,081 questions) are the corpus. Gold duplicates are its ``is_duplicate = 1`` pairs closed transitively (a~b and
  b~c make a~c a duplicate; connected components of ``textsiam.data.graph.text_components``, 7,139 pairs), except
  that an explicit label wins (2 pairs labelled 0 inside a component stay non-duplicates). A pair that is neither
  labelled nor implied counts as a non-duplicate: the split labels 10,000 of the 182 million pairs of its
  questions, so true duplicates that no one labelled count against both rankings. Precision is therefore also
  reported on the **labelled** candidates only (explicit labels, no such bias), and on the **unseen** candidates
  (neither question in textsiam's Quora train or dev split: the test split is not question-disjoint from them,
  1,126 of its questions are in train and 274 in dev, though no test pair is a training pair). ``--max-questions``
  keeps the first test pairs whose questions number at most N (whole pairs: labels and closure stay in the corpus).
* **Candidates.** ``textsiam.mining.mine_duplicates`` (the code of ``textsiam mine``) with threshold -1, so every
  pair of a question and one of its ``--top-k`` neighbours is a candidate; the ``--budget`` best by the twin tower's
  cosine are kept (default: as many as questions), which is ``textsiam mine`` with the threshold at the budget's last
  score. ``textsiam.mining.rerank_pairs`` (the code of ``--rerank``) re-scores them with the cross-encoder, loaded as
  ``textsiam mine --rerank`` loads it (``textsiam.cli.mine.load_reranker``). Its wall and process CPU time give the
  cost per 1,000 candidates; the mining's, per 1,000 questions.
* **Metrics**, for the twin tower's and the cross-encoder's ranking of the same candidates (so the recall of the
  whole budget is the same): average precision (scikit-learn's), precision at
  recall 0.25 / 0.5 / 0.75 of the duplicates in the budget and of all gold duplicates where the budget reaches it
  (the precision of the shortest top list that reaches that recall), and F1-max (recall of all gold duplicates). A
  paired bootstrap over the candidate pairs (``textsiam.evaluation.bootstrap.paired_bootstrap``) gives the
  difference cross-encoder − twin tower of AP and of each precision at recall in the budget, with its 95% CI and
  p-value (candidate pairs share questions, so the interval is somewhat narrow).
* **Mixing in the twin tower** (``textsiam mine --rerank-twin-weight W``, ``rerank_pairs(twin_weight=W)``): the
  pairs ordered by ``(1 - W) * z(cross-encoder) + W * z(twin)``, each score standardised over the candidates. ``W``
  is chosen on the Quora **dev** questions (textsiam's dev split, mined and re-ranked the same way; no test label
  is read), among ``--twin-weights`` (0: the cross-encoder alone, 1: the twin tower's order): the weight whose
  smallest gain over the twin tower's ranking, of the goal's six precisions (three recall levels on all and on
  labelled candidates), is largest (ties: the larger mean gain, then the smaller weight). The test split is then
  scored with that weight once, beside the cross-encoder alone. Dev is question-disjoint from train, not from test:
  274 of its 3,828 questions are test questions (47 dev pairs have both in test), and the cross-encoder's epochs
  were chosen on the same dev pairs, so its dev figures are somewhat optimistic. The mix itself was added after
  the cross-encoder's test figures were known (2026-12-07), because of them.
* **Goal** (met when every check is): the precision of the dev-chosen re-ranking at each recall level in the budget
  is higher, p < 0.05, on all candidates and on the labelled ones. The cross-encoder alone is checked the same way.

    # W: the --work-dir of benchmarks.augsbert_cross_encoder; lr and epochs: the Quora setting its report chose
    python -m benchmarks.augsbert_mining_rerank --cross-encoder W/quora_textsiam_lr2e-05_ep1/model
    python -m benchmarks.augsbert_mining_rerank --cross-encoder DIR --twin DIR --top-k 10 --budget 30000
    python -m benchmarks.augsbert_mining_rerank --cross-encoder DIR --twin-weights 0  # the cross-encoder alone
    python -m benchmarks.augsbert_mining_rerank --cross-encoder DIR --smoke      # 300 questions, 100 resamples

Writes benchmarks/results/augsbert/mining_rerank.{json,md} (``--smoke``: ``mining_rerank_smoke.*``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.augsbert_mining_rerank_report import COMPARISONS, render
from benchmarks.common import (
    benchmark_parser,
    configure,
    resolve_data_dir,
    utc_now,
    write_results,
)

logger = logging.getLogger("benchmarks.augsbert_mining_rerank")

#: recall levels at which precision is compared (of the duplicates in the budget, and of all gold duplicates)
RECALL_LEVELS = (0.25, 0.5, 0.75)
#: candidate subsets: every candidate, the explicitly labelled ones, those of questions unseen in training
SUBSETS = ("all", "labelled", "unseen")
#: subsets whose comparisons make the goal
GOAL_SUBSETS = ("all", "labelled")
ALPHA = 0.05
SEED = 42
SMOKE_QUESTIONS = 300
SMOKE_RESAMPLES = 100
#: the twin tower's weights tried on dev by default (0: the cross-encoder alone; 1: the twin tower's own order)
TWIN_WEIGHTS = tuple(round(0.1 * k, 1) for k in range(11))


# ---------------------------------------------------------------------------------------------- corpus and gold
@dataclass
class Corpus:
    """The questions to mine and what is known about their pairs."""

    questions: list[str]
    component: np.ndarray  # (N,) duplicate cluster of each question (transitive closure of the label-1 pairs)
    labels: dict[tuple[int, int], int]  # explicit label of each labelled pair (i < j); 1 wins over 0
    seen: np.ndarray  # (N,) bool: the question is in the cross-encoder's training or dev split
    n_pairs: int  # labelled rows, self-pairs included
    n_self_pairs: int

    def conflicts(self) -> list[tuple[int, int]]:
        """Pairs labelled 0 inside a duplicate cluster (the label wins over the closure)."""
        return [p for p, y in self.labels.items() if y == 0 and self.component[p[0]] == self.component[p[1]]]

    def n_gold(self, mask: np.ndarray | None = None) -> int:
        """Gold duplicate pairs among the questions of ``mask`` (default all): same cluster, not labelled 0."""
        keep = np.ones(len(self.questions), dtype=bool) if mask is None else mask
        sizes = np.bincount(self.component[keep]) if keep.any() else np.zeros(0, dtype=np.int64)
        closed = int((sizes * (sizes - 1) // 2).sum())
        return closed - sum(1 for i, j in self.conflicts() if keep[i] and keep[j])

    def n_labelled_duplicates(self) -> int:
        return sum(self.labels.values())


def build_corpus(
    text_a: Sequence[str], text_b: Sequence[str], labels: Sequence[int], seen_texts: set[str] | None = None
) -> Corpus:
    """The corpus of labelled pairs: their distinct texts (first-seen order), clusters and explicit labels."""
    from textsiam.data.graph import text_components

    nodes, component = text_components(text_a, text_b, [int(y) == 1 for y in labels])
    index = {text: i for i, text in enumerate(nodes)}
    explicit: dict[tuple[int, int], int] = {}
    n_self = 0
    for a, b, y in zip(text_a, text_b, labels, strict=True):
        i, j = sorted((index[a], index[b]))
        if i == j:
            n_self += 1
            continue
        explicit[(i, j)] = max(explicit.get((i, j), 0), int(y))
    seen = np.array([text in (seen_texts or set()) for text in nodes], dtype=bool)
    return Corpus(nodes, np.asarray(component, dtype=np.int64), explicit, seen, len(text_a), n_self)


def load_corpus(data_dir: str | None, max_questions: int | None, split: str = "test") -> Corpus:
    """The Quora corpus of ``split`` (the first pairs within ``max_questions`` distinct questions); its questions in
    the splits before it (train, and dev for test) are marked seen (the *unseen* subset of the test report)."""
    from textsiam.data import load_pairs

    test = load_pairs("quora", split, data_dir)
    a, b, y = list(test["text_a"]), list(test["text_b"]), [int(v) for v in test["label"]]
    if max_questions is not None:
        kept: set[str] = set()
        n = 0
        while n < len(a) and len(kept | {a[n], b[n]}) <= max_questions:
            kept |= {a[n], b[n]}
            n += 1
        a, b, y = a[:n], b[:n], y[:n]
    seen: set[str] = set()
    for before in ("train", "dev")[: 1 if split == "dev" else 2]:
        ds = load_pairs("quora", before, data_dir)
        seen.update(ds["text_a"], ds["text_b"])
    return build_corpus(a, b, y, seen)


def gold_of(corpus: Corpus, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(gold, labelled)`` of candidate ``pairs`` ``(P, 2)``: 0/1 duplicate, and whether the pair has a label."""
    pairs = np.sort(np.asarray(pairs, dtype=np.int64).reshape(-1, 2), axis=1)
    gold = (corpus.component[pairs[:, 0]] == corpus.component[pairs[:, 1]]).astype(np.int64)
    labelled = np.zeros(len(pairs), dtype=bool)
    for k, (i, j) in enumerate(pairs.tolist()):
        y = corpus.labels.get((i, j))
        if y is not None:
            gold[k], labelled[k] = y, True
    return gold, labelled


# ---------------------------------------------------------------------------------------------- metrics
def pr_curve(gold: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(precision, recall)`` of every top list by descending score (tied scores enter together), shortest first:
    scikit-learn's ``precision_recall_curve`` without its closing (1, 0) point; None without duplicates."""
    from sklearn.metrics import precision_recall_curve

    gold = np.asarray(gold)
    if len(gold) == 0 or gold.sum() == 0:
        return None
    precision, recall, _ = precision_recall_curve(gold, np.asarray(scores, dtype=np.float64))
    return precision[-2::-1], recall[-2::-1]


def average_precision(gold: np.ndarray, scores: np.ndarray) -> float:
    """scikit-learn's ``average_precision_score``; NaN without duplicates."""
    from sklearn.metrics import average_precision_score

    gold = np.asarray(gold)
    if len(gold) == 0 or gold.sum() == 0:
        return float("nan")
    return float(average_precision_score(gold, scores))


def precision_at_recall(gold: np.ndarray, scores: np.ndarray, level: float) -> float:
    """Precision of the shortest top list (by ``scores``, ties together) whose recall of the duplicates among the
    candidates reaches ``level``; NaN when none does (``level`` > 1) or without duplicates."""
    curve = pr_curve(gold, scores)
    if curve is None:
        return float("nan")
    precision, recall = curve
    reach = np.nonzero(recall >= level - 1e-12)[0]
    return float(precision[reach[0]]) if len(reach) else float("nan")


def f1_max(gold: np.ndarray, scores: np.ndarray, total: int) -> float:
    """The best F1 over the top lists, recall counted of ``total`` duplicates (the budget may miss some)."""
    curve = pr_curve(gold, scores)
    if curve is None or total <= 0:
        return float("nan")
    precision, recall = curve
    recall = recall * float(np.sum(gold)) / total
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
    return float(f1.max())


def ranking_metrics(gold: np.ndarray, scores: np.ndarray, total: int) -> dict[str, Any]:
    """AP, precision at the recall levels (of the budget's duplicates; of all ``total``) and F1-max of a ranking."""
    found = int(np.sum(gold))
    ap = average_precision(gold, scores)
    of_all = {f"{r:g}": precision_at_recall(gold, scores, r * total / found) if found else None for r in RECALL_LEVELS}
    return {
        "ap": ap,
        "precision_at_recall": {f"{r:g}": precision_at_recall(gold, scores, r) for r in RECALL_LEVELS},
        "precision_at_recall_of_all": {k: (v if v is None or np.isfinite(v) else None) for k, v in of_all.items()},
        "f1_max": f1_max(gold, scores, total),
    }


def metric_fns() -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """The bootstrapped metrics, ``fn(gold, scores)``: AP and precision at each recall level of the budget."""
    fns: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"ap": average_precision}
    for r in RECALL_LEVELS:
        fns[f"precision_at_recall_{r:g}"] = lambda g, s, r=r: precision_at_recall(g, s, r)
    return fns


def subset_report(
    gold: np.ndarray,
    twin: np.ndarray,
    cross: np.ndarray,
    total: int,
    n_resamples: int,
    seed: int,
    fused: np.ndarray | None = None,
) -> dict[str, Any]:
    """The rankings of one subset of candidates (the twin tower's, the cross-encoder's and, given ``fused``, the
    mixed one), and the paired bootstraps of each re-ranking − twin tower."""
    from textsiam.evaluation.bootstrap import paired_bootstrap

    found = int(np.sum(gold))
    out: dict[str, Any] = {
        "candidates": len(gold),
        "duplicates": found,
        "gold_duplicates": total,
        "recall": found / total if total else None,
        "precision": found / len(gold) if len(gold) else None,
        "twin": ranking_metrics(gold, twin, total),
        "cross_encoder": ranking_metrics(gold, cross, total),
        "comparisons": {},
    }
    rerankings = {"cross_encoder": cross}
    if fused is not None:
        out["fused"], out["fused_comparisons"] = ranking_metrics(gold, fused, total), {}
        rerankings["fused"] = fused
    if found == 0 or n_resamples <= 0:
        return out
    for ranking, scores in rerankings.items():
        for name, fn in metric_fns().items():
            res = paired_bootstrap(fn, gold, twin, scores, n_resamples=n_resamples, seed=seed)
            out[COMPARISONS[ranking]][name] = {
                "twin": res.value_a,
                "reranked": res.value_b,
                "difference": res.difference,
                "ci": {"low": res.low, "high": res.high},
                "p_value": res.p_value,
            }
    return out


def goal(subsets: dict[str, Any], ranking: str = "cross_encoder") -> dict[str, Any]:
    """The issue's goal from the comparisons of ``ranking`` (``cross_encoder`` or ``fused``) with the twin tower's:
    precision at every recall level up, p < ALPHA, on GOAL_SUBSETS."""
    checks = []
    for subset in GOAL_SUBSETS:
        for r in RECALL_LEVELS:
            comp = subsets.get(subset, {}).get(COMPARISONS[ranking], {}).get(f"precision_at_recall_{r:g}")
            diff, p = (comp or {}).get("difference"), (comp or {}).get("p_value")
            ok = None if diff is None or p is None or not np.isfinite([diff, p]).all() else diff > 0 and p < ALPHA
            checks.append({"subset": subset, "recall": r, "difference": diff, "p_value": p, "met": ok})
    flags = [c["met"] for c in checks]
    met = False if False in flags else (None if None in flags else True)
    text = "re-ranking raises the precision of mined Quora duplicates at the same recall"
    return {"id": "rerank_raises_precision", "text": text, "ranking": ranking, "met": met, "checks": checks}


def weight_gains(
    gold: np.ndarray, masks: dict[str, np.ndarray], twin: np.ndarray, mixed: np.ndarray
) -> dict[str, float]:
    """The gains over the twin tower's ranking of the goal's six precisions (each recall level of the budget, on each
    subset of ``masks``: all and labelled candidates) of the ``mixed`` ranking."""
    return {
        f"{subset} {r:g}": precision_at_recall(gold[m], mixed[m], r) - precision_at_recall(gold[m], twin[m], r)
        for subset, m in masks.items()
        for r in RECALL_LEVELS
    }


def choose_twin_weight(corpus: Corpus, result: Any, weights: Sequence[float]) -> dict[str, Any]:
    """The dev choice of the twin tower's weight: the largest smallest gain of :func:`weight_gains` (ties: the
    larger mean gain, then the smaller weight); every weight's gains for the report."""
    from textsiam.mining.rerank import fuse_scores

    gold, labelled = gold_of(corpus, result.pairs)  # once for every weight
    masks = {"all": np.ones(len(gold), dtype=bool), "labelled": labelled}
    masks = {subset: masks[subset] for subset in GOAL_SUBSETS}
    twin = np.asarray(result.scores, dtype=np.float64)
    rows = []
    for w in weights:
        gains = weight_gains(gold, masks, twin, fuse_scores(twin, result.rerank_scores, w))
        values = np.array(list(gains.values()), dtype=np.float64)
        values = np.where(np.isfinite(values), values, -np.inf)  # a level no ranking reaches counts as no gain
        rows.append({"twin_weight": float(w), "gains": gains, "min_gain": values.min(), "mean": values.mean()})
    best = max(rows, key=lambda row: (row["min_gain"], row["mean"], -row["twin_weight"]))
    for row in rows:
        row["min_gain"], row["mean"] = (float(v) if np.isfinite(v) else None for v in (row["min_gain"], row["mean"]))
    return {"chosen": best["twin_weight"], "weights": rows}


# ---------------------------------------------------------------------------------------------- the run
def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(fn(), wall seconds, process CPU seconds)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def mine_and_rerank(args: argparse.Namespace, corpus: Corpus) -> tuple[Any, dict[str, Any]]:
    """Mine the candidates, keep the budget, re-score them; the re-ranked result and the costs."""
    from textsiam import SiameseModel
    from textsiam.cli.common import positive_label
    from textsiam.cli.mine import load_reranker
    from textsiam.mining import mine_duplicates, rerank_pairs

    settings = argparse.Namespace(rerank=args.cross_encoder, positive_label=args.positive_label, quiet=True)
    reranker, ce_load_s, _ = timed(lambda: load_reranker(settings))  # first, as textsiam mine does: fails fast
    twin, twin_load_s, _ = timed(lambda: SiameseModel.from_pretrained(args.twin))
    questions = corpus.questions
    mined, mine_s, mine_cpu = timed(
        lambda: mine_duplicates(questions, twin, threshold=-1.0, top_k=args.top_k, batch_size=args.batch_size)
    )
    budget = args.budget or len(questions)
    if budget > len(mined):
        logger.warning("the budget of %d candidates exceeds the %d mined (top-%d)", budget, len(mined), args.top_k)
    kept = dataclasses.replace(mined, pairs=mined.pairs[:budget], scores=mined.scores[:budget])
    logger.info("mined %d candidate pairs in %.1f s; re-scoring the best %d", len(mined), mine_s, len(kept))
    reranked, rerank_s, rerank_cpu = timed(
        lambda: rerank_pairs(
            kept,
            questions,
            reranker,
            batch_size=args.rerank_batch_size,
            positive_label=positive_label(args.positive_label),
        )
    )
    n, q = max(len(reranked), 1), max(len(questions), 1)
    costs = {
        "questions": len(questions),
        "mined_candidates": len(mined),
        "budget": budget,
        "candidates": len(reranked),
        "last_twin_score": float(kept.scores[-1]) if len(kept) else None,
        "twin_load_s": twin_load_s,
        "cross_encoder_load_s": ce_load_s,
        "mining": {
            "wall_s": mine_s,
            "cpu_s": mine_cpu,
            **{k: mined.stats.get(k) for k in ("encode_s", "index_s", "search_s")},
        },
        "mining_per_1000_questions": {"wall_s": 1000 * mine_s / q, "cpu_s": 1000 * mine_cpu / q},
        "rerank": {"wall_s": rerank_s, "cpu_s": rerank_cpu, "rerank_s": reranked.stats.get("rerank_s")},
        "rerank_per_1000_candidates": {"wall_s": 1000 * rerank_s / n, "cpu_s": 1000 * rerank_cpu / n},
        "rerank_score": reranked.stats.get("rerank_score"),
        "index": mined.stats.get("index_factory"),
    }
    return reranked, costs


def evaluate(corpus: Corpus, result: Any, n_resamples: int, seed: int, twin_weight: float = 0.0) -> dict[str, Any]:
    """Every subset's report on the re-ranked candidates (``pairs``, twin ``scores``, ``rerank_scores``), with the
    mixed ranking of ``twin_weight`` when it is above 0 (standardised over all the candidates, as
    ``rerank_pairs`` does)."""
    from textsiam.mining.rerank import fuse_scores

    gold, labelled = gold_of(corpus, result.pairs)
    pairs = np.asarray(result.pairs, dtype=np.int64).reshape(-1, 2)
    unseen_pair = ~corpus.seen[pairs[:, 0]] & ~corpus.seen[pairs[:, 1]]
    masks = {"all": np.ones(len(gold), dtype=bool), "labelled": labelled, "unseen": unseen_pair}
    totals = {"all": corpus.n_gold(), "labelled": corpus.n_labelled_duplicates(), "unseen": corpus.n_gold(~corpus.seen)}
    twin, cross = np.asarray(result.scores, dtype=np.float64), np.asarray(result.rerank_scores, dtype=np.float64)
    fused = fuse_scores(twin, cross, twin_weight) if twin_weight > 0 else None
    out = {}
    for name in SUBSETS:
        m = masks[name]
        logger.info("subset %s: %d candidates, %d duplicates", name, int(m.sum()), int(gold[m].sum()))
        mixed = None if fused is None else fused[m]
        out[name] = subset_report(gold[m], twin[m], cross[m], totals[name], n_resamples, seed, mixed)
    return out


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "augsbert")
    p.add_argument("--cross-encoder", required=True, help="the re-ranker: a textsiam or sentence-transformers folder")
    p.add_argument("--twin", default=None, help="the twin tower that mines (default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--top-k", type=int, default=5, help="neighbours per question (candidates: 5)")
    p.add_argument("--budget", type=int, default=None, help="candidate pairs kept (default: one per question)")
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass of the twin tower")
    p.add_argument("--rerank-batch-size", type=int, default=32, help="pairs per forward pass of the cross-encoder")
    p.add_argument("--positive-label", default=None, help="the label scored by a head of several labels")
    p.add_argument("--max-questions", type=int, default=None, help="the first test pairs within N questions")
    p.add_argument("--n-resamples", type=int, default=1000, help="paired bootstrap resamples")
    p.add_argument(
        "--twin-weights",
        type=float,
        nargs="+",
        default=list(TWIN_WEIGHTS),
        help="the twin tower's weights in the re-ranking order to choose from on dev (one: used without dev; "
        "0: the cross-encoder alone)",
    )
    p.add_argument("--smoke", action="store_true", help=f"{SMOKE_QUESTIONS} questions, {SMOKE_RESAMPLES} resamples")
    p.add_argument("--results-name", default="mining_rerank", help="result file name NAME.{json,md}")
    args = p.parse_args(argv)
    for name in ("top_k", "batch_size", "rerank_batch_size", "budget", "max_questions"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be a positive integer")
    if any(not 0.0 <= w <= 1.0 for w in args.twin_weights):  # NaN fails too
        p.error(f"--twin-weights must lie in [0, 1], got {args.twin_weights}")
    if args.smoke:
        args.max_questions = min(args.max_questions or SMOKE_QUESTIONS, SMOKE_QUESTIONS)
        args.n_resamples = min(args.n_resamples, SMOKE_RESAMPLES)
    args.data_dir = resolve_data_dir(args.data_dir)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    configure(logging.INFO)
    from textsiam.evaluation.results import to_jsonable

    started, t0 = utc_now(), time.perf_counter()
    corpus = load_corpus(args.data_dir, args.max_questions)
    data = {
        "labelled_pairs": corpus.n_pairs,
        "self_pairs": corpus.n_self_pairs,
        "questions": len(corpus.questions),
        "labelled_duplicates": corpus.n_labelled_duplicates(),
        "gold_duplicates": corpus.n_gold(),
        "label_0_in_a_cluster": len(corpus.conflicts()),
        "questions_seen_in_training": int(corpus.seen.sum()),
    }
    logger.info("corpus: %s", data)
    dev = None
    weights = sorted(set(args.twin_weights))
    if len(weights) > 1:  # chosen on the dev questions before the test split is mined
        dev_corpus = load_corpus(args.data_dir, args.max_questions, "dev")
        dev_result, _ = mine_and_rerank(args, dev_corpus)
        gold, _ = gold_of(dev_corpus, dev_result.pairs)
        dev = {"questions": len(dev_corpus.questions), "candidates": len(dev_result), "duplicates": int(gold.sum())}
        dev |= choose_twin_weight(dev_corpus, dev_result, weights)
        logger.info("dev chose the twin tower's weight %g of %s", dev["chosen"], weights)
    twin_weight = weights[0] if dev is None else dev["chosen"]
    result, costs = mine_and_rerank(args, corpus)
    subsets = evaluate(corpus, result, args.n_resamples, SEED, twin_weight)
    settings = {k: getattr(args, k) for k in ("twin", "cross_encoder", "top_k", "budget", "batch_size")}
    settings |= {k: getattr(args, k) for k in ("rerank_batch_size", "max_questions", "n_resamples", "smoke")}
    settings["twin_weights"] = weights
    payload = to_jsonable(
        {
            "started": started,
            "settings": {**settings, "seed": SEED, "recall_levels": list(RECALL_LEVELS), "alpha": ALPHA},
            "data": data,
            "costs": costs,
            "dev": dev,
            "twin_weight": twin_weight,
            "subsets": subsets,
            "goal": goal(subsets, "fused" if twin_weight > 0 else "cross_encoder"),
            "goal_cross_encoder_alone": (
                {**goal(subsets), "id": "rerank_raises_precision_cross_encoder_alone"} if twin_weight > 0 else None
            ),
            "total_s": time.perf_counter() - t0,
        }
    )
    body = render(payload)
    write_results(args.results_dir, args.results_name + ("_smoke" if args.smoke else ""), payload, body)
    print(body)
    return payload


if __name__ == "__main__":
    main()
