"""The Augmented-SBERT student (issue #26): a twin tower trained on gold + silver pairs labelled by a teacher trained
first, against textsiam's plain recipe and sentence-transformers' plain recipe, on STS-B, Quora (the question-disjoint
split) and MRPC, in one resumable run.

Runs, per dataset ``D`` (each in ``WORK/NAME/``, its record in ``WORK/NAME.json``; a complete run is skipped):

- ``D_plain``: textsiam, the plain recipe ``configs/D.yaml`` (MRPC at lr 5e-5, the rate its dev chose, as in
  ``benchmarks.finetune_multitask``);
- ``D_st_plain``: sentence-transformers, the same recipe (``benchmarks.finetune_multitask_st.train_st`` with the one
  task: the same training pairs, loss, schedule, seed, and textsiam's dev rule for the checkpoint);
- ``D_silver_V`` for each variant ``V`` of :data:`VARIANTS`: the plain recipe + ``silver_teacher`` (one run trains
  the teachers into ``teachers/N/``, samples the silver pairs with the config's defaults, bm25 + nn, 3 per text,
  labels them and trains the student): ``ce`` a cross-encoder teacher (the learning rate and epochs
  ``benchmarks.augsbert_cross_encoder`` chose on dev, read from its result file, else 2e-5 and 1 epoch; the record
  says which), ``twin`` a twin-tower teacher trained with the plain recipe, ``ce_twin`` the ensemble of the two;
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import (
    CONFIGS,
    RESULTS,
    SMOKE_OVERRIDES,
    add_set_argument,
    benchmark_parser,
    command,
    load_record,
    option_overrides,
    record_path,
    resolve_data_dir,
    run_sides,
    shared_setting,
    write_results,
    write_run_record,
)

logger = logging.getLogger("benchmarks.augsbert_student")

DATASETS = ("stsb", "quora", "mrpc")
#: each dataset's plain recipe: a config of ``benchmarks/configs`` and overrides (MRPC: the rate its dev chose)
PLAIN: dict[str, tuple[str, tuple[str, ...]]] = {
    "stsb": ("stsb.yaml", ()),
    "quora": ("quora.yaml", ()),
    "mrpc": ("mrpc.yaml", ("learning_rate=5e-5",)),
}
#: the seed of the plain recipes (``--seeds`` adds others)
RECIPE_SEED = 42
#: teachers: ``ce`` a cross-encoder, ``twin`` a twin tower trained with the plain recipe, ``given`` the models of
#: ``--given-teachers`` (trained elsewhere, e.g. by ``benchmarks.finetune_multitask``)
TEACHER_KINDS = ("ce", "twin", "given")


@dataclass(frozen=True)
class Variant:
    """A teacher pipeline: the teachers trained first (in this order: an ensemble when several) and the student's
    own overrides (``silver_max_pairs=10000``, ``epochs=2``, ...)."""

    name: str
    teachers: tuple[str, ...]
    description: str
    overrides: tuple[str, ...] = ()


#: the silver variants every dataset runs (``--variants`` picks some); add one here to try another teacher or size
VARIANTS: tuple[Variant, ...] = (
    Variant("ce", ("ce",), "a cross-encoder teacher trained first"),
    Variant("twin", ("twin",), "a twin-tower teacher trained first with the plain recipe"),
    Variant("ce_twin", ("ce", "twin"), "an ensemble of the cross-encoder and the twin-tower teacher"),
    Variant(
        "given",
        ("given",),
        "the teachers of --given-teachers, trained elsewhere (an ensemble when several), each twin tower with its "
        "saved prompt of the dataset's task when it has one",
    ),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)
#: the variants run when ``--variants`` is not given (with ``--given-teachers``: ``given`` too)
DEFAULT_VARIANTS = ("ce", "twin", "ce_twin")
#: the cross-encoder teacher's setting when ``benchmarks.augsbert_cross_encoder`` has not chosen one on dev
CE_DEFAULT = {"epochs": 1.0, "learning_rate": 2e-5}
CE_RESULTS = RESULTS / "augsbert" / "cross_encoder.json"
#: the fields of the cross-encoder benchmark's recipe the teacher takes (the setting chosen there holds for them)
CE_FIELDS = ("loss", "batch_size", "warmup_ratio", "lr_scheduler", "weight_decay", "max_grad_norm", "save_total_limit")
#: the plain recipe's training fields the twin-tower teacher takes (so it trains as ``D_plain`` does)
TWIN_FIELDS = tuple(
    "loss loss_kwargs epochs batch_size learning_rate warmup_ratio lr_scheduler weight_decay max_grad_norm eval_steps "
    "max_seq_length save_total_limit".split()
)
#: test and threshold pairs of a ``--smoke`` run (:data:`SMOKE_OVERRIDES` caps dev at this size too)
SMOKE_EVAL_PAIRS = 200
#: seed of the test subsamples and of the bootstraps
SEED = 42


@dataclass(frozen=True)
class Run:
    """One training run: ``side`` trains dataset's plain recipe, with the silver ``variant`` when given."""

    dataset: str
    side: str  # "textsiam" or "st"
    variant: str | None = None
    seed: int | None = None  # another seed than the recipe's

    @property
    def base(self) -> str:
        """The name of the run with the recipe's own seed."""
        if self.side == "st":
            return f"{self.dataset}_st_plain"
        return f"{self.dataset}_silver_{self.variant}" if self.variant else f"{self.dataset}_plain"

    @property
    def name(self) -> str:
        return self.base + (f"_seed{self.seed}" if self.seed is not None else "")


