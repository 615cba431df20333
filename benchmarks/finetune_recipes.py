"""Fine-tuning recipes of the training issue, run with ``textsiam.training.train`` and tabulated.

Each *group* is a list of runs (a config from ``benchmarks/configs/`` plus overrides). Every run picks its
best checkpoint on the dev split only, then the saved model is evaluated on the dev and test splits with
95% bootstrap CIs (``textsiam.evaluation``). Thresholds of classification tasks (MRPC, Quora) are chosen on
dev. Groups:

- ``sick``: CoSENT and cosine-MSE on SICK train, test Pearson / Spearman / MSE (plus STS-B test as transfer).
- ``quora``: contrastive vs online-contrastive vs MNRL on the leak-free Quora train split.
- ``mrpc``: online-contrastive on MRPC train (dev = the last 400 train rows).
- ``stsb_losses``: cosine-MSE vs CoSENT vs contrastive (scores binarised at 4.0) vs MNRL on STS-B.
- ``stsb_regularisers``: baseline vs word-deletion / word-swap augmentation vs FGM, judged on STS-B **dev**.

A CPU budget of tens of minutes per group forces shorter runs than the configs' defaults: ``--epochs`` and
``--max-train-pairs`` shorten every run of a group, and the result files state what was run.

    python -m benchmarks.finetune_recipes sick --epochs 1
    python -m benchmarks.finetune_recipes quora --epochs 1 --max-train-pairs 4000
    python -m benchmarks.finetune_recipes stsb_losses --epochs 1 --smoke

Writes ``benchmarks/results/finetune/finetune_<group>.{json,md}`` (``--smoke``: ``finetune_<group>_smoke.*``).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CONFIGS,
    SMOKE_OVERRIDES,
    add_set_argument,
    add_training_arguments,
    benchmark_parser,
    configure,
    markdown_table,
    metric_cell,
    training_overrides,
    write_results,
)

logger = logging.getLogger("benchmarks.finetune_recipes")

#: group -> [(run name, config file, overrides)]
GROUPS: dict[str, list[tuple[str, str, list[str]]]] = {
    "sick": [("cosent", "sick.yaml", ["loss=cosent"]), ("cosine_similarity", "sick.yaml", [])],
    "quora": [
        ("contrastive", "quora.yaml", ["loss=contrastive", "loss_kwargs={distance: cosine, margin: 0.5}"]),
        ("online_contrastive", "quora.yaml", []),
        ("mnrl", "quora.yaml", ["loss=mnrl", "loss_kwargs={}"]),
    ],
    "mrpc": [("online_contrastive", "mrpc.yaml", [])],
    "stsb_losses": [
        ("cosine_similarity", "stsb_cosine.yaml", []),
        ("cosent", "stsb.yaml", []),
        (
            "contrastive@4.0",
            "stsb.yaml",
            [
                "loss=contrastive",
                "label_transform=binarize",
                "binarize_threshold=4.0",
                "loss_kwargs={distance: cosine, margin: 0.5}",
            ],
        ),
        ("mnrl (pairs with score >= 4.0)", "stsb.yaml", ["loss=mnrl", "binarize_threshold=4.0"]),
    ],
    "stsb_regularisers": [
        ("baseline (CoSENT)", "stsb.yaml", []),
        ("augment: word deletion p=0.1", "stsb.yaml", ["augment=delete", "augment_prob=0.1"]),
        ("augment: word swap 0.1", "stsb.yaml", ["augment=swap", "augment_prob=0.1"]),
        ("FGM epsilon=1.0", "stsb.yaml", ["fgm_epsilon=1.0"]),
    ],
}
#: groups judged on dev only (the choice they inform must not look at test)
DEV_ONLY = {"stsb_regularisers"}


def run_group(group: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Train and evaluate the runs of ``group`` (those of ``--runs``), each in ``work/GROUP/RUN``."""
    from textsiam.training import TrainConfig, train

    runs = []
    wanted = set(args.runs.split(",")) if args.runs else None
    unknown = wanted - {name for name, _, _ in GROUPS[group]} if wanted else set()
    if unknown:
        raise SystemExit(
            f"--runs: no run {sorted(unknown)} in group {group}; it has {[n for n, _, _ in GROUPS[group]]}"
        )
    for name, config_file, extra in GROUPS[group]:
        if wanted and name not in wanted:
            continue
        safe = "".join(c if c.isalnum() else "_" for c in name).strip("_")
        overrides = [f"output_dir={work / group / safe}", f"n_resamples={args.n_resamples}", *extra]
        if group in DEV_ONLY:
            overrides.append("test_datasets=[]")
        overrides += training_overrides(args)
        if args.smoke:
            overrides += SMOKE_OVERRIDES
        overrides += args.set
        config = TrainConfig.from_file(CONFIGS / config_file).with_overrides(overrides)
        logger.info("=== %s / %s", group, name)
        result = train(config, overwrite=True, command=f"textsiam train --config benchmarks/configs/{config_file}")
        evaluation = result.evaluation.to_dict()["results"] if result.evaluation is not None else []
        runs.append(
            {
                "name": name,
                "config_file": config_file,
                "overrides": extra + args.set,
                "config": config.to_dict(),
                "examples": result.examples,
                "train_wall_time_s": result.train_wall_time_s,
                "global_step": result.global_step,
                "train_loss": result.train_loss,
                "dev_metric": result.metric_name,
                "dev_history": result.dev_history,
                "best_dev": result.best_metric,
                "averaging": result.averaging,
                "evaluation": evaluation,
            }
        )
    return {"group": group, "runs": runs}


