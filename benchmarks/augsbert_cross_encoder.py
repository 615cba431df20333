"""Cross-encoders side by side: textsiam's ``CrossEncoder`` fine-tuned with ``textsiam.fit`` against
sentence-transformers' ``CrossEncoder`` fine-tuned with ``CrossEncoderTrainer``, the same recipe, on STS-B, Quora and
MRPC, in one resumable run (the teacher step of Augmented SBERT, issue #26).

The recipe, on both sides: the embedded all-MiniLM-L6-v2 with a new head of one output (the same initial weights:
both are made right after ``transformers.set_seed(seed)``), binary cross-entropy on the logit, the same training
pairs (STS-B scores scaled to [0, 1], Quora's question-disjoint split and MRPC with 0/1 labels, as
``textsiam.data.load_pairs`` gives them), batch size 16, 10% linear warm-up, weight decay 0.01, seed 42. Each side
keeps the checkpoint with the best textsiam dev metric (``benchmarks.augsbert_cross_encoder_st`` says how for
sentence-transformers). Learning rate and epochs are chosen on dev only: every setting of the grid (``--lr``,
``--epochs``) trains both sides, and the report tests both at the setting with the highest mean of their best dev
metrics.

Runs (each in ``WORK/NAME/``, its record in ``WORK/NAME.json``; a run whose record and model exist is skipped,
and refused when it was trained with other settings than the command gives, such as another ``--set``):
``DATASET_SIDE_lrLR_epE``, e.g. ``stsb_textsiam_lr2e-05_ep1`` and ``stsb_st_lr2e-05_ep1``.

The report scores both chosen models on the test split: STS-B Spearman, Quora accuracy / F1 / AP, MRPC accuracy /
F1 (95% bootstrap CIs, thresholds chosen on dev), paired bootstraps textsiam − sentence-transformers on the same test
pairs, the goal of the issue, each run's wall and CPU time; and, for context, the twin-tower fine-tuned baselines'
test figures read from their result files (``--only twin_towers``; all by default).

    python -m benchmarks.augsbert_cross_encoder --work-dir W --side textsiam --only stsb   # train one side
    python -m benchmarks.augsbert_cross_encoder --work-dir W --side st --only stsb         # the other (may run at once)
    python -m benchmarks.augsbert_cross_encoder --work-dir W --side report                 # evaluate and write
    python -m benchmarks.augsbert_cross_encoder --work-dir W --lr 2e-5 5e-5 --epochs 1 2   # a grid of settings
    python -m benchmarks.augsbert_cross_encoder --work-dir W --smoke                       # a quick trial

Writes benchmarks/results/augsbert/cross_encoder.{json,md} (``--results-name``; ``--smoke`` adds ``_smoke``).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    SMOKE_OVERRIDES,
    add_set_argument,
    benchmark_parser,
    complete_record,
    load_record,
    option_overrides,
    record_path,
    resolve_data_dir,
    run_sides,
    shared_setting,
    write_results,
    write_run_record,
)

logger = logging.getLogger("benchmarks.augsbert_cross_encoder")

DATASETS = ("stsb", "quora", "mrpc")
#: ``--only`` also takes this: the twin-tower baselines' test figures, for context
TWIN_TOWERS = "twin_towers"
SIDES = ("textsiam", "st")
#: the default grid, for every dataset: learning rates x epochs (one epoch keeps a dataset's four runs, two per side,
#: near 10-30 minutes of one thread each on a 2-core CPU; ``--epochs 1 2`` adds two runs of two epochs per side)
DEFAULT_LRS = (2e-5, 5e-5)
DEFAULT_EPOCHS = (1.0,)
#: the shared recipe (``--set`` overrides any TrainConfig field; ``--lr`` / ``--epochs`` the grid)
RECIPE: dict[str, Any] = {
    "model_type": "cross_encoder",
    "loss": "binary_cross_entropy",
    "batch_size": 16,
    "warmup_ratio": 0.1,
    "lr_scheduler": "linear",
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "seed": 42,
    "logging_steps": 50,
    "save_total_limit": 1,
    "test_datasets": [],
    "n_resamples": 0,
}
#: TrainConfig fields ``textsiam.fit`` takes as settings (the rest: its own arguments, or set on the model)
FIT_FIELDS = (
    "epochs",
    "max_steps",
    "batch_size",
    "learning_rate",
    "warmup_ratio",
    "lr_scheduler",
    "weight_decay",
    "max_grad_norm",
    "gradient_accumulation_steps",
    "seed",
    "max_train_pairs",
    "max_dev_pairs",
    "data_dir",
    "eval_steps",
    "eval_batch_size",
    "logging_steps",
    "save_total_limit",
    "test_datasets",
    "n_resamples",
)
#: test and threshold pairs of a ``--smoke`` run (:data:`SMOKE_OVERRIDES` caps dev at this size too)
SMOKE_EVAL_PAIRS = 200
#: seed of the test subsamples and of the bootstraps
SEED = 42


@dataclass(frozen=True)
class Run:
    """One training run: ``side`` trains a cross-encoder on ``dataset`` at learning rate ``lr`` for ``epochs``."""

    dataset: str
    side: str  # "textsiam" or "st"
    lr: float
    epochs: float

    @property
    def name(self) -> str:
        return f"{self.dataset}_{self.side}_lr{self.lr:g}_ep{self.epochs:g}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "augsbert", model=True)
    p.add_argument("--work-dir", type=Path, required=True, help="where the runs write (a later call resumes there)")
    p.add_argument(
        "--side",
        choices=["textsiam", "st", "report", "all"],
        default="all",
        help="textsiam / st: train that side's runs only (the two can run at once, one thread each); "
        "report: evaluate the chosen runs and write the result files; all: the three in turn",
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=[*DATASETS, TWIN_TOWERS],
        default=None,
        metavar="NAME",
        help=f"datasets {DATASETS} and/or {TWIN_TOWERS} (the report's twin-tower context); default: all",
    )
    p.add_argument("--lr", type=float, nargs="+", default=None, help=f"learning-rate grid (default {DEFAULT_LRS})")
    p.add_argument("--epochs", type=float, nargs="+", default=None, help=f"epochs grid (default {DEFAULT_EPOCHS})")
    p.add_argument("--max-train-pairs", type=int, default=None, help="seeded subsample of the training pairs")
    p.add_argument("--max-dev-pairs", type=int, default=None, help="seeded subsample of the dev pairs")
    p.add_argument("--max-steps", type=int, default=None, help="stop every run after this many optimiser steps")
    p.add_argument(
        "--max-test-pairs", type=int, default=None, help="report: seeded subsample of each test set and threshold dev"
    )
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples of the CIs and paired tests")
    p.add_argument("--force", action="store_true", help="retrain runs that are already complete")
    p.add_argument(
        "--smoke", action="store_true", help="64 train pairs, 1 epoch, 200 dev pairs, 200 test pairs per dataset"
    )
    p.add_argument("--results-name", default="cross_encoder", help="result file name NAME.{json,md}")
    add_set_argument(p)
    args = p.parse_args(argv)
    args.data_dir = resolve_data_dir(args.data_dir)
    if args.smoke and args.max_test_pairs is None:
        args.max_test_pairs = SMOKE_EVAL_PAIRS
    return args


def datasets_of(args: argparse.Namespace) -> list[str]:
    return [d for d in DATASETS if args.only is None or d in args.only]


def grid(args: argparse.Namespace) -> list[tuple[float, float]]:
    """``(lr, epochs)`` settings, fewer epochs first, then by learning rate (``--smoke``: one epoch unless given)."""
    epochs = args.epochs or ((1.0,) if args.smoke else DEFAULT_EPOCHS)
    return [(lr, e) for e in sorted(set(epochs)) for lr in sorted(set(args.lr or DEFAULT_LRS))]


def runs_of(args: argparse.Namespace, sides: Sequence[str] = SIDES) -> list[Run]:
    return [Run(d, side, lr, e) for d in datasets_of(args) for lr, e in grid(args) for side in sides]


def run_overrides(run: Run, args: argparse.Namespace) -> list[str]:
    """All overrides of ``run``: its data and setting, ``--smoke``, the command line, ``--set`` last."""
    out = [f"train_dataset={run.dataset}", f"dev_dataset={run.dataset}", f"output_dir={args.work_dir / run.name}"]
    out += [f"learning_rate={run.lr}", f"epochs={run.epochs}"]
    out += [o for o in SMOKE_OVERRIDES if not o.startswith("epochs=")] if args.smoke else []
    out += option_overrides(args, ("model", "data_dir", "max_train_pairs", "max_dev_pairs", "max_steps"))
    return out + list(args.set)


def recipe(run: Run, args: argparse.Namespace) -> tuple[Any, list[str]]:
    """``(TrainConfig, overrides)`` of ``run``: :data:`RECIPE` with :func:`run_overrides`, validated."""
    from textsiam.training import TrainConfig

    overrides = run_overrides(run, args)
    config = TrainConfig.from_dict(RECIPE).with_overrides(overrides)
    config.validate()
    return config, overrides


# ---------------------------------------------------------------------------------------------- training
def train_textsiam(config: Any, run: Run) -> dict[str, Any]:
    """``textsiam.fit(CrossEncoder(), DATASET, loss="binary_cross_entropy", dev=DATASET, ...)``; its record."""
    from transformers import set_seed

    import textsiam

    set_seed(config.seed)  # the new head: the same weights as sentence-transformers' after the same seed
    model = textsiam.CrossEncoder(config.model, device="cpu") if config.model else textsiam.CrossEncoder(device="cpu")
    if config.max_seq_length:
        model.max_length = config.max_seq_length
    result = textsiam.fit(
        model,
        run.dataset,
        loss=config.loss,
        dev=run.dataset,
        output_dir=config.output_dir,
        overwrite=True,
        show_progress=False,
        **{key: getattr(config, key) for key in FIT_FIELDS},
    )
    dev = result.evaluation.results[0] if result.evaluation is not None and result.evaluation.results else {}
    return {
        "model_dir": str(result.model_dir),
        "train_wall_time_s": result.train_wall_time_s,
        "global_step": result.global_step,
        "train_loss": result.train_loss,
        "examples": result.examples,
        "n_dev_pairs": dev.get("n_pairs"),
        "dev_metric": result.metric_name,
        "dev_history": result.dev_history,
        "best_checkpoint": result.best_checkpoint,
        "best_dev": result.best_metric,
    }


def train_one(run: Run, args: argparse.Namespace) -> None:
    """Train ``run`` on its side and write its record, with the whole run's wall and CPU time."""
    from benchmarks.augsbert_cross_encoder_st import train_st

    config, overrides = recipe(run, args)
    logger.info("=== %s: %s, lr %g, %g epoch(s)", run.name, run.side, run.lr, run.epochs)
    wall, cpu = time.perf_counter(), time.process_time()
    if run.side == "textsiam":
        record = train_textsiam(config, run)
    else:
        record = train_st(config, run.dataset, args.work_dir / run.name)
    times = {"run_wall_s": round(time.perf_counter() - wall, 3), "run_cpu_s": round(time.process_time() - cpu, 3)}
    logger.info("%s: %s", run.name, times)
    fields = {"name": run.name, "side": run.side, "dataset": run.dataset, "lr": run.lr, "epochs": run.epochs}
    write_run_record(args.work_dir, fields, overrides, {"config": config.to_dict(), **record, **times})