def base_runs(datasets: Sequence[str] = DATASETS, variants: Sequence[str] = VARIANT_NAMES) -> list[Run]:
    """The runs with the recipe's seed: per dataset, plain, each silver variant, ST plain."""
    out = []
    for d in datasets:
        out += [Run(d, "textsiam"), *(Run(d, "textsiam", v) for v in variants), Run(d, "st")]
    return out


RUN_NAMES = tuple(run.name for run in base_runs())


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
        choices=[*DATASETS, *RUN_NAMES],
        default=None,
        metavar="NAME",
        help=f"datasets {DATASETS} or runs (their seed runs too): {RUN_NAMES}",
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


# ---------------------------------------------------------------------------------------------- recipes
def split_set(items: Sequence[str]) -> tuple[list[str], list[str]]:
    """``--set`` items: ``(for every run, for the silver runs only)`` (``silver_*`` keys, refused by a run without
    a teacher)."""
    silver = [item for item in items if item.strip().startswith("silver_")]
    return [item for item in items if item not in silver], silver


def plain_overrides(run: Run, args: argparse.Namespace) -> list[str]:
    """The overrides of ``run``'s plain recipe: its folder, no test sets, ``--smoke``, the command line, the
    dataset's own, the seed, ``--set`` (not ``silver_*``) last."""
    out = [f"output_dir={args.work_dir / run.name}", "test_datasets=[]", f"n_resamples={args.n_resamples}"]
    out += list(SMOKE_OVERRIDES) if args.smoke else []
    out += option_overrides(args, ("model", "data_dir", "max_train_pairs", "max_dev_pairs", "max_steps"))
    out += list(PLAIN[run.dataset][1]) + ([f"seed={run.seed}"] if run.seed is not None else [])
    return out + split_set(args.set)[0]


def ce_setting(dataset: str, path: Path) -> dict[str, Any]:
    """The cross-encoder teacher's ``epochs`` and ``learning_rate``: the setting ``benchmarks.augsbert_cross_encoder``
    chose on dev for ``dataset`` (its result file ``path``), else :data:`CE_DEFAULT`; ``source`` says which."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        sel = data["selection"][dataset]
        row = sel["rows"][sel["chosen"]]
        if data.get("settings", {}).get("smoke"):
            raise ValueError("a smoke run")
        return {"epochs": float(row["epochs"]), "learning_rate": float(row["lr"]), "source": f"chosen on dev ({path})"}
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        return {**CE_DEFAULT, "source": f"default (no dev choice in {path}: {type(err).__name__})"}


def teacher_entry(kind: str, plain: Any, ce: dict[str, Any]) -> dict[str, Any]:
    """``{train: {settings}}`` of a teacher trained first: ``ce`` the cross-encoder benchmark's recipe at the dev
    setting ``ce``; ``twin`` the plain recipe ``plain`` (a TrainConfig) as a twin tower. ``max_steps`` follows the
    run's."""
    from benchmarks.augsbert_cross_encoder import RECIPE

    if kind == "ce":
        settings = {"model_type": "cross_encoder", **{k: RECIPE[k] for k in CE_FIELDS}}
        settings.update(epochs=ce["epochs"], learning_rate=ce["learning_rate"])
    elif kind == "twin":
        settings = {"model_type": "siamese", **{k: getattr(plain, k) for k in TWIN_FIELDS if getattr(plain, k)}}
    elif kind == "given":
        raise ValueError("a given teacher is not trained in the run: see given_teachers")
    else:
        raise ValueError(f"unknown teacher {kind!r}; choose from {TEACHER_KINDS}")
    if plain.max_steps is not None:
        settings["max_steps"] = plain.max_steps
    return {"train": settings}


