"""The Augmented-SBERT student (issue #26): a twin tower trained on gold + silver pairs labelled by a teacher trained
first, against textsiam's plain recipe and sentence-transformers' plain recipe, on STS-B, Quora (the question-disjoint
split) and MRPC, in one resumable run.

Runs, per dataset ``D`` (each in ``WORK/NAME/``, its record in ``WORK/NAME.json``; a complete run is skipped, or
refused when it was trained with other settings than the command gives; a run killed part-way, on either side,
continues from its latest checkpoint, see :mod:`benchmarks.resumable`):

- ``D_plain``: textsiam, the plain recipe ``configs/D.yaml`` (MRPC at lr 5e-5, the rate its dev chose, as in
  ``benchmarks.finetune_multitask``);
- ``D_st_plain``: sentence-transformers, the same recipe (``benchmarks.finetune_multitask_st.train_st`` with the one
  task: the same training pairs, loss, schedule, seed, and textsiam's dev rule for the checkpoint);
- ``D_silver_V`` for each variant ``V`` of :data:`VARIANTS`: the plain recipe + ``silver_teacher`` (one run trains
  the teachers into ``teachers/N/``, samples the silver pairs by bm25 + nn (:data:`SILVER_SAMPLING`), 3 per text,
  labels them and trains the student): ``ce`` a cross-encoder teacher (the learning rate and epochs
  ``benchmarks.augsbert_cross_encoder`` chose on dev, read from its result file, else 2e-5 and 1 epoch; the record
  says which), ``twin`` a twin-tower teacher trained with the plain recipe, ``ce_twin`` the ensemble of the two;
  more with ``--variants``, e.g. ``twin_seeds``, an ensemble of three twin-tower teachers of the plain recipe with
  seeds 42, 43 and 44 (not with ``--smoke`` or ``--max-train-pairs``: a teacher's seed also draws that subsample);
- ``D_plain_seedN``, named in ``--only``: the plain recipe with seed N, the ``twin+K`` teacher of seed ``N - K``
  trained as a run of its own, so that it can train beside the other runs (else the silver run trains it inside);
- with ``--seeds N ...``: ``D_silver_V_seedN`` (the variant dev chose) and ``D_st_plain_seedN``, the comparison again
  with other seeds (the teachers retrain with the seed): the report pools them by a two-level paired bootstrap.

``--given-teachers MODEL_DIR ...`` adds the variant ``given``: teachers trained elsewhere, such as the multi-task
model of ``benchmarks.finetune_multitask`` (trained on the training splits of STS-B, SICK-R, MRPC and Quora with a
prompt per task), an ensemble when several; a twin tower labels with its saved prompt of the dataset's task
(``silver_prompt_name``), and the record of the run that trained it (``WORK/NAME.json``) gives the time that took,
which counts in full in each dataset's recipe time.

A teacher another run of the work folder has already trained with the same recipe is not trained again: ``twin``
is the plain run's model (the twin teacher's recipe is the plain recipe, seed included) and ``ce_twin``'s
cross-encoder is the one ``ce`` trained. The run names that model folder as a given teacher, and its record adds the
time training it took (``recipe_wall_s``, ``recipe_cpu_s``); ``--train-teachers`` trains each inside its run.

Choices are made on dev only: each run keeps its best dev checkpoint; the report takes, per dataset, the silver
variant with the best dev metric as the student, and only then scores the test sets. ``--set KEY=VALUE`` overrides
every run's config; ``silver_*`` keys (``silver_max_pairs=10000``, ``silver_strategies=[bm25]``) reach the silver runs
only.

The report scores every model on test (STS-B Spearman; Quora accuracy / F1 / AP; MRPC accuracy / F1; 95% CIs,
thresholds chosen on dev), pairs the student with ST plain and textsiam plain (paired bootstraps), scores every teacher
candidate on dev and test, gives each recipe's wall and CPU time (teachers included) and the goals from the numbers.

    python -m benchmarks.augsbert_student --work-dir W --side textsiam --only stsb    # textsiam's runs of STS-B
    python -m benchmarks.augsbert_student --work-dir W --side st                     # ST's (at once, one thread each)
    python -m benchmarks.augsbert_student --work-dir W --side textsiam --only stsb_plain_seed43  # a teacher alone
    python -m benchmarks.augsbert_student --work-dir W --side textsiam --seeds 1 2   # more seeds of the student
    python -m benchmarks.augsbert_student --work-dir W --side st --seeds 1 2         # and of ST plain
    python -m benchmarks.augsbert_student --work-dir W --side report                 # evaluate and write
    python -m benchmarks.augsbert_student --work-dir W --smoke --model TINY          # a quick trial

Cost on a 2-core CPU, one thread per process: plain runs 25-50 min (MRPC < STS-B ~ Quora), ST's alike; a silver run =
its teachers (cross-encoder 5-15 min an epoch; the twin teacher = a plain run) + labelling (5-10 min) + the student on
gold + silver. The default silver set is ~3.5 pairs per distinct training text (STS-B ~37k, Quora ~53k, MRPC ~25k): a
student on 7-8x the plain pairs, 3-7 hours. ``--set silver_max_pairs=N`` caps it (student ~ plain x (gold + N) / gold;
5000: a ``ce`` run 1-2 hours). Runs write only their own folders: two processes may split the datasets (``--only``).

Writes benchmarks/results/augsbert/student.{json,md} (``--results-name``; ``--smoke`` adds ``_smoke``).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.augsbert_student_recipes import (
    CE_RESULTS,
    DATASETS,
    DEFAULT_VARIANTS,
    PLAIN,
    RECIPE_SEED,
    RUN_NAMES,
    VARIANT_NAMES,
    VARIANTS,
    Run,
    base_runs,
    plain_overrides,
    plain_seed_run,
    recipe,
)
from benchmarks.common import (
    CONFIGS,
    add_set_argument,
    benchmark_parser,
    command,
    complete_record,
    load_record,
    record_path,
    resolve_data_dir,
    run_sides,
    shared_setting,
    write_results,
    write_run_record,
)

logger = logging.getLogger("benchmarks.augsbert_student")

#: test and threshold pairs of a ``--smoke`` run (:data:`SMOKE_OVERRIDES` caps dev at this size too)
SMOKE_EVAL_PAIRS = 200
#: seed of the test subsamples and of the bootstraps
SEED = 42


def _only_name(value: str) -> str:
    """An ``--only`` item: a dataset, a run of :data:`RUN_NAMES`, or ``D_plain_seedN`` of another seed than the
    recipe's."""
    if value in DATASETS or value in RUN_NAMES:
        return value
    run = plain_seed_run(value)
    if run is not None and run.seed != RECIPE_SEED:
        return value
    raise argparse.ArgumentTypeError(
        f"invalid choice: {value!r} (choose from the datasets {DATASETS}, the runs {RUN_NAMES}, "
        f"or D_plain_seedN with N other than the recipe's seed {RECIPE_SEED})"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = benchmark_parser(__doc__, "augsbert", model=True)
    p.add_argument("--work-dir", type=Path, required=True, help="where the runs write (a later call resumes there)")
    p.add_argument(
        "--side",
        choices=["textsiam", "st", "report", "all"],
        default="all",
        help="textsiam / st: train that side's runs only (the two can run at once, one thread each); "
        "report: evaluate the finished runs and write the result files; all: the three in turn",
    )
    p.add_argument(
        "--only",
        nargs="+",
        type=_only_name,
        default=None,
        metavar="NAME",
        help=f"datasets {DATASETS} or runs (their seed runs too): {RUN_NAMES}, or D_plain_seedN (a twin+K teacher)",
    )
    p.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANT_NAMES,
        default=None,
        help=f"silver variants (default {list(DEFAULT_VARIANTS)}, and given with --given-teachers)",
    )
    p.add_argument(
        "--given-teachers",
        nargs="+",
        type=Path,
        default=[],
        metavar="MODEL_DIR",
        help="the teachers of the given variant: model folders trained elsewhere (a multi-task model of "
        "benchmarks.finetune_multitask, say; its record WORK/NAME.json beside WORK/NAME/model gives the time it took)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[], help="extra seeds of the student and of ST plain")
    p.add_argument("--ce-results", type=Path, default=CE_RESULTS, help="the cross-encoder benchmark's result JSON")
    p.add_argument(
        "--train-teachers",
        action="store_true",
        help="train every teacher inside its silver run, even one another run here trained with the same recipe",
    )
    p.add_argument("--max-train-pairs", type=int, default=None, help="seeded subsample of the training pairs")
    p.add_argument("--max-dev-pairs", type=int, default=None, help="seeded subsample of the dev pairs")
    p.add_argument("--max-steps", type=int, default=None, help="stop every run (and teacher) after this many steps")
    p.add_argument("--max-test-pairs", type=int, default=None, help="report: seeded subsample of each test set")
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples of the CIs and paired tests")
    p.add_argument("--force", action="store_true", help="retrain complete runs (their folders are removed first)")
    p.add_argument("--smoke", action="store_true", help="64 train pairs, 1 epoch, 200 dev pairs, 200 test pairs")
    p.add_argument("--results-name", default="student", help="result file name NAME.{json,md}")
    add_set_argument(p)
    args = p.parse_args(argv)
    if args.variants is None:
        args.variants = [*DEFAULT_VARIANTS, *(["given"] if args.given_teachers else [])]
    if "given" in args.variants and not args.given_teachers:
        p.error("--variants given: name its teachers with --given-teachers MODEL_DIR [...]")
    if RECIPE_SEED in args.seeds:
        p.error(f"--seeds: {RECIPE_SEED} is the recipe's own seed (its runs are the base runs)")
    args.data_dir = resolve_data_dir(args.data_dir)
    if args.smoke and args.max_test_pairs is None:
        args.max_test_pairs = SMOKE_EVAL_PAIRS
    return args


def selected(run: Run, args: argparse.Namespace) -> bool:
    """Whether ``--only`` and ``--variants`` select ``run`` (a seed run goes with its base run)."""
    if run.variant is not None and run.variant not in args.variants:
        return False
    return args.only is None or run.dataset in args.only or run.base in args.only


# ---------------------------------------------------------------------------------------------- training
def teacher_facts(out: Path, silver: dict[str, Any], finished_only: bool = False) -> list[dict[str, Any]]:
    """Each trained teacher of a silver run (``out/teachers/N``): kind, model folder, dev metric (its final dev
    evaluation), ``Trainer.train`` wall time, recipe fingerprint and weights digest (from ``silver.json``).
    ``finished_only``: the teachers an earlier attempt finished (a restarted run reuses them)."""
    from textsiam.training.teacher_recipe import TEACHERS_DIR
    from textsiam.training.teacher_run import read_record

    folders = sorted((out / TEACHERS_DIR).iterdir(), key=lambda p: int(p.name)) if (out / TEACHERS_DIR).is_dir() else []
    named = silver.get("teachers", [])
    facts = []
    for folder in folders:
        index, record = int(folder.name), read_record(folder) or {}
        if finished_only and not record.get("finished"):
            continue
        config = yaml.safe_load((folder / "train_config.yaml").read_text(encoding="utf-8"))
        dev = json.loads((folder / "evaluation.json").read_text(encoding="utf-8"))["results"][0]
        log = json.loads((folder / "train_log.json").read_text(encoding="utf-8"))
        runtime = next((e["train_runtime"] for e in reversed(log) if "train_runtime" in e), None)
        digest = named[index].get("weights_digest") if index < len(named) else None
        fact = {
            "index": index,
            "kind": config["model_type"],
            "model_dir": str(folder / "model"),
            "weights_digest": digest,
        }
        fact.update(settings=record.get("recipe", {}).get("train", {}), fingerprint=record.get("fingerprint"))
        facts.append(
            {**fact, "dev_metric": dev["primary_metric"], "dev": dev["primary_value"], "train_wall_time_s": runtime}
        )
    return facts


def train_textsiam(run: Run, args: argparse.Namespace) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Train a textsiam run (teachers and silver pairs first for a silver run); its record, overrides and facts."""
    from benchmarks.resumable import train_resumable

    config, overrides, facts = recipe(run, args)
    before = {t["index"]: t["fingerprint"] for t in teacher_facts(Path(config.output_dir), {}, finished_only=True)}
    outcome = train_resumable(config, args.work_dir, run.name, command())
    result = outcome.result
    kept = ("train_wall_time_s", "global_step", "train_loss", "examples", "dev_history", "best_checkpoint")
    record = {"config": config.to_dict(), "model_dir": str(result.model_dir), **{k: getattr(result, k) for k in kept}}
    record.update(resumed_from_step=outcome.resumed_from, earlier_wall_s=outcome.earlier_wall_s)
    record["earlier_cpu_s"] = outcome.earlier_cpu_s  # spent by killed attempts up to the checkpoint resumed from
    record.update(dev_metric=result.metric_name, best_dev=result.best_metric)
    silver_file = Path(config.output_dir) / "silver" / "silver.json"
    if run.variant is not None and silver_file.is_file():
        silver = json.loads(silver_file.read_text(encoding="utf-8"))
        record["silver"] = {k: silver.get(k) for k in ("sizes", "teachers", "mapping")}
        record["silver"]["strategies"] = silver.get("recipe", {}).get("strategies")
        record["teachers"] = teacher_facts(Path(config.output_dir), silver)
        reused = [t["index"] for t in record["teachers"] if before.get(t["index"]) == t["fingerprint"]]
        record["teachers_reused"] = reused  # finished by an earlier attempt: not in this run's times
    return record, overrides, facts


def train_peer(run: Run, args: argparse.Namespace) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Train sentence-transformers' twin of the plain recipe (one task); its record and overrides."""
    from benchmarks.resumable import train_st_resumable
    from textsiam.training import TrainConfig

    overrides = plain_overrides(run, args)
    config = TrainConfig.from_file(CONFIGS / PLAIN[run.dataset][0]).with_overrides(overrides)
    config.validate()
    entry = {"dataset": run.dataset, "loss": config.loss, "loss_kwargs": dict(config.loss_kwargs or {})}
    entry.update(label_transform=config.label_transform, binarize_threshold=config.binarize_threshold)
    record = train_st_resumable(config, {run.dataset: entry}, "proportional", config.model, args.work_dir, run.name)
    metric = next((k for k in (record["dev_history"] or [{}])[-1] if k.startswith(f"{run.dataset}_")), None)
    if metric is not None:  # the one task's metric (mean_dev of the history is its value)
        record["dev_metric"] = metric.removeprefix(f"{run.dataset}_")
    return {"config": config.to_dict(), **record}, overrides, {}


def train_one(run: Run, args: argparse.Namespace) -> None:
    """Train ``run`` and write its record, with the whole run's wall and CPU time (teachers included)."""
    logger.info("=== %s (%s)", run.name, run.side)
    if args.force:  # a clean start: teachers and silver labels of an earlier attempt are not reused
        shutil.rmtree(args.work_dir / run.name, ignore_errors=True)
    wall, cpu = time.perf_counter(), time.process_time()
    record, overrides, facts = (train_textsiam if run.side == "textsiam" else train_peer)(run, args)
    times = {"run_wall_s": round(time.perf_counter() - wall, 3), "run_cpu_s": round(time.process_time() - cpu, 3)}
    for key in ("wall_s", "cpu_s"):  # a resumed run: its earlier attempts up to the checkpoint count too
        times[f"run_{key}"] = round(times[f"run_{key}"] + record.get(f"earlier_{key}", 0.0), 3)
    given = facts.get("teachers_given") or []  # trained by other runs: their time is part of this recipe's
    for key in ("wall_s", "cpu_s"):  # None: a given teacher's time is not known
        parts = [times[f"run_{key}"], *(g[key] for g in given)]
        times[f"recipe_{key}"] = None if None in parts else round(sum(parts), 3)
    logger.info("%s: %s", run.name, times)
    fields = {"name": run.name, "side": run.side, "dataset": run.dataset, "seed": run.seed}
    fields["config_file"] = f"benchmarks/configs/{PLAIN[run.dataset][0]}"
    write_run_record(args.work_dir, fields, overrides, {**facts, **record, **times})


def seed_runs(dataset: str, side: str, args: argparse.Namespace) -> list[Run]:
    """The ``--seeds`` runs of ``dataset`` on ``side``: ST plain, or the silver variant dev chose (none before the
    variants have finished)."""
    from benchmarks.augsbert_student_report import choose_variant

    if side == "st":
        return [Run(dataset, "st", None, s) for s in args.seeds]
    runs = {v: load_record(args.work_dir, Run(dataset, "textsiam", v).name) for v in args.variants}
    chosen = choose_variant(runs)["chosen"]
    if chosen is None:
        logger.warning("%s: no silver variant has finished, so no student to train with --seeds yet", dataset)
        return []
    return [Run(dataset, "textsiam", chosen, s) for s in args.seeds]


def train_runs(args: argparse.Namespace, side: str) -> None:
    """Train the plain runs of other seeds that ``--only`` names (textsiam's side), then the selected runs of
    ``side`` that are not complete (all with ``--force``), then their seed runs."""
    args.work_dir.mkdir(parents=True, exist_ok=True)
    named = [run for name in args.only or [] if (run := plain_seed_run(name)) is not None]
    for run in named if side == "textsiam" else []:
        if not is_complete(run, args):
            train_one(run, args)
    for dataset in DATASETS:
        base = [r for r in base_runs([dataset], args.variants) if r.side == side]
        for run in [r for r in base if selected(r, args)]:
            if is_complete(run, args):
                logger.info("%s is complete (%s): skipped", run.name, record_path(args.work_dir, run.name))
                continue
            train_one(run, args)
        for run in seed_runs(dataset, side, args) if args.seeds else []:
            if selected(run, args) and not is_complete(run, args):
                train_one(run, args)


def is_complete(run: Run, args: argparse.Namespace) -> bool:
    """Whether ``run`` is complete with the settings this command gives it (never with ``--force``).

    The teacher that a ``twin`` / ``ce`` variant trains or reuses (``silver_teacher``) is not compared: which of
    the two its config names depends on the other runs, and its recipe is the plain one, which is compared.

    Raises:
        ChangedRunError: complete, but trained with other settings (:func:`~benchmarks.common.complete_record`).
    """
    if args.force:
        return False
    if run.side == "textsiam":
        config = recipe(run, args)[0]
    else:
        from textsiam.training import TrainConfig

        config = TrainConfig.from_file(CONFIGS / PLAIN[run.dataset][0]).with_overrides(plain_overrides(run, args))
    ignore = () if run.variant in (None, "given") else ("silver_teacher",)
    return complete_record(args.work_dir, run.name, config.to_dict(), ignore) is not None


# ---------------------------------------------------------------------------------------------- report
def seed_records(work: Path, base: str) -> dict[str, dict[str, Any]]:
    """The finished ``BASE_seedN`` runs in ``work``, by seed."""
    found = {}
    for path in sorted(Path(work).glob(f"{base}_seed*.json")):
        if re.fullmatch(rf"{re.escape(base)}_seed\d+", path.stem) and (rec := load_record(work, path.stem)):
            found[path.stem] = rec
    return found


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Choose each dataset's student on dev, then score and compare on test; write the result files."""
    from benchmarks import augsbert_student_report as rep
    from benchmarks.augsbert_cross_encoder_report import eval_pairs
    from benchmarks.augsbert_student_markdown import render
    from benchmarks.finetune_multitask_st import SELECTION
    from textsiam.evaluation.results import to_jsonable

    only = args.only or []
    datasets = [d for d in DATASETS if not only or d in only or any(o.startswith(f"{d}_") for o in only)]
    plan = [r for r in base_runs(datasets, args.variants) if selected(r, args)]
    runs = {r.name: load_record(args.work_dir, r.name) for r in plan}
    how = rep.Scoring(
        eval_pairs(args.data_dir, datasets, args.max_test_pairs, SEED), args.data_dir, args.n_resamples, SEED
    )
    selection, results = {}, {}
    for d in datasets:
        selection[d] = rep.choose_variant({v: runs.get(Run(d, "textsiam", v).name) for v in args.variants})
        logger.info("%s: %s", d, selection[d]["why"])
        student = selection[d]["run"]
        seeds = {
            **seed_records(args.work_dir, f"{d}_st_plain"),
            **(seed_records(args.work_dir, student) if student else {}),
        }
        runs.update(seeds)
        names = [r.name for r in plan if r.dataset == d and runs.get(r.name)] + list(seeds)
        scored = {n: rep.score_twin(runs[n]["model_dir"], runs[n]["side"], n, d, how) for n in names}
        results[d] = {**rep.analyse(d, student, scored, how), "teachers": rep.score_teachers(d, runs, how)}
    trained = [r for r in runs.values() if r is not None]
    payload = {
        "settings": {
            "model": args.model or shared_setting(trained, "model"),
            "smoke": args.smoke,
            "n_resamples": args.n_resamples,
            "seed": SEED,
            "max_test_pairs": args.max_test_pairs,
            "max_train_pairs": shared_setting(trained, "max_train_pairs"),
            "variants": [v.__dict__ for v in VARIANTS if v.name in args.variants],
        },
        "datasets": datasets,
        "selection": selection,
        **{key: {d: r[key] for d, r in results.items()} for key in rep.PER_DATASET},
        "goals": rep.goals(
            {d: r["comparisons"] for d, r in results.items()},
            {d: r["seed_comparisons"] for d, r in results.items()},
            selection,
            runs,
        ),
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
