"""Multi-task fine-tuning: STS-B alone vs STS-B + SICK-R vs STS-B + SICK-R + MRPC + Quora, and the same four-task
recipe in sentence-transformers, from the same start model, in one resumable run.

Runs (each in ``WORK/NAME/``, its record in ``WORK/NAME.json``; a run whose record and model exist is skipped,
and refused when it was trained with other settings than the command gives, such as another ``--set``):

- ``stsb``, ``sick``, ``mrpc``, ``quora``: textsiam, one dataset each (``configs/stsb.yaml``, ``sick.yaml``,
  ``mrpc.yaml`` at lr 5e-5, the rate MRPC dev chose, ``quora.yaml``): the single-task models the goals compare with;
- ``stsb_sick``: textsiam, ``configs/multitask_stsb_sick.yaml`` (STS-B CoSENT + SICK-R cosine-MSE);
- ``all4``: textsiam, ``configs/multitask_all4.yaml`` (+ MRPC and Quora with the online contrastive loss);
- ``st_all4``: sentence-transformers, the ``all4`` recipe: ``SentenceTransformerTrainer`` with a dict of datasets
  and a dict of losses (CoSENT, CosineSimilarity, OnlineContrastive ×2), the same sampler, learning rate, batch
  size, epochs, warm-up, seed and training pairs (``benchmarks.finetune_multitask_st`` says how, and how its
  checkpoint is chosen: textsiam's mean-of-dev-metrics rule, computed by textsiam's code);
- ``stsb_sick_prompts``, ``all4_prompts`` (lr 2e-5), ``all4_prompts_lr5`` and their sentence-transformers twins
  ``st_all4_prompts``, ``st_all4_prompts_lr5``: the same recipes with a prompt per task
  (``configs/multitask_all4_prompts.yaml``); report them with ``--only ... --results-name multitask_prompts``.

Every run chooses its checkpoint on dev only. The report scores the start model and every finished run on STS-B
test (Spearman), SICK-R test (Pearson), MRPC test (accuracy, F1) and Quora test (accuracy, AP), thresholds chosen
on dev, 95% bootstrap CIs; paired bootstraps of textsiam ``all4`` vs ``st_all4`` on each figure; and the goals of
the issue, computed from the figures.

    python -m benchmarks.finetune_multitask --work-dir /work/runs/multitask                    # everything
    python -m benchmarks.finetune_multitask --work-dir W --side textsiam --only stsb all4       # train some runs
    python -m benchmarks.finetune_multitask --work-dir W --side st                             # sentence-transformers
    python -m benchmarks.finetune_multitask --work-dir W --side report                         # evaluate and write
    python -m benchmarks.finetune_multitask --work-dir W --smoke                               # a quick trial

Writes benchmarks/results/finetune/multitask.{json,md} (``--results-name``; ``--smoke`` adds ``_smoke``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CONFIGS,
    SMOKE_OVERRIDES,
    add_set_argument,
    benchmark_parser,
    command,
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

logger = logging.getLogger("benchmarks.finetune_multitask")


@dataclass(frozen=True)
class Run:
    """One training run of the benchmark: ``side`` trains ``config`` (a file of ``benchmarks/configs``)."""

    name: str
    side: str  # "textsiam" or "st"
    config: str
    description: str
    overrides: tuple[str, ...] = ()


#: the prompt of each task in the prompted runs (multitask_all4_prompts.yaml): plain names of the tasks, not tuned
PROMPTS = {"stsb": "similarity: ", "sick": "relatedness: ", "mrpc": "paraphrase: ", "quora": "duplicate question: "}

#: (the prompted runs name their epochs: the config's are the recipe dev chose, 2)
#: variants of all4_prompts_lr5 run on both sides (``all4_prompts<suffix>``, ``st_all4_prompts<suffix>``): two
#: epochs (SICK-R sees 563 steps instead of 282; sick.yaml alone trains 1,125), and other seeds of the chosen recipe
#: to separate run-to-run variance from a systematic difference between the two sides
PROMPT_VARIANTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("_2ep", "all four, a prompt per task, lr 5e-5, 2 epochs", ("learning_rate=5e-5", "epochs=2")),
    *(
        (
            f"_lr5_seed{seed}",
            f"all four, a prompt per task, lr 5e-5, seed {seed}",
            ("learning_rate=5e-5", "epochs=1", f"seed={seed}"),
        )
        for seed in (1, 2)
    ),
    *(
        (
            f"_2ep_seed{seed}",
            f"all four, a prompt per task, lr 5e-5, 2 epochs, seed {seed}",
            ("learning_rate=5e-5", "epochs=2", f"seed={seed}"),
        )
        for seed in (1, 2)
    ),
)

RUNS: tuple[Run, ...] = (
    Run("stsb", "textsiam", "stsb.yaml", "STS-B alone, CoSENT (stsb.yaml)"),
    Run("sick", "textsiam", "sick.yaml", "SICK-R alone, cosine-MSE (sick.yaml)"),
    Run(
        "mrpc", "textsiam", "mrpc.yaml", "MRPC alone, online contrastive (mrpc.yaml, lr 5e-5)", ("learning_rate=5e-5",)
    ),
    Run("quora", "textsiam", "quora.yaml", "Quora alone, online contrastive (quora.yaml)"),
    Run("stsb_sick", "textsiam", "multitask_stsb_sick.yaml", "STS-B + SICK-R (multitask_stsb_sick.yaml)"),
    Run("all4", "textsiam", "multitask_all4.yaml", "STS-B + SICK-R + MRPC + Quora (multitask_all4.yaml)"),
    Run("st_all4", "st", "multitask_all4.yaml", "sentence-transformers, the all4 recipe"),
    Run(
        "stsb_sick_prompts",
        "textsiam",
        "multitask_stsb_sick.yaml",
        "STS-B + SICK-R with a prompt per task",
        (f"prompts={{stsb: {PROMPTS['stsb']!r}, sick: {PROMPTS['sick']!r}}}",),
    ),
    Run(
        "all4_prompts",
        "textsiam",
        "multitask_all4_prompts.yaml",
        "all four, a prompt per task (lr 2e-5)",
        ("learning_rate=2e-5", "epochs=1"),
    ),
    Run(
        "all4_prompts_lr5",
        "textsiam",
        "multitask_all4_prompts.yaml",
        "all four, a prompt per task, lr 5e-5",
        ("learning_rate=5e-5", "epochs=1"),
    ),
    Run(
        "st_all4_prompts",
        "st",
        "multitask_all4_prompts.yaml",
        "sentence-transformers, all4_prompts (lr 2e-5)",
        ("learning_rate=2e-5", "epochs=1"),
    ),
    Run(
        "st_all4_prompts_lr5",
        "st",
        "multitask_all4_prompts.yaml",
        "sentence-transformers, all4_prompts_lr5",
        ("learning_rate=5e-5", "epochs=1"),
    ),
    *(
        Run(f"{side_prefix}all4_prompts{suffix}", side, "multitask_all4_prompts.yaml", f"{who}{text}", overrides)
        for suffix, text, overrides in PROMPT_VARIANTS
        for side_prefix, side, who in (("", "textsiam", ""), ("st_", "st", "sentence-transformers, "))
    ),
)
RUN_NAMES = tuple(run.name for run in RUNS)
#: test and threshold pairs of a ``--smoke`` run (:data:`SMOKE_OVERRIDES` caps dev at this size too)
SMOKE_EVAL_PAIRS = 200
#: seed of the test subsamples and of the bootstraps
SEED = 42


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "finetune", model=True)
    p.add_argument("--work-dir", type=Path, required=True, help="where the runs write (a later call resumes there)")
    p.add_argument(
        "--side",
        choices=["textsiam", "st", "report", "all"],
        default="all",
        help="textsiam / st: train that side's runs only (the two can run at once, one thread each); "
        "report: evaluate the finished runs and write the result files; all: the three in turn",
    )
    p.add_argument("--only", nargs="+", choices=RUN_NAMES, default=None, metavar="RUN", help=f"runs: {RUN_NAMES}")
    p.add_argument("--epochs", type=float, default=None, help="override every run's epochs")
    p.add_argument("--max-train-pairs", type=int, default=None, help="seeded subsample of each task's training pairs")
    p.add_argument("--max-dev-pairs", type=int, default=None, help="seeded subsample of each task's dev pairs")
    p.add_argument("--max-steps", type=int, default=None, help="stop every run after this many optimiser steps")
    p.add_argument(
        "--max-test-pairs", type=int, default=None, help="report: seeded subsample of each test set and threshold dev"
    )
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples of the CIs and paired tests")
    p.add_argument("--force", action="store_true", help="retrain runs that are already complete")
    p.add_argument(
        "--smoke", action="store_true", help="64 train pairs per task, 1 epoch, 200 dev pairs, 200 test pairs"
    )
    p.add_argument("--results-name", default="multitask", help="result file name NAME.{json,md}")
    p.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="report: an earlier result JSON of this benchmark; single-task models not run in --work-dir take "
        "their test figures from it (the goals then compare CIs where they would pair scores)",
    )
    add_set_argument(p)
    args = p.parse_args(argv)
    args.data_dir = resolve_data_dir(args.data_dir)
    if args.smoke and args.max_test_pairs is None:
        args.max_test_pairs = SMOKE_EVAL_PAIRS
    return args


def shared_overrides(args: argparse.Namespace) -> list[str]:
    """The config overrides every run gets from the command line (explicit options over ``--smoke``)."""
    keys = ("model", "data_dir", "epochs", "max_train_pairs", "max_dev_pairs", "max_steps")
    return (list(SMOKE_OVERRIDES) if args.smoke else []) + option_overrides(args, keys)


def run_overrides(run: Run, args: argparse.Namespace) -> list[str]:
    """All overrides of ``run``: its folder, no test sets (the report tests), the command line, ``--set`` last."""
    base = [f"output_dir={args.work_dir / run.name}", "test_datasets=[]", f"n_resamples={args.n_resamples}"]
    return base + shared_overrides(args) + list(run.overrides) + list(args.set)


# ---------------------------------------------------------------------------------------------- run records
def write_record(work: Path, run: Run, overrides: list[str], record: dict[str, Any]) -> None:
    """:func:`~benchmarks.common.write_run_record` of ``run``: its name, side, description and config file first."""
    fields = {"name": run.name, "side": run.side, "description": run.description}
    write_run_record(work, {**fields, "config_file": f"benchmarks/configs/{run.config}"}, overrides, record)


def has_multitask() -> bool:
    """Whether textsiam's TrainConfig has ``train_datasets`` (multi-task training)."""
    from textsiam.training import TrainConfig

    return "train_datasets" in {f.name for f in dataclasses.fields(TrainConfig)}


