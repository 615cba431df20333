"""The runs and recipes of ``python -m benchmarks.augsbert_student`` (its docstring tells the plan): the datasets'
plain recipes, the silver variants, the run names, and each run's TrainConfig: the teachers it trains first, or those
other runs of the work folder have already trained with the same recipe, or the given ones."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import CONFIGS, RESULTS, SMOKE_OVERRIDES, load_record, option_overrides

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
#: ``--given-teachers`` (trained elsewhere, e.g. by ``benchmarks.finetune_multitask``); ``twin+N`` is the twin
#: tower trained with the run's seed + N (another member of an ensemble of seeds), see :func:`teacher_kind`
TEACHER_KINDS = ("ce", "twin", "given")


@dataclass(frozen=True)
class Variant:
    """A teacher pipeline: the teachers trained first (in this order: an ensemble when several) and the student's
    own overrides (``silver_max_pairs=10000``, ``epochs=2``, ...)."""

    name: str
    teachers: tuple[str, ...]
    description: str
    overrides: tuple[str, ...] = ()


#: the sampling of every silver run: BM25 and embedding neighbours, every sampled pair, as these benchmarks have always
#: sampled (the defaults were both strategies and all pairs until STS-B dev chose ``bm25`` alone and at most 10,000
#: pairs, 2026-12-07 and 2026-12-08); ``--set`` overrides them
SILVER_SAMPLING: tuple[str, ...] = ("silver_strategies=[bm25, nn]", "silver_max_pairs=null")

#: the silver variants every dataset runs (``--variants`` picks some); add one here to try another teacher or size
VARIANTS: tuple[Variant, ...] = (
    Variant("ce", ("ce",), "a cross-encoder teacher trained first"),
    Variant("twin", ("twin",), "a twin-tower teacher trained first with the plain recipe"),
    Variant("ce_twin", ("ce", "twin"), "an ensemble of the cross-encoder and the twin-tower teacher"),
    Variant(
        "twin_seeds",
        ("twin", "twin+1", "twin+2"),
        "an ensemble of three twin-tower teachers: the plain recipe with the run's seed, and with that seed + 1 and "
        "+ 2",
    ),
    Variant(
        "twin_matched",
        ("twin",),
        "the twin-tower teacher, every sampled pair labelled, then those kept whose labels follow the gold labels' "
        "distribution (silver_label_match)",
        ("silver_label_match=true", "silver_max_pairs=null"),
    ),
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


def plain_seed_run(name: str) -> Run | None:
    """The run ``name`` when it names a plain run of another seed (``D_plain_seedN``), else None: such a run
    trains the ``twin+K`` teacher of seed ``N - K`` (:func:`teacher_source`), so it can train beside the others."""
    match = re.fullmatch(r"([a-z]+)_plain_seed(\d+)", name)
    if match is None or match[1] not in DATASETS:
        return None
    return Run(match[1], "textsiam", None, int(match[2]))


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


def teacher_kind(kind: str) -> tuple[str, int]:
    """``(kind, seed offset)`` of a teacher name: ``"twin+2"`` is ``("twin", 2)``, ``"ce"`` is ``("ce", 0)``."""
    base, plus, offset = kind.partition("+")
    if plus and (base != "twin" or not offset.isdigit() or int(offset) == 0):
        raise ValueError(f"unknown teacher {kind!r}: only twin takes a seed offset (twin+N, N >= 1)")
    return base, int(offset) if plus else 0


def teacher_entry(kind: str, plain: Any, ce: dict[str, Any]) -> dict[str, Any]:
    """``{train: {settings}}`` of a teacher trained first: ``ce`` the cross-encoder benchmark's recipe at the dev
    setting ``ce``; ``twin`` the plain recipe ``plain`` (a TrainConfig) as a twin tower, ``twin+N`` with the seed
    ``plain.seed + N``. ``max_steps`` follows the run's."""
    from benchmarks.augsbert_cross_encoder import RECIPE

    base, offset = teacher_kind(kind)
    if base == "ce":
        settings = {"model_type": "cross_encoder", **{k: RECIPE[k] for k in CE_FIELDS}}
        settings.update(epochs=ce["epochs"], learning_rate=ce["learning_rate"])
    elif base == "twin":
        settings = {"model_type": "siamese", **{k: getattr(plain, k) for k in TWIN_FIELDS if getattr(plain, k)}}
        settings.update({"seed": plain.seed + offset} if offset else {})
    elif base == "given":
        raise ValueError("a given teacher is not trained in the run: see given_teachers")
    else:
        raise ValueError(f"unknown teacher {kind!r}; choose from {TEACHER_KINDS}")
    if plain.max_steps is not None:
        settings["max_steps"] = plain.max_steps
    return {"train": settings}


