"""Faithfulness of token attributions (textsiam.explain) for the default model on STS-B dev.

Deletion test: for each pair, delete the k tokens with the highest attribution (across both texts) and
compare the drop of the cosine score with the drop after deleting k random tokens (5 random draws averaged).
A faithful method lowers the score more than random deletion. Pairs: STS-B dev pairs with gold score >= 4
(highly similar, where removing the matching words must matter), a seeded random sample. Both methods:
occlusion and integrated gradients (Gauss-Legendre quadrature, [PAD] baseline).

    python -m benchmarks.explain_faithfulness [--n-pairs 200] [--k 1 3 5] [--steps 32]

Writes benchmarks/results/explain/explain_faithfulness.{json,md}.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np

from benchmarks.common import benchmark_parser, configure, markdown_table, write_results


def _p(value: float, n_resamples: int = 1000) -> str:
    """A bootstrap p-value of 0 means below the resolution 2 / n_resamples."""
    return f"< {2 / n_resamples:.3f}" if value == 0 else f"{value:.3f}"


def is_faithful(runs: list[dict[str, Any]]) -> bool:
    """Whether every method and k lowers the score more than random deletion, with a CI above 0."""
    return all(r["mean_difference"] > 0 and r["ci_low"] > 0 for res in runs for r in res["results"])


def render(runs: list[dict[str, Any]], args: argparse.Namespace, model_name: str, n_pairs: int, n_eligible: int) -> str:
    """The markdown report of the deletion test of every method in ``runs``."""
    rows = []
    for res in runs:
        name = res["method"] + (f" ({args.steps} steps)" if res["method"] == "integrated_gradients" else "")
        rows += [
            [
                name,
                r["k"],
                r["n_pairs"],
                f"{r['mean_drop_topk']:.4f}",
                f"{r['mean_drop_random']:.4f}",
                f"{r['mean_difference']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]",
                _p(r["p_value"]),
                f"{100 * r['win_rate']:.1f}%",
                res["wall_time_s"],
            ]
            for r in res["results"]
        ]
    header = [
        "method",
        "k",
        "pairs",
        "top-k drop",
        "random drop",
        "difference [95% CI]",
        "p",
        "win rate",
        "time (s)",
    ]
    faithful = is_faithful(runs)
    md = [
        f"Model: `{model_name}` (cosine). {n_pairs} STS-B dev pairs with gold ≥ {args.min_gold:g} "
        f"(seeded sample of {n_eligible}); mean cosine of these pairs {runs[0]['mean_score']:.3f}.\n",
        "Drop = cosine(pair) − cosine(pair after deleting k tokens from the input; special tokens never deleted). "
        f"Random = mean over {args.n_random} random draws of k tokens per pair. Difference = top-k drop − random "
        "drop, with its paired-bootstrap 95% CI (1,000 resamples over pairs). Win rate = fraction of pairs where "
        "the top-k deletion lowered the score more.\n",
        *markdown_table(header, rows, "lrrrrrrrr"),
        "\nVerdict: "
        + (
            "every method and k lowers the score more than random deletion (CI above 0)."
            if faithful
            else "NOT every method/k beats random deletion with a CI above 0 — see the rows."
        ),
    ]
    return "\n".join(md) + "\n"


def main() -> None:
    p = benchmark_parser(__doc__, "explain", model=True)
    p.add_argument("--n-pairs", type=int, default=200, help="pairs sampled from STS-B dev with gold >= --min-gold")
    p.add_argument("--min-gold", type=float, default=4.0)
    p.add_argument("--k", type=int, nargs="+", default=[1, 3, 5])
    p.add_argument("--steps", type=int, default=32, help="integrated-gradients quadrature points")
    p.add_argument("--n-random", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", nargs="+", default=["occlusion", "integrated_gradients"])
    args = p.parse_args()
    configure(logging.WARNING)

    from textsiam import SiameseModel
    from textsiam.data import load_pairs
    from textsiam.explain import faithfulness

    model = SiameseModel.from_pretrained(args.model, device="cpu")
    dev = load_pairs("stsb", "dev", args.data_dir)
    eligible = [i for i, g in enumerate(dev["label"]) if g >= args.min_gold]
    rng = np.random.default_rng(args.seed)
    chosen = sorted(rng.choice(len(eligible), size=min(args.n_pairs, len(eligible)), replace=False).tolist())
    pairs = dev.select([eligible[i] for i in chosen])

    runs = []
    for method in args.methods:
        start = time.perf_counter()
        res = faithfulness(
            model,
            pairs,
            k=args.k,
            seed=args.seed,
            method=method,
            n_random=args.n_random,
            steps=args.steps,
            show_progress_bar=True,
        )
        res["wall_time_s"] = round(time.perf_counter() - start, 1)
        runs.append(res)

    body = render(runs, args, model.name_or_path, len(pairs), len(eligible))
    faithful = is_faithful(runs)
    payload = {
        "dataset": "stsb/dev",
        "min_gold": args.min_gold,
        "n_eligible": len(eligible),
        "n_pairs": len(pairs),
        "k": args.k,
        "steps": args.steps,
        "n_random": args.n_random,
        "seed": args.seed,
        "faithful": faithful,
        "runs": runs,
    }
    write_results(args.results_dir, "explain_faithfulness", payload, body)
    print(body)


if __name__ == "__main__":
    main()