def saved_prompts(model_dir: str | Path) -> dict[str, str]:
    """A twin tower's saved prompts (its ``config_sentence_transformers.json``), ``{}`` for none."""
    path = Path(model_dir) / "config_sentence_transformers.json"
    return dict(json.loads(path.read_text(encoding="utf-8")).get("prompts") or {}) if path.is_file() else {}


def given_teachers(run: Run, args: argparse.Namespace) -> tuple[list[str], str | None, list[dict[str, Any]]]:
    """The ``given`` variant's teachers: their folders, the prompt to label with (the dataset's name when a teacher
    has a saved prompt of that name: a multi-task model's task, see ``silver_prompt_name``), and each teacher's
    facts: the run that trained it and the time that took, from its record ``WORK/NAME.json`` beside
    ``WORK/NAME/model`` (``None`` when there is none)."""
    paths = [str(p) for p in args.given_teachers]
    prompt = run.dataset if any(run.dataset in saved_prompts(p) for p in paths) else None
    facts = []
    for path in paths:
        folder = Path(path).parent
        rec_file = folder.parent / f"{folder.name}.json"
        rec = json.loads(rec_file.read_text(encoding="utf-8")) if rec_file.is_file() else {}
        wall = rec.get("run_wall_s", rec.get("train_wall_time_s"))
        fact = {"kind": "given", "from_run": rec.get("name", path), "model_dir": path, "wall_s": wall}
        facts.append({**fact, "cpu_s": rec.get("run_cpu_s", wall)})
    return paths, prompt, facts


def teacher_source(kind: str, run: Run) -> Run:
    """The run of ``run``'s dataset and seed that trains the ``kind`` teacher as part of its own recipe: ``twin``
    the plain run (the twin teacher's recipe is the plain recipe, seed included), ``ce`` the ``ce`` variant."""
    if kind not in ("ce", "twin"):
        raise ValueError(f"unknown teacher {kind!r} to train; choose from ('ce', 'twin')")
    return Run(run.dataset, "textsiam", None if kind == "twin" else "ce", run.seed)


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


def reused_teacher(kind: str, run: Run, args: argparse.Namespace, entry: dict[str, Any]) -> dict[str, Any] | None:
    """The ``kind`` teacher of silver run ``run`` when :func:`teacher_source` has already trained it in this work
    folder with the same recipe, else None (the run trains it). The same recipe: the source run's overrides start
    with the plain overrides this call gives it (the gold pairs, seed, model, limits and ``--set``), and a ``ce``
    teacher's settings equal ``entry``'s. Returns the model folder, the source run, and the time that training it
    took there (a twin: the whole plain run; a cross-encoder: its ``Trainer.train``, wall for CPU, one thread)."""
    source = teacher_source(kind, run)
    if args.train_teachers or run.variant is None or source.name == run.name:
        return None
    rec = load_record(args.work_dir, source.name)
    plain = plain_overrides(source, args)
    if rec is None or rec.get("overrides", [])[: len(plain)] != plain:
        return None
    if kind == "twin":
        fact = {"model_dir": rec["model_dir"], "wall_s": rec["run_wall_s"], "cpu_s": rec["run_cpu_s"]}
    else:
        trained = [
            t
            for t in rec.get("teachers", [])
            if t["kind"] == "cross_encoder" and _normal(t.get("settings")) == _normal(entry["train"])
        ]
        if not trained or trained[0].get("train_wall_time_s") is None:
            return None
        wall = trained[0]["train_wall_time_s"]
        fact = {"model_dir": trained[0]["model_dir"], "wall_s": wall, "cpu_s": wall}
    return {"kind": kind, "from_run": source.name, **fact}


