"""MaLSTM on SICK relatedness: train the recipe, report SICK test Pearson, Spearman and MSE with 95% CIs.

The recipe (``configs/malstm_sick.yaml``, Mueller & Thyagarajan, AAAI 2016): a shared LSTM over subword
embeddings (tokenizer and initial embeddings of the embedded all-MiniLM-L6-v2), similarity
``exp(-||h_a - h_b||_1)``, MSE against the relatedness scores rescaled from 1-5 to [0, 1]; the epoch is chosen on
SICK dev (SICK_trial). Test figures come from ``textsiam.evaluation`` on SICK test (4,927 pairs): Pearson and
Spearman ×100 of the MaLSTM similarity, and the MSE of ``1 + 4 * similarity`` against the 1-5 gold scores
(the paper's scale), each with a 95% bootstrap CI.

    python -m benchmarks.malstm_sick                         # the recipe as it is
    python -m benchmarks.malstm_sick --set epochs=1 --smoke  # a quick check (writes malstm_sick_smoke.*)
    python -m benchmarks.malstm_sick --silver-teacher DIR    # + silver pairs scored by a teacher (below)

``--silver-teacher`` adds Augmented-SBERT "silver" pairs (``textsiam.training.silver_pairs``): every distinct
sentence of SICK **train** is paired with its ``--silver-k`` nearest neighbours under the teacher and
``--silver-random`` random others, the teacher scores each new pair, and an isotonic fit on the gold train pairs
maps its cosine onto the 1-5 scale. The MaLSTM then trains on gold + silver pairs; dev and test are untouched.

Writes benchmarks/results/malstm/malstm_sick.{json,md}.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CONFIGS,
    add_set_argument,
    benchmark_parser,
    configure,
    markdown_table,
    value_ci,
    write_results,
)

CONFIG = CONFIGS / "malstm_sick.yaml"
#: SICK test figures of Mueller & Thyagarajan (2016), Table 1 (Pearson, Spearman, MSE on the 1-5 scale).
PAPER = {
    "MaLSTM": (0.8822, 0.8345, 0.2286),
    "Tree-LSTM (Tai et al. 2015)": (0.8676, 0.8083, 0.2532),
    "BiLSTM (Tai et al. 2015)": (0.8567, 0.7966, 0.2736),
}


def main() -> None:
    p = benchmark_parser(__doc__, "malstm", data_dir=False)
    p.add_argument("--config", default=str(CONFIG))
    p.add_argument("--output-dir", default="runs/malstm_sick", help="the training run folder (replaced)")
    add_set_argument(p)
    p.add_argument("--smoke", action="store_true", help="write malstm_sick_smoke.* (use with small --set values)")
    p.add_argument("--results-name", default=None, help="results file name (default: malstm_sick)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch's default)")
    p.add_argument("--silver-teacher", default=None, help="model dir that scores silver pairs (e.g. SICK-tuned)")
    p.add_argument("--silver-k", type=int, default=3, help="nearest neighbours per train sentence")
    p.add_argument("--silver-random", type=int, default=1, help="random partners per train sentence")
    args = p.parse_args()
    configure(logging.INFO)
    import torch
    import transformers

    from textsiam.evaluation.results import to_jsonable
    from textsiam.training import TrainConfig, train

    transformers.utils.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig.from_file(args.config).with_overrides([*args.set, f"output_dir={args.output_dir}"])
    silver: dict[str, Any] | None = None
    if args.silver_teacher:
        silver = _write_silver(args, config)
        config = config.with_overrides([f"train_dataset={silver['file']}"])
    result = train(config, overwrite=True)
    records = {(r["dataset"], r["split"]): r for r in result.evaluation.results}
    test = records[("sick", "test")]
    sim = test["primary_similarity"]
    figures = {}
    for name in ("pearson", "spearman", "mse"):
        key = f"{sim}_{name}"
        ci = test["ci"].get(key, {})
        figures[name] = {"value": test["metrics"][key], "low": ci.get("low"), "high": ci.get("high")}
    payload: dict[str, Any] = {
        "config": config.to_dict(),
        "config_file": args.config,
        "overrides": args.set,
        "similarity": sim,
        "sick_test": figures,
        "n_test_pairs": test["n_pairs"],
        "dev_history": result.dev_history,
        "best_dev": {"metric": result.metric_name, "value": result.best_metric, "checkpoint": result.best_checkpoint},
        "train_wall_time_s": result.train_wall_time_s,
        "silver": silver,
        "goal_pearson_0_87_met": figures["pearson"]["value"] >= 87.0,
        "paper": {k: dict(zip(("pearson", "spearman", "mse"), v, strict=True)) for k, v in PAPER.items()},
    }

    payload = to_jsonable(payload)
    body = render(payload)
    name = args.results_name or ("malstm_sick_smoke" if args.smoke else "malstm_sick")
    write_results(args.results_dir, name, payload, body)
    print(body)


def render(payload: dict[str, Any]) -> str:
    """The markdown report: SICK test figures with CIs next to the published ones, and the goal's verdict."""
    figures, silver, metric = payload["sick_test"], payload.get("silver"), payload["best_dev"]["metric"]
    overrides = payload["overrides"]
    rows = [
        [
            "textsiam MaLSTM (this run)",
            value_ci(figures["pearson"], 0.01, 4),
            value_ci(figures["spearman"], 0.01, 4),
            value_ci(figures["mse"], 1.0, 4),
        ]
    ]
    rows += [[f"{name}, as published", f"{r:.4f}", f"{rho:.4f}", f"{mse:.4f}"] for name, (r, rho, mse) in PAPER.items()]
    verdict = "met" if payload["goal_pearson_0_87_met"] else "NOT met"
    lines = [
        f"Recipe `{Path(payload['config_file']).name}`"
        + (f" with {' '.join(overrides)}" if overrides else "")
        + f"; epoch chosen on SICK dev ({metric} = {payload['best_dev']['value']:.2f}). SICK test, "
        f"{payload['n_test_pairs']:,} pairs, 95% bootstrap CIs ({payload['config']['n_resamples']} resamples). MSE: "
        "`1 + 4 * similarity` against the 1-5 gold scores.",
        "",
        *(
            [
                f"Training data: {silver['n_gold']:,} gold SICK train pairs + {silver['n_silver']:,} silver pairs of "
                f"the {silver['n_sentences']:,} train sentences ({silver['k_nearest']} nearest + {silver['n_random']} "
                f"random each), scored by `{silver['teacher']}` and calibrated to 1-5 on the gold pairs (isotonic); "
                f"built in {silver['seconds']:.0f} s.",
                "",
            ]
            if silver
            else []
        ),
        *markdown_table(["model", "Pearson r", "Spearman ρ", "MSE"], rows),
        "",
        f"**Goal (Pearson ≥ 0.87): {verdict}.** Dev {metric} per epoch: "
        + ", ".join(f"{h[metric]:.2f}" for h in payload["dev_history"])
        + f". Training wall time {payload['train_wall_time_s'] / 60:.1f} min.",
    ]
    return "\n".join(lines)