# ---------------------------------------------------------------------------------------------- training
def run_config(run: Run, args: argparse.Namespace) -> Any:
    """The ``TrainConfig`` ``run`` trains with: the config file and :func:`run_overrides`, read as its side reads
    them."""
    if run.side == "textsiam":
        from textsiam.training import TrainConfig

        return TrainConfig.from_file(CONFIGS / run.config).with_overrides(run_overrides(run, args))
    from benchmarks.finetune_multitask_st import read_recipe

    return read_recipe(CONFIGS / run.config, run_overrides(run, args))[0]


def train_textsiam(run: Run, args: argparse.Namespace) -> None:
    """Train a textsiam run with ``textsiam.training.train`` and write its record."""
    from textsiam.training import TrainConfig, train

    overrides = run_overrides(run, args)
    config = TrainConfig.from_file(CONFIGS / run.config).with_overrides(overrides)
    logger.info("=== %s (textsiam): %s", run.name, run.description)
    result = train(config, overwrite=True, command=command(), show_progress=False)
    record = {
        "config": config.to_dict(),
        "model_dir": str(result.model_dir),
        "train_wall_time_s": result.train_wall_time_s,
        "global_step": result.global_step,
        "train_loss": result.train_loss,
        "examples": result.examples,
        "dev_metric": result.metric_name,
        "dev_history": result.dev_history,
        "best_checkpoint": result.best_checkpoint,
        "best_dev": result.best_metric,
    }
    write_record(args.work_dir, run, overrides, record)