def render(payload: dict[str, Any], args: argparse.Namespace) -> str:
    """The markdown report: a table per evaluated dataset and split, then the dev history of every run."""
    runs = payload["runs"]
    first = runs[0]["config"]
    lines = [
        f"Group `{payload['group']}`: {len(runs)} run(s); {first['epochs']:g} epoch(s), batch {first['batch_size']}, "
        f"lr {first['learning_rate']:g}, seed {first['seed']}"
        + (f", {args.max_train_pairs} training pairs (seeded subsample)" if args.max_train_pairs else "")
        + ". Best checkpoint by the dev metric; classification thresholds from dev; 95% bootstrap CIs; ×100 except "
        + "`*_mse` (the similarity read on the gold scale, in the gold's units: `textsiam.evaluation.scaled_mse`)."
        + (" **Smoke run: numbers are not meaningful.**" if args.smoke else ""),
        "",
    ]
    datasets = []
    for run in runs:
        for rec in run["evaluation"]:
            key = (rec["dataset"], rec["split"])
            if key not in datasets:
                datasets.append(key)
    for dataset, split in datasets:
        recs = [
            next((r for r in run["evaluation"] if (r["dataset"], r["split"]) == (dataset, split)), None) for run in runs
        ]
        metrics: list[str] = []
        for rec in recs:
            if rec is None:
                continue
            sim = rec["primary_similarity"]
            for suffix in ("pearson", "spearman", "mse", "accuracy", "f1", "ap", "mrr@10"):
                if f"{sim}_{suffix}" in rec["metrics"] and f"{sim}_{suffix}" not in metrics:
                    metrics.append(f"{sim}_{suffix}")
        rows = [
            [
                run["name"],
                *(metric_cell(rec, m) for m in metrics),
                f"{run['train_wall_time_s']:.0f}",
                run["global_step"],
            ]
            for run, rec in zip(runs, recs, strict=True)
        ]
        header = ["run", *metrics, "train time (s)", "steps"]
        lines += [f"**{dataset} {split}**", "", *markdown_table(header, rows, "l" + "r" * (len(metrics) + 2)), ""]
    lines += ["Dev metric per evaluation:", ""]
    for run in runs:
        hist = ", ".join(
            f"epoch {h['epoch']:.2f}: {h.get(run['dev_metric'], float('nan')):.2f}" for h in run["dev_history"]
        )
        lines.append(f"- {run['name']} ({run['dev_metric']}): {hist}")
        rep = run.get("averaging")
        if rep:
            members = ", ".join(rep["soup_members"]) or "the best checkpoint"
            lines.append(
                f"  - weight averaging on dev: soup of {members}, WiSE-FT alpha {rep['wise_alpha']:.2f}; "
                f"dev {rep['best_checkpoint_dev']:.2f} -> {rep['final_dev']:.2f} ({rep['wall_time_s']:.0f} s)"
            )
    return "\n".join(lines)


def main() -> None:
    p = benchmark_parser(__doc__, "finetune")
    p.add_argument("group", choices=sorted(GROUPS))
    add_training_arguments(p, smoke_help="64 train pairs, 1 epoch, 200 dev pairs")
    add_set_argument(p)
    p.add_argument("--runs", default=None, help="comma-separated run names of the group to run (default: all)")
    p.add_argument("--results-name", default=None, help="result file name NAME.{json,md} (default: from the group)")
    args = p.parse_args()
    configure(logging.INFO)
    from textsiam.evaluation.results import to_jsonable

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="finetune_recipes_"))
    payload = run_group(args.group, args, work)
    payload.update(
        {"smoke": args.smoke, "epochs_override": args.epochs, "max_train_pairs_override": args.max_train_pairs}
    )
    body = render(payload, args)
    name = f"finetune_{args.group}"
    if args.runs:  # a subset of the group: its own result file
        name += "_" + "_".join("".join(c if c.isalnum() else "_" for c in r) for r in args.runs.split(","))
    name = args.results_name or name
    name += "_smoke" if args.smoke else ""
    write_results(args.results_dir, name, to_jsonable(payload), body)
    print(body)


if __name__ == "__main__":
    main()
