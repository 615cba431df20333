"""The report of ``python -m benchmarks.augsbert_student``: the dev choice of the student, the test figures, the
paired bootstraps, the teacher candidates, the goals and the markdown.

The choice of a dataset's student (the silver variant) reads the runs' dev figures only (:func:`choose_variant`);
the test figures come after it and never feed back. Twin towers are scored by
``benchmarks.finetune_multitask_report.score_model`` (cosine similarity), cross-encoder teachers by
``benchmarks.augsbert_cross_encoder_report.score_model`` (their ``predict`` score): both through textsiam's
evaluators, 95% bootstrap CIs, MRPC and Quora thresholds chosen on dev. Metric keys here are bare (``spearman``,
``accuracy``, ``f1``, ``ap``); the evaluator's record prefixes them with the score's name (``cosine_``,
``cross_encoder_``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.common import all_met, diff_text
from benchmarks.finetune_multitask_report import paired

logger = logging.getLogger("benchmarks.augsbert_student")

DATASETS = ("stsb", "quora", "mrpc")
#: (dataset, metric, column label): the test figures of the report
METRICS: tuple[tuple[str, str, str], ...] = (
    ("stsb", "spearman", "STS-B ρ"),
    ("quora", "accuracy", "Quora acc"),
    ("quora", "f1", "Quora F1"),
    ("quora", "ap", "Quora AP"),
    ("mrpc", "accuracy", "MRPC acc"),
    ("mrpc", "f1", "MRPC F1"),
)
#: the metric each dataset's goal check reads (the others are reported, not judged)
PRIMARY = {"stsb": "spearman", "quora": "accuracy", "mrpc": "accuracy"}
#: the per-dataset parts of the payload: ``payload[key][dataset]``
PER_DATASET = ("test", "roles", "comparisons", "seed_comparisons", "teachers")
#: the significance level of the goals
ALPHA = 0.05
#: the wall-time budget of one teacher-student recipe (teachers, labelling and student), seconds
TIME_LIMIT_S = 7200.0


def metrics_of(dataset: str) -> list[tuple[str, str]]:
    """``(metric, label)`` of the report's figures of ``dataset``."""
    return [(metric, label) for d, metric, label in METRICS if d == dataset]