def train_peer(run: Run, args: argparse.Namespace) -> None:
    """Train the sentence-transformers twin of ``run.config`` and write its record."""
    from benchmarks.finetune_multitask_st import read_recipe, train_st

    overrides = run_overrides(run, args)
    config, tasks, sampler = read_recipe(CONFIGS / run.config, overrides)
    logger.info("=== %s (sentence-transformers): %s", run.name, run.description)
    record = train_st(config, tasks, sampler, config.model, args.work_dir / run.name)
    write_record(args.work_dir, run, overrides, {"config": config.to_dict(), "train_datasets": tasks, **record})


def train_runs(args: argparse.Namespace, side: str) -> None:
    """Train the runs of ``side`` that ``--only`` selects and that are not complete (all with ``--force``)."""
    runs = [r for r in RUNS if r.side == side and (args.only is None or r.name in args.only)]
    multi = [r.name for r in runs if r.config.startswith("multitask")]
    if side == "textsiam" and multi and not has_multitask():
        raise SystemExit(
            f"textsiam has no multi-task training yet (TrainConfig.train_datasets) for {multi}: "
            "train the other runs with --only, the sentence-transformers side with --side st"
        )
    args.work_dir.mkdir(parents=True, exist_ok=True)
    for run in runs:
        if not args.force and complete_record(args.work_dir, run.name, run_config(run, args).to_dict()) is not None:
            logger.info("%s is complete (%s): skipped", run.name, record_path(args.work_dir, run.name))
            continue
        (train_textsiam if side == "textsiam" else train_peer)(run, args)