def saved_prompts(model_dir: str | Path) -> dict[str, str]:
    """A twin tower's saved prompts (its ``config_sentence_transformers.json``), ``{}`` for none."""
    from textsiam.training.silver_teachers import saved_prompts as read

    return read(model_dir) or {}


def given_record(model_dir: str | Path) -> dict[str, Any]:
    """The record ``WORK/NAME.json`` of the run that trained ``WORK/NAME/model`` (``{}`` when there is none)."""
    folder = Path(model_dir).parent
    path = folder.parent / f"{folder.name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def given_teachers(run: Run, args: argparse.Namespace) -> tuple[list[str], str | None, list[dict[str, Any]]]:
    """The ``given`` variant's teachers: their folders, the prompt to label with (the dataset's name when a teacher
    has a saved prompt of that name: a multi-task model's task, see ``silver_prompt_name``), and each teacher's
    facts: the run that trained it and the time that took, from its record ``WORK/NAME.json`` beside
    ``WORK/NAME/model`` (``None`` when there is none)."""
    paths = [str(p) for p in args.given_teachers]
    prompt = run.dataset if any(run.dataset in saved_prompts(p) for p in paths) else None
    facts = []
    for path in paths:
        rec = given_record(path)
        wall = rec.get("run_wall_s", rec.get("train_wall_time_s"))
        fact = {"kind": "given", "from_run": rec.get("name", path), "model_dir": path, "wall_s": wall}
        facts.append({**fact, "cpu_s": rec.get("run_cpu_s", wall)})
    return paths, prompt, facts


def teacher_source(kind: str, run: Run) -> Run:
    """The run of ``run``'s dataset and seed that trains the ``kind`` teacher as part of its own recipe: ``twin``
    the plain run (the twin teacher's recipe is the plain recipe, seed included), ``twin+N`` the plain run of the
    seed + N (``D_plain_seedS``), ``ce`` the ``ce`` variant."""
    base, offset = teacher_kind(kind)
    if base not in ("ce", "twin"):
        raise ValueError(f"unknown teacher {kind!r} to train; choose from ('ce', 'twin')")
    if offset:
        return Run(run.dataset, "textsiam", None, (RECIPE_SEED if run.seed is None else run.seed) + offset)
    return Run(run.dataset, "textsiam", None if base == "twin" else "ce", run.seed)


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
    if teacher_kind(kind)[0] == "twin":
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
        overrides += [*SILVER_SAMPLING, *variant.overrides, f"silver_teacher={value}"]
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
    # always a list (of one teacher, or an ensemble): YAML writes a lone scalar with an end-of-document mark
    teacher = "silver_teacher=" + yaml.safe_dump(entries, default_flow_style=True, width=10**6).strip()
    overrides += [*SILVER_SAMPLING, *variant.overrides, teacher, *split_set(args.set)[1]]
    config = TrainConfig.from_file(config_file).with_overrides(overrides)
    if "ce" in variant.teachers:
        described.append(f"cross-encoder setting {ce['source']}")
    facts = {"variant": variant.name, "ce_setting": ce, "teacher_settings": described, "teachers_given": given}
    return config, overrides, facts