# ---------------------------------------------------------------------------------------------- dev choice
def choose_variant(runs: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """The student of one dataset: the silver run with the highest best dev metric (dev only). A tie, common on a
    400-pair dev set scored by accuracy, goes to the run with the higher mean dev metric over all its evaluations
    (the steadier run; a rule fixed on 2026-12-07), and a tie of both to the first of ``runs``, the order of the
    variants. ``runs``: ``{variant: record or None}``; a run not finished is no candidate. Returns
    ``{"chosen": variant or None, "run": its name, "why": text, "rows": [...]}``."""
    rows = []
    for variant, rec in runs.items():
        rec = rec or {}
        silver = (rec.get("silver") or {}).get("sizes", {})
        rows.append(
            {
                "variant": variant,
                "run": rec.get("name"),
                "best_dev": rec.get("best_dev"),
                "mean_dev": mean_dev(rec),
                "dev_metric": rec.get("dev_metric"),
                "silver_pairs": silver.get("silver_pairs"),
            }
        )
    candidates = [i for i, r in enumerate(rows) if r["best_dev"] is not None]
    if not candidates:
        return {"chosen": None, "run": None, "why": "no silver variant has finished", "rows": rows}
    best = max(candidates, key=lambda i: (rows[i]["best_dev"], rows[i]["mean_dev"] or float("-inf"), -i))
    r = rows[best]
    others = ", ".join(f"{rows[i]['variant']} {rows[i]['best_dev']:.2f}" for i in candidates if i != best)
    why = f"{r['variant']}: the best dev {r['dev_metric']} ({r['best_dev']:.2f})" + (
        f" against {others}" if others else " (the only variant trained)"
    )
    if any(rows[i]["best_dev"] == r["best_dev"] for i in candidates if i != best):
        why += f"; the tie goes to the higher mean dev over its evaluations ({_dev_means(rows, candidates, r)})"
    return {"chosen": r["variant"], "run": r["run"], "why": why, "rows": rows}


def mean_dev(record: Mapping[str, Any]) -> float | None:
    """The mean of a run's dev metric over all its evaluations (``dev_history``), or None without any."""
    metric = record.get("dev_metric")
    values = [h[metric] for h in record.get("dev_history") or [] if h.get(metric) is not None]
    return sum(values) / len(values) if values else None


def _dev_means(rows: list[dict[str, Any]], candidates: list[int], chosen: dict[str, Any]) -> str:
    """``"twin_matched 82.13, twin 81.81"``: the mean dev of the runs tied with ``chosen``, it first."""
    tied = [chosen] + [
        rows[i] for i in candidates if rows[i] is not chosen and rows[i]["best_dev"] == chosen["best_dev"]
    ]
    return ", ".join(
        f"{t['variant']} {t['mean_dev']:.2f}" if t["mean_dev"] is not None else f"{t['variant']} -" for t in tied
    )


# ---------------------------------------------------------------------------------------------- figures
def figures(dataset: str, scored: Any, prefix: str = "cosine_") -> dict[str, Any]:
    """``{"n_pairs", metric: {"value", "low", "high"}}`` of the report's metrics of ``dataset`` from a scored model
    (``prefix``: the score's name in the evaluator's record, ``cosine_`` or ``cross_encoder_``)."""
    rec = scored.record
    out: dict[str, Any] = {"n_pairs": rec["n_pairs"]}
    for metric, _ in metrics_of(dataset):
        ci = rec["ci"].get(prefix + metric) or {}
        out[metric] = {"value": float(rec["metrics"][prefix + metric]), "low": ci.get("low"), "high": ci.get("high")}
    return out


def compare(
    dataset: str, against: str, a: tuple[str, Any], b: tuple[str, Any], n_resamples: int, seed: int
) -> list[dict[str, Any]]:
    """Paired bootstraps of every metric of ``dataset`` on the same test pairs: ``difference`` = b − a.
    ``a`` and ``b`` are ``(run name, Scored)``; ``against`` names a's role (``st_plain`` or ``plain``)."""
    out = []
    for metric, label in metrics_of(dataset):
        res = paired(a[1], b[1], metric, n_resamples, seed)
        out.append({"against": against, "a": a[0], "b": b[0], "metric": metric, "label": label, **res})
        logger.info("%s − %s, %s: %s", b[0], a[0], label, diff_text(res))
    return out


def pooled(
    dataset: str, runs_a: Mapping[str, Any], runs_b: Mapping[str, Any], n_resamples: int, seed: int
) -> list[dict[str, Any]]:
    """The two recipes over their seeds (``{run name: Scored}`` each) on every metric of ``dataset``: a two-level
    paired bootstrap (:func:`textsiam.evaluation.bootstrap.paired_bootstrap_runs`), difference = b − a."""
    from textsiam.evaluation.bootstrap import paired_bootstrap_runs

    first = next(iter(runs_a.values()))
    if any(not np.array_equal(first.gold, s.gold) for s in [*runs_a.values(), *runs_b.values()]):
        raise ValueError("a seed comparison of models scored on different pairs")
    out = []
    for metric, label in metrics_of(dataset):
        fn = first.inputs(metric)[0]
        values_a = [s.inputs(metric)[1] for s in runs_a.values()]
        values_b = [s.inputs(metric)[1] for s in runs_b.values()]
        res = paired_bootstrap_runs(fn, first.gold, values_a, values_b, max(1, n_resamples), seed)
        comp = {"value_a": res.value_a, "value_b": res.value_b, "difference": res.difference}
        comp.update(ci={"low": res.low, "high": res.high}, p_value=res.p_value, n_resamples=res.n_resamples)
        out.append({"against": "st_plain", "runs_a": list(runs_a), "runs_b": list(runs_b), "metric": metric, **comp})
        out[-1].update(label=label, n_pairs=len(first.gold))
        logger.info("over seeds (%d vs %d runs), %s: %s", len(runs_b), len(runs_a), label, diff_text(comp))
    return out


# ---------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class Scoring:
    """How the report scores a model: the test (and threshold dev) pairs of each dataset, bootstrap settings."""

    pairs: Mapping[str, Any]
    data_dir: str | None
    n_resamples: int
    seed: int


def score_twin(model_dir: str, side: str, label: str, dataset: str, how: Scoring) -> Any:
    """A twin tower (textsiam's, or sentence-transformers' for ``side == "st"``) on ``dataset``'s test pairs."""
    from benchmarks.finetune_multitask_report import score_model

    if side == "st":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_dir, device="cpu")
    else:
        from textsiam import SiameseModel

        model = SiameseModel.from_pretrained(model_dir)
    one = {dataset: how.pairs[dataset]}
    prompt = (getattr(model, "prompts", None) or {}).get(dataset)  # a multi-task model's prompt of this task
    scored = score_model(
        model,
        label,
        one,
        how.data_dir,
        n_resamples=how.n_resamples,
        seed=how.seed,
        batch_size=64,
        prompts={dataset: prompt} if prompt else None,
    )
    return scored[dataset]