# ---------------------------------------------------------------------------------------------- report
def load_model(label: str, record: dict[str, Any] | None, start_model: str | None) -> Any:
    """The model of a run (or the start model for ``label == "start"``)."""
    from textsiam import SiameseModel

    if label == "start":
        return SiameseModel.from_pretrained(start_model)
    assert record is not None
    if record["side"] == "st":
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(record["model_dir"], device="cpu")
    return SiameseModel.from_pretrained(record["model_dir"])


def dataset_prompts(record: dict[str, Any] | None) -> dict[str, str]:
    """``{dataset: prefix}`` a run's test sets are encoded with: the prompt of the task trained on that dataset."""
    from textsiam.training.prompts import prompt_for_test_set

    if record is None or not record["config"].get("prompts"):
        return {}
    config = record["config"]
    entries = record.get("train_datasets") or config.get("train_datasets") or {}
    trained_on = {task: str((entry or {}).get("dataset", task)) for task, entry in entries.items()}
    return {name: prompt_for_test_set(config["prompts"], name, trained_on) for name in trained_on.values()}


def reference_figures(path: Path, test: dict[str, Any]) -> dict[str, Any] | None:
    """Add to ``test`` the figures of the single-task models that ``path`` (an earlier result JSON of this
    benchmark) holds and this report did not score; return what was taken (file, date, CPU, models), or None."""
    import json

    from benchmarks.finetune_multitask_report import SINGLE_TASK

    if not path.is_file():
        raise SystemExit(f"--reference {path}: no such result file")
    earlier = json.loads(path.read_text(encoding="utf-8"))
    models = [m for m in dict.fromkeys(SINGLE_TASK.values()) if m not in test and m in earlier.get("test", {})]
    if not models:
        return None
    for model in models:
        test[model] = earlier["test"][model]
    logger.info("figures of %s from %s", ", ".join(models), path)
    return {
        "file": str(path),
        "date": earlier.get("date"),
        "cpu": earlier.get("machine", {}).get("cpu"),
        "models": models,
    }


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate the start model and every finished run; write the result files; return the payload."""
    from benchmarks.finetune_multitask_report import (
        ALPHA,
        METRICS,
        SINGLE_TASK,
        comparisons,
        eval_pairs,
        figures,
        goals,
        render,
        score_model,
    )
    from benchmarks.finetune_multitask_seeds import seed_comparisons, seed_goals
    from benchmarks.finetune_multitask_st import SELECTION
    from textsiam.evaluation.results import to_jsonable

    names = [name for name in RUN_NAMES if args.only is None or name in args.only]  # --only: the report's models
    runs = {name: load_record(args.work_dir, name) for name in names}
    start_model = args.model
    if start_model is None and shared_setting(runs.values(), "model") != "mixed":
        start_model = shared_setting(runs.values(), "model")  # the runs' start model, when they share one
    pairs = eval_pairs(args.data_dir, args.max_test_pairs, SEED)
    scored = {}
    for label in ("start", *names):
        if label != "start" and runs[label] is None:
            logger.warning("%s has not been run (no complete %s): left out", label, record_path(args.work_dir, label))
            continue
        logger.info("=== test: %s", label)
        model = load_model(label, runs.get(label), start_model)
        prompts = dataset_prompts(runs.get(label))
        scored[label] = score_model(
            model, label, pairs, args.data_dir, n_resamples=args.n_resamples, seed=SEED, batch_size=64, prompts=prompts
        )
        del model
    test = {label: figures(s) for label, s in scored.items()}
    comps = comparisons(scored, args.n_resamples, SEED)
    seed_comps = seed_comparisons(scored, METRICS, args.n_resamples, SEED)
    reference = reference_figures(args.reference, test) if args.reference else None
    payload = {
        "settings": {
            "model": start_model,
            "smoke": args.smoke,
            "n_resamples": args.n_resamples,
            "seed": SEED,
            "max_test_pairs": args.max_test_pairs,
            **{
                key: shared_setting(runs.values(), key)
                for key in ("max_train_pairs", "max_dev_pairs", "epochs", "max_steps")
            },
        },
        "models": ["start", *(reference["models"] if reference else ()), *names],
        "runs": runs,
        "not_run": [name for name, run in runs.items() if run is None],
        "test": test,
        "reference": reference,
        "comparisons": comps,
        "seed_comparisons": seed_comps,
        "goals": goals(test, comps, names) + seed_goals(test, seed_comps, METRICS, SINGLE_TASK, ALPHA),
        "selection_note": SELECTION,
    }
    payload = to_jsonable(payload)
    body = render(payload)
    name = args.results_name + ("_smoke" if args.smoke else "")
    write_results(args.results_dir, name, payload, body)
    return {**payload, "markdown": body}


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    return run_sides(parse_args(argv), train_runs, report, logger)


if __name__ == "__main__":
    main()