def recipe(run: Run, args: argparse.Namespace) -> tuple[Any, list[str], dict[str, Any]]:
    """``(TrainConfig, overrides, facts)`` of a textsiam run: the plain recipe, and for a silver run the teachers
    (``silver_teacher=...``: trained first, or the model folder of one :func:`reused_teacher` finds), the
    variant's overrides and the ``silver_*`` items of ``--set``."""
    from textsiam.training import TrainConfig

    config_file = CONFIGS / PLAIN[run.dataset][0]
    overrides = plain_overrides(run, args)
    plain = TrainConfig.from_file(config_file).with_overrides(overrides)
    if run.variant is None:
        return plain, overrides, {}
    variant = next(v for v in VARIANTS if v.name == run.variant)
    if variant.name == "given":
        paths, prompt, given = given_teachers(run, args)
        value = yaml.safe_dump(paths, default_flow_style=True, width=10**6).strip()  # a list: paths may hold commas
        overrides += [*variant.overrides, f"silver_teacher={value}"]
        overrides += [f"silver_prompt_name={prompt}"] if prompt else []
        overrides += split_set(args.set)[1]
        config = TrainConfig.from_file(config_file).with_overrides(overrides)
        described = [f"given: {p}" + (f" (prompt {prompt!r})" if prompt in saved_prompts(p) else "") for p in paths]
        return config, overrides, {"variant": variant.name, "teacher_settings": described, "teachers_given": given}
    ce = ce_setting(run.dataset, args.ce_results)
    entries: list[Any] = [teacher_entry(kind, plain, ce) for kind in variant.teachers]
    described = [f"{kind}: {json.dumps(e['train'])}" for kind, e in zip(variant.teachers, entries, strict=True)]
    given = []
    for i, kind in enumerate(variant.teachers):
        if (reused := reused_teacher(kind, run, args, entries[i])) is not None:
            entries[i] = reused["model_dir"]
            described[i] += f" (the one {reused['from_run']} trained: {reused['model_dir']})"
            given.append(reused)
    value = entries[0] if len(entries) == 1 else entries
    teacher = "silver_teacher=" + yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    overrides += [*variant.overrides, teacher, *split_set(args.set)[1]]
    config = TrainConfig.from_file(config_file).with_overrides(overrides)
    if "ce" in variant.teachers:
        described.append(f"cross-encoder setting {ce['source']}")
    facts = {"variant": variant.name, "ce_setting": ce, "teacher_settings": described, "teachers_given": given}
    return config, overrides, facts


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
    from textsiam.training import train

    config, overrides, facts = recipe(run, args)
    before = {t["index"]: t["fingerprint"] for t in teacher_facts(Path(config.output_dir), {}, finished_only=True)}
    result = train(config, overwrite=True, command=command(), show_progress=False)
    kept = ("train_wall_time_s", "global_step", "train_loss", "examples", "dev_history", "best_checkpoint")
    record = {"config": config.to_dict(), "model_dir": str(result.model_dir), **{k: getattr(result, k) for k in kept}}
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
    from benchmarks.finetune_multitask_st import train_st
    from textsiam.training import TrainConfig

    overrides = plain_overrides(run, args)
    config = TrainConfig.from_file(CONFIGS / PLAIN[run.dataset][0]).with_overrides(overrides)
    config.validate()
    entry = {"dataset": run.dataset, "loss": config.loss, "loss_kwargs": dict(config.loss_kwargs or {})}
    entry.update(label_transform=config.label_transform, binarize_threshold=config.binarize_threshold)
    record = train_st(config, {run.dataset: entry}, "proportional", config.model, args.work_dir / run.name)
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
    """Train the selected runs of ``side`` that are not complete (all with ``--force``), then their seed runs."""
    args.work_dir.mkdir(parents=True, exist_ok=True)
    for dataset in DATASETS:
        base = [r for r in base_runs([dataset], args.variants) if r.side == side]
        for run in [r for r in base if selected(r, args)]:
            if not args.force and load_record(args.work_dir, run.name) is not None:
                logger.info("%s is complete (%s): skipped", run.name, record_path(args.work_dir, run.name))
                continue
            train_one(run, args)
        for run in seed_runs(dataset, side, args) if args.seeds else []:
            if selected(run, args) and (args.force or load_record(args.work_dir, run.name) is None):
                train_one(run, args)


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
    body = rep.render(payload)
    write_results(args.results_dir, args.results_name + ("_smoke" if args.smoke else ""), payload, body)
    return {**payload, "markdown": body}


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    return run_sides(parse_args(argv), train_runs, report, logger)


if __name__ == "__main__":
    main()