def _write_silver(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    """Gold SICK train pairs + teacher-scored silver pairs of the train sentences, as a JSONL training file."""
    import json
    import time

    from textsiam import SiameseModel
    from textsiam.data import load_pairs
    from textsiam.io_utils import atomic_open
    from textsiam.training import silver_pairs

    start = time.perf_counter()
    gold = load_pairs("sick", "train", config.data_dir)
    gold_a, gold_b, gold_y = list(gold["text_a"]), list(gold["text_b"]), [float(v) for v in gold["label"]]
    teacher = SiameseModel.from_pretrained(args.silver_teacher)
    a, b, y = silver_pairs(
        teacher,
        gold_a + gold_b,
        k_nearest=args.silver_k,
        n_random=args.silver_random,
        gold=(gold_a, gold_b, gold_y),
        seed=config.seed,
        show_progress_bar=True,
    )
    path = Path(args.output_dir).resolve().parent / f"{Path(args.output_dir).name}.silver_train.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fh:
        for row in zip(gold_a + a, gold_b + b, gold_y + y, strict=True):
            fh.write(json.dumps(dict(zip(("text_a", "text_b", "label"), row, strict=True))) + "\n")
    return {
        "file": str(path),
        "teacher": args.silver_teacher,
        "k_nearest": args.silver_k,
        "n_random": args.silver_random,
        "n_gold": len(gold_a),
        "n_silver": len(a),
        "n_sentences": len(set(gold_a + gold_b)),
        "seconds": time.perf_counter() - start,
    }


if __name__ == "__main__":
    main()