def run_teachers(rec: Mapping[str, Any], runs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The teachers of silver run ``rec``: those it trained, and those other runs of ``runs`` trained for it (a
    cross-encoder: that run's teacher facts; a twin: the plain run's model, its dev figure and train time)."""
    from benchmarks.augsbert_student_recipes import given_record
    from textsiam.model.model_kind import is_cross_encoder_model

    out = list(rec.get("teachers", []))
    for g in rec.get("teachers_given", []):
        if g["kind"] == "ce":
            src = runs.get(g["from_run"]) or {}
            out += [t for t in src.get("teachers", []) if t["model_dir"] == g["model_dir"]]
            continue
        if g["kind"] == "twin":
            src = runs.get(g["from_run"]) or {}
            dev, metric = src.get("best_dev"), src.get("dev_metric")
        else:  # trained elsewhere: its dev figure of this dataset, from its own record
            src = given_record(g["model_dir"])
            metric, dev = task_dev(src, rec["dataset"])
        kind = "cross_encoder" if is_cross_encoder_model(g["model_dir"]) else "siamese"
        fact = {"index": None, "from_run": g["from_run"], "kind": kind, "model_dir": g["model_dir"]}
        fact.update(weights_digest=None, settings={}, dev_metric=metric, dev=dev)
        out.append({**fact, "train_wall_time_s": src.get("train_wall_time_s")})
    return out


def task_dev(record: Mapping[str, Any], dataset: str) -> tuple[str | None, float | None]:
    """``(metric, value)`` of ``dataset`` at a run's chosen checkpoint: the dev evaluation with the best
    ``best_dev`` of a multi-task record (its ``DATASET_METRIC`` entry), else its own ``best_dev``."""
    history, best = record.get("dev_history") or [], record.get("best_dev")
    chosen = [h for h in history if best is not None and h.get(record.get("dev_metric")) == best]
    for key, value in (chosen[-1] if chosen else {}).items():
        if key.startswith(f"{dataset}_"):
            return key.removeprefix(f"{dataset}_"), value
    return record.get("dev_metric"), best


def score_teachers(dataset: str, runs: Mapping[str, Any], how: Scoring) -> list[dict[str, Any]]:
    """Every teacher candidate of ``dataset`` (trained in its silver runs of the recipe's seed), once per weights (a
    teacher of the same recipe trained in several runs): its dev figure (from its run) and test figures."""
    from benchmarks.augsbert_cross_encoder_report import score_model
    from textsiam import CrossEncoder

    seen: dict[str, dict[str, Any]] = {}
    for name, rec in runs.items():
        for t in run_teachers(rec, runs) if rec and rec["dataset"] == dataset and rec.get("seed") is None else []:
            key = t.get("weights_digest") or t["model_dir"]
            if key in seen:
                seen[key]["runs"].append(name)
                continue
            label = f"{name}/teachers/{t['index']}" if t["index"] is not None else f"{t['from_run']} (given)"
            logger.info("=== test: teacher %s (%s)", label, t["kind"])
            if t["kind"] == "cross_encoder":
                model = CrossEncoder(t["model_dir"], device="cpu")
                sc = score_model(model, label, dataset, how.pairs[dataset], how.data_dir, how.n_resamples, how.seed)
                figs = figures(dataset, sc, "cross_encoder_")
            else:
                figs = figures(dataset, score_twin(t["model_dir"], "textsiam", label, dataset, how))
            settings = ", ".join(f"{k} {v:g}" for k, v in t["settings"].items() if k in ("epochs", "learning_rate"))
            seen[key] = {k: t.get(k) for k in ("kind", "dev_metric", "dev", "train_wall_time_s", "model_dir")}
            seen[key].update(runs=[name], settings=settings, test=figs)
    for name, rec in runs.items():  # each ensemble as one candidate: as it labelled the silver pairs
        members = run_teachers(rec, runs) if rec and rec["dataset"] == dataset and rec.get("seed") is None else []
        key = " + ".join(t.get("weights_digest") or t["model_dir"] for t in members)
        if len(members) < 2:
            continue
        if key in seen:
            seen[key]["runs"].append(name)
            continue
        seen[key] = score_ensemble(dataset, name, rec, [t["model_dir"] for t in members], how)
    return list(seen.values())


def score_ensemble(
    dataset: str, name: str, rec: Mapping[str, Any], model_dirs: list[str], how: Scoring
) -> dict[str, Any]:
    """The teacher candidate of run ``name``'s ensemble (``benchmarks.augsbert_teacher_ensemble``), fitted on the
    run's gold training pairs (its ``max_train_pairs`` subsample): its dev figure (the dev split, a classification
    threshold chosen on those pairs, as the runs' dev metric does) and test figures."""
    from benchmarks.augsbert_cross_encoder_report import score_model
    from benchmarks.augsbert_teacher_ensemble import EnsembleTeacher
    from textsiam.data import load_pairs
    from textsiam.training.examples import subsample

    config = rec.get("config") or {}
    gold = subsample(load_pairs(dataset, "train", how.data_dir), config.get("max_train_pairs"), config.get("seed", 42))
    logger.info("=== test: the ensemble of %s (%d teachers)", name, len(model_dirs))
    model = EnsembleTeacher(
        model_dirs,
        (gold["text_a"], gold["text_b"], gold["label"]),
        mapping=config.get("silver_mapping", "isotonic"),
        prompt_name=config.get("silver_prompt_name"),
        seed=config.get("seed", 42),
    )
    label = f"{name} ensemble"
    dev_pairs = {"test": load_pairs(dataset, "dev", how.data_dir), "dev": None}
    dev = figures(dataset, score_model(model, label, dataset, dev_pairs, how.data_dir, 0, how.seed), "cross_encoder_")
    sc = score_model(model, label, dataset, how.pairs[dataset], how.data_dir, how.n_resamples, how.seed)
    out = {"kind": f"ensemble of {len(model_dirs)}", "dev_metric": PRIMARY[dataset], "model_dir": model.name_or_path}
    out.update(dev=dev[PRIMARY[dataset]]["value"], train_wall_time_s=None, runs=[name], settings="mapped mean")
    return {**out, "test": figures(dataset, sc, "cross_encoder_")}


def analyse(dataset: str, student: str | None, scored: Mapping[str, Any], how: Scoring) -> dict[str, Any]:
    """One dataset's test figures and paired bootstraps, from the scored models (``{run name: Scored}``) and the
    student chosen on dev: the student against ``D_st_plain`` and ``D_plain`` on every metric, and, where seed runs
    (``NAME_seedN``) were scored, the student's recipe against ST plain over the seeds."""
    st, plain = f"{dataset}_st_plain", f"{dataset}_plain"
    roles = {n: "student (dev choice)" if n == student else ("seed run" if "_seed" in n else "") for n in scored}
    comps = []
    for against, other in (("st_plain", st), ("plain", plain)):
        if student in scored and other in scored:
            pair = ((other, scored[other]), (student, scored[student]))
            comps += compare(dataset, against, *pair, how.n_resamples, how.seed)
    mine = {n: s for n, s in scored.items() if student and (n == student or n.startswith(f"{student}_seed"))}
    theirs = {n: s for n, s in scored.items() if n == st or n.startswith(f"{st}_seed")}
    several = mine and theirs and len(mine) + len(theirs) > 2
    return {
        "test": {name: figures(dataset, s) for name, s in scored.items()},
        "roles": roles,
        "comparisons": comps,
        "seed_comparisons": pooled(dataset, theirs, mine, how.n_resamples, how.seed) if several else [],
    }


# ---------------------------------------------------------------------------------------------- goals
def _primary(comps: Sequence[Mapping[str, Any]], dataset: str) -> Mapping[str, Any] | None:
    return next((c for c in comps if c["against"] == "st_plain" and c["metric"] == PRIMARY[dataset]), None)


def beats_st_goal(comps: Mapping[str, Sequence[Mapping[str, Any]]], goal_id: str, how: str) -> dict[str, Any]:
    """The student beats sentence-transformers' plain recipe on the primary metric (difference > 0, p < α) on at
    least two of the three datasets, and is not significantly worse (difference < 0 with p < α) on the third.
    ``comps``: ``{dataset: comparisons}``; ``met`` is None while a dataset not compared could still decide it."""
    checks, beats, worse, unknown = [], 0, 0, 0
    for dataset in DATASETS:
        comp = _primary(comps.get(dataset) or [], dataset)
        label = dict(metrics_of(dataset))[PRIMARY[dataset]]
        if comp is None:
            unknown += 1
            checks.append({"what": f"{label}: student − ST plain", "met": None, "detail": "not run"})
            continue
        significant = comp["p_value"] < ALPHA
        won, lost = significant and comp["difference"] > 0, significant and comp["difference"] < 0
        beats, worse = beats + won, worse + lost
        verdict = "beats" if won else ("significantly worse" if lost else "no significant difference")
        extra = f" ({len(comp['runs_b'])} vs {len(comp['runs_a'])} runs)" if "runs_b" in comp else ""
        detail = f"{verdict}: {diff_text(comp)}{extra}"
        checks.append({"what": f"{label}: student − ST plain", "met": bool(won), "detail": detail})
    need = 2
    if worse or beats + unknown < need:
        met: bool | None = False
    elif unknown:
        met = None
    else:
        met = beats >= need
    goal = (
        f"the student beats ST's plain recipe ({how}) with p < {ALPHA} on at least {need} of STS-B, Quora and MRPC, "
        "and is not significantly worse on the third (primary metrics: STS-B ρ, Quora accuracy, MRPC accuracy)"
    )
    return {"id": goal_id, "goal": goal, "met": met, "beats": beats, "checks": checks}


def time_goal(selection: Mapping[str, Mapping[str, Any]], runs: Mapping[str, Any]) -> dict[str, Any]:
    """Each dataset's chosen teacher-student recipe (teacher training, labelling, student, final dev evaluation)
    ran in under :data:`TIME_LIMIT_S` of wall time."""
    checks = []
    for dataset, sel in selection.items():
        rec = runs.get(sel.get("run") or "") if sel.get("run") else None
        met, detail = None, "no student chosen"
        if rec is not None and rec.get("run_wall_s") is not None:
            wall, cpu = rec.get("recipe_wall_s", rec["run_wall_s"]), rec.get("recipe_cpu_s", rec["run_cpu_s"])
            if wall is None:
                detail = "the time its given teachers took is not known"
            else:
                met = bool(wall < TIME_LIMIT_S)
                detail = f"{wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU"
            if rec.get("teachers_given"):
                detail += " (with the teachers other runs trained: " + given_text(rec["teachers_given"]) + ")"
        checks.append({"what": f"{dataset}: {sel.get('run') or '–'}", "met": met, "detail": detail})
    goal = f"a full teacher-student recipe for one dataset runs in under {TIME_LIMIT_S / 3600:g} hours of wall time"
    return {
        "id": "under_two_hours",
        "goal": goal + " (each dataset's chosen one)",
        "met": all_met(checks),
        "checks": checks,
    }


def given_text(given: Sequence[Mapping[str, Any]]) -> str:
    """The teachers other runs trained for a run: kind, run, and the time it took."""

    def took(g: Mapping[str, Any]) -> str:
        return "time not known" if g["wall_s"] is None else f"{g['wall_s'] / 60:.1f} min"

    return ", ".join(f"{g['kind']} from {g['from_run']}, {took(g)}" for g in given)


def goals(
    comps: Mapping[str, Sequence[Mapping[str, Any]]],
    seed_comps: Mapping[str, Sequence[Mapping[str, Any]]],
    selection: Mapping[str, Mapping[str, Any]],
    runs: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The issue's goals from the numbers: the student against ST's plain recipe (single runs; and over seeds,
    where seeds were run), and the wall time of the chosen recipes."""
    out = [beats_st_goal(comps, "beats_st_plain", "one run each")]
    if any(seed_comps.values()):
        out.append(beats_st_goal(seed_comps, "beats_st_plain_over_seeds", "over seeds"))
    return [*out, time_goal(selection, runs)]