def train_runs(args: argparse.Namespace, side: str) -> None:
    """Train the runs of ``side`` that are not complete (all of them with ``--force``)."""
    args.work_dir.mkdir(parents=True, exist_ok=True)
    for run in runs_of(args, (side,)):
        if not args.force and complete_record(args.work_dir, run.name, recipe(run, args)[0].to_dict()) is not None:
            logger.info("%s is complete (%s): skipped", run.name, record_path(args.work_dir, run.name))
            continue
        train_one(run, args)


# ---------------------------------------------------------------------------------------------- report
def load_model(record: dict[str, Any]) -> Any:
    """The trained cross-encoder of a run, loaded by its own library."""
    if record["side"] == "st":
        from sentence_transformers.cross_encoder import CrossEncoder

        return CrossEncoder(record["model_dir"], device="cpu")
    from textsiam import CrossEncoder as TextsiamCrossEncoder

    return TextsiamCrossEncoder(record["model_dir"], device="cpu")


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Choose each dataset's setting on dev, test both sides there, compare; write the result files."""
    from benchmarks.augsbert_cross_encoder_report import (
        choose,
        comparisons,
        eval_pairs,
        figures,
        goals,
        render,
        score_model,
        twin_tower_context,
    )
    from benchmarks.augsbert_cross_encoder_st import SELECTION
    from textsiam.evaluation.results import to_jsonable

    names = datasets_of(args)
    runs = {run.name: load_record(args.work_dir, run.name) for run in runs_of(args)}
    selection, test, comps = {}, {}, {}
    pairs = eval_pairs(args.data_dir, names, args.max_test_pairs, SEED)
    for name in names:
        settings = [
            {"lr": lr, "epochs": e, **{side: runs[Run(name, side, lr, e).name] for side in SIDES}}
            for lr, e in grid(args)
        ]
        selection[name] = choose(settings)
        logger.info("%s: %s", name, selection[name]["why"])
        if selection[name]["chosen"] is None:
            continue
        chosen = settings[selection[name]["chosen"]]
        scored = {}
        for side in SIDES:
            logger.info("=== test: %s %s", name, side)
            record = chosen[side]
            scored[side] = score_model(
                load_model(record), record["name"], name, pairs[name], args.data_dir, args.n_resamples, SEED
            )
            test.setdefault(name, {})[side] = {"run": record["name"], **figures(name, scored[side])}
        comps[name] = comparisons(name, scored["textsiam"], scored["st"], args.n_resamples, SEED)
    trained = [r for r in runs.values() if r is not None]
    payload = {
        "settings": {
            "model": args.model,
            "smoke": args.smoke,
            "n_resamples": args.n_resamples,
            "seed": SEED,
            "max_test_pairs": args.max_test_pairs,
            "grid": [{"lr": lr, "epochs": e} for lr, e in grid(args)],
            "max_train_pairs": shared_setting(trained, "max_train_pairs"),
        },
        "datasets": names,
        "selection": selection,
        "test": test,
        "comparisons": comps,
        "goals": goals(comps, names),
        "twin_towers": twin_tower_context() if args.only is None or TWIN_TOWERS in args.only else {},
        "runs": runs,
        "not_run": [name for name, run in runs.items() if run is None],
        "selection_note": SELECTION,
    }
    payload = to_jsonable(payload)
    body = render(payload)
    write_results(args.results_dir, args.results_name + ("_smoke" if args.smoke else ""), payload, body)
    return {**payload, "markdown": body}


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    return run_sides(parse_args(argv), train_runs, report, logger)


if __name__ == "__main__":
    main()
