"""``python -m benchmarks.augsbert_student``: the run plan and the recipes, the dev-only choice of the student, the
goals from hand-made numbers, and a smoke run (textsiam plain, a silver variant with both teachers, ST plain, and a
second seed of the comparison, on MRPC with a tiny model) through the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from textsiam.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_student")


@pytest.fixture
def report(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_student_report")


@pytest.fixture
def recipes(import_benchmark: Any) -> Any:
    return import_benchmark("augsbert_student_recipes")


def test_run_plan(recipes: Any, bench: Any, report: Any) -> None:
    import yaml

    assert len(set(recipes.RUN_NAMES)) == len(recipes.RUN_NAMES) == len(recipes.DATASETS) * (2 + len(recipes.VARIANTS))
    assert len(set(recipes.VARIANT_NAMES)) == len(recipes.VARIANTS) and recipes.DATASETS == report.DATASETS
    for variant in recipes.VARIANTS:
        kinds = {recipes.teacher_kind(kind)[0] for kind in variant.teachers}
        assert variant.teachers and kinds <= set(recipes.TEACHER_KINDS), variant
    for dataset in recipes.DATASETS:
        config = yaml.safe_load((recipes.CONFIGS / recipes.PLAIN[dataset][0]).read_text(encoding="utf-8"))
        assert config["train_dataset"] == config["dev_dataset"] == dataset and config["seed"] == recipes.RECIPE_SEED
        names = [f"{dataset}_plain", f"{dataset}_st_plain", *(f"{dataset}_silver_{v}" for v in recipes.VARIANT_NAMES)]
        assert set(names) <= set(recipes.RUN_NAMES)
        assert report.PRIMARY[dataset] in dict(report.metrics_of(dataset))
    assert recipes.Run("mrpc", "textsiam", "ce", 3).name == "mrpc_silver_ce_seed3"
    assert recipes.Run("mrpc", "st", None, 3).base == "mrpc_st_plain"
    args = bench.parse_args(["--work-dir", "w", "--only", "stsb_silver_ce", "quora", "--variants", "ce", "twin"])
    picked = [r.name for r in recipes.base_runs() if bench.selected(r, args)]
    assert picked == ["stsb_silver_ce", "quora_plain", "quora_silver_ce", "quora_silver_twin", "quora_st_plain"]
    assert bench.selected(recipes.Run("stsb", "textsiam", "ce", 1), args)  # a seed run goes with its base run
    assert not bench.selected(recipes.Run("stsb", "st", None, 1), args)
    # every silver run samples by BM25 and embedding neighbours, every pair, whatever the config's defaults
    silver = recipes.recipe(recipes.Run("mrpc", "textsiam", "twin"), bench.parse_args(["--work-dir", "w"]))[0]
    assert silver.silver_strategies == ["bm25", "nn"] and silver.silver_max_pairs is None
    given = bench.parse_args(["--work-dir", "w", "--given-teachers", "t", "--set", "silver_strategies=[nn]"])
    assert recipes.recipe(recipes.Run("mrpc", "textsiam", "given"), given)[0].silver_strategies == ["nn"]


def test_a_plain_run_of_another_seed_trains_alone(
    recipes: Any, bench: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--only D_plain_seedN`` trains that plain run only (a twin+K teacher, beside other runs); the source of the
    twin+1 teacher of the recipe's seed is that run."""
    assert recipes.plain_seed_run("stsb_plain_seed43") == recipes.Run("stsb", "textsiam", None, 43)
    assert recipes.plain_seed_run("sick_plain_seed43") is None and recipes.plain_seed_run("stsb_plain") is None
    assert recipes.teacher_source("twin+1", recipes.Run("stsb", "textsiam", "twin_seeds")).name == "stsb_plain_seed43"
    trained: list[tuple[str, str]] = []
    monkeypatch.setattr(bench, "train_one", lambda run, args: trained.append((run.name, run.side)))
    args = bench.parse_args(["--work-dir", str(tmp_path), "--only", "stsb_plain_seed43", "mrpc_plain_seed44"])
    assert [r.name for r in recipes.base_runs() if bench.selected(r, args)] == []
    bench.train_runs(args, "textsiam")
    bench.train_runs(args, "st")
    assert trained == [("stsb_plain_seed43", "textsiam"), ("mrpc_plain_seed44", "textsiam")]
    for bad in ("stsb_plain_seed42", "stsb_plain_seedx"):
        with pytest.raises(SystemExit, match="2"):
            bench.parse_args(["--work-dir", "w", "--only", bad])
        assert f"invalid choice: {bad!r}" in capsys.readouterr().err


def test_the_given_variant_needs_its_teachers(recipes: Any, bench: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.parse_args(["--work-dir", "w"]).variants == list(recipes.DEFAULT_VARIANTS) == ["ce", "twin", "ce_twin"]
    args = bench.parse_args(["--work-dir", "w", "--given-teachers", "mt/model"])
    assert args.variants == ["ce", "twin", "ce_twin", "given"] and args.given_teachers == [Path("mt/model")]
    with pytest.raises(SystemExit, match="2"):
        bench.parse_args(["--work-dir", "w", "--variants", "given"])
    assert "--variants given: name its teachers with --given-teachers" in capsys.readouterr().err


def test_recipe_of_the_given_variant(recipes: Any, bench: Any, report: Any, tmp_path: Path) -> None:
    multitask = tmp_path / "mt" / "all4" / "model"  # as benchmarks.finetune_multitask leaves it
    multitask.mkdir(parents=True)
    prompts = {"mrpc": "paraphrase: ", "quora": "duplicate question: "}
    (multitask / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}), encoding="utf-8")
    history = [
        {"step": 1, "mean_dev": 80.0, "mrpc_cosine_accuracy": 79.0},
        {"step": 2, "mean_dev": 84.0, "mrpc_cosine_accuracy": 81.5},
        {"step": 3, "mean_dev": 83.0, "mrpc_cosine_accuracy": 83.0},
    ]
    record = {"name": "all4", "train_wall_time_s": 3000.0, "dev_metric": "mean_dev", "best_dev": 84.0}
    (tmp_path / "mt" / "all4.json").write_text(json.dumps({**record, "dev_history": history}), encoding="utf-8")
    other = tmp_path / "other, with a comma"  # a folder without a record or prompts
    other.mkdir()
    argv = ["--work-dir", str(tmp_path / "w"), "--smoke", "--given-teachers", str(multitask), str(other)]
    args = bench.parse_args(argv)
    config, overrides, facts = recipes.recipe(recipes.Run("mrpc", "textsiam", "given"), args)
    assert config.silver_teacher == [str(multitask), str(other)] and config.silver_prompt_name == "mrpc"
    assert config.output_dir == str(tmp_path / "w" / "mrpc_silver_given")
    assert facts["teacher_settings"] == [f"given: {multitask} (prompt 'mrpc')", f"given: {other}"]
    assert [(g["from_run"], g["wall_s"], g["cpu_s"]) for g in facts["teachers_given"]] == [
        ("all4", 3000.0, 3000.0),
        (str(other), None, None),
    ]
    config.validate()
    stsb = recipes.recipe(recipes.Run("stsb", "textsiam", "given"), args)[0]
    assert stsb.silver_prompt_name is None and stsb.silver_teacher == [str(multitask), str(other)]  # no stsb prompt
    one = bench.parse_args([*argv[:-1]])  # the multi-task model alone
    assert recipes.recipe(recipes.Run("mrpc", "textsiam", "given"), one)[0].silver_teacher == [str(multitask)]
    assert report.task_dev({**record, "dev_history": history}, "mrpc") == ("cosine_accuracy", 81.5)  # dev's choice
    assert report.task_dev({"dev_metric": "cosine_spearman", "best_dev": 87.0}, "stsb") == ("cosine_spearman", 87.0)
    run = {"run_wall_s": 100.0, "run_cpu_s": 90.0, "recipe_wall_s": None, "recipe_cpu_s": None}
    run["teachers_given"] = facts["teachers_given"]
    (check,) = report.time_goal({"mrpc": {"run": "mrpc_silver_given"}}, {"mrpc_silver_given": run})["checks"]
    assert check["met"] is None and check["detail"].startswith("the time its given teachers took is not known")
    assert "given from all4, 50.0 min, given from " in check["detail"]


def test_seeds_refuse_the_recipes_own(bench: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.parse_args(["--work-dir", "w", "--seeds", "1", "2"]).seeds == [1, 2]
    with pytest.raises(SystemExit, match="2"):
        bench.parse_args(["--work-dir", "w", "--seeds", "1", "42"])
    assert "42 is the recipe's own seed" in capsys.readouterr().err


def test_recipes_of_the_runs(recipes: Any, bench: Any, tmp_path: Path) -> None:
    chosen = {
        "settings": {"smoke": False},
        "selection": {"mrpc": {"chosen": 1, "rows": [{}, {"lr": 5e-5, "epochs": 2}]}},
    }
    ce_file = tmp_path / "cross_encoder.json"
    ce_file.write_text(json.dumps(chosen), encoding="utf-8")
    argv = ["--work-dir", str(tmp_path), "--smoke", "--ce-results", str(ce_file), "--max-steps", "3"]
    args = bench.parse_args([*argv, "--set", "silver_max_pairs=100", "batch_size=8"])
    config, overrides, facts = recipes.recipe(recipes.Run("mrpc", "textsiam", "ce_twin", 7), args)
    ce, twin = config.silver_teacher
    assert ce["train"]["model_type"] == "cross_encoder" and ce["train"]["loss"] == "binary_cross_entropy"
    assert (ce["train"]["epochs"], ce["train"]["learning_rate"]) == (2.0, 5e-5) and ce["train"]["max_steps"] == 3
    assert twin["train"]["model_type"] == "siamese" and twin["train"]["loss"] == "online_contrastive"
    assert twin["train"]["learning_rate"] == 5e-5 and twin["train"]["batch_size"] == 8  # the plain recipe's
    assert twin["train"]["loss_kwargs"] == {"distance": "cosine", "margin": 0.5}
    assert config.silver_max_pairs == 100 and config.seed == 7 and config.learning_rate == 5e-5
    assert config.output_dir == str(tmp_path / "mrpc_silver_ce_twin_seed7") and config.test_datasets == []
    assert facts["ce_setting"]["source"].startswith("chosen on dev") and overrides[-1] == "silver_max_pairs=100"
    config.validate()
    plain, overrides, facts = recipes.recipe(recipes.Run("stsb", "textsiam"), args)
    untouched = TrainConfig().silver_max_pairs  # the field's default: silver_* settings are not for it
    assert plain.silver_teacher is None and plain.silver_max_pairs == untouched != 100 and facts == {}
    assert "batch_size=8" in overrides and not any(o.startswith("silver_") for o in overrides)
    plain.validate()
    default = recipes.ce_setting("stsb", ce_file)  # no choice for STS-B in the file
    assert (default["epochs"], default["learning_rate"]) == (1.0, 2e-5) and default["source"].startswith("default")
    chosen["settings"]["smoke"] = True
    ce_file.write_text(json.dumps(chosen), encoding="utf-8")
    assert recipes.ce_setting("mrpc", ce_file)["source"].startswith("default")  # a smoke run chose nothing
    with pytest.raises(ValueError, match="unknown teacher 'bm25'"):
        recipes.teacher_entry("bm25", plain, default)


def test_an_ensemble_of_twin_teachers_trained_with_other_seeds(recipes: Any, bench: Any, tmp_path: Path) -> None:
    args = bench.parse_args(["--work-dir", str(tmp_path), "--ce-results", "none.json", "--max-steps", "3"])
    config, _, facts = recipes.recipe(recipes.Run("stsb", "textsiam", "twin_seeds"), args)
    assert [t["train"].get("seed") for t in config.silver_teacher] == [None, 43, 44]  # None: the run's, 42
    assert all(t["train"]["loss"] == "cosent" for t in config.silver_teacher) and facts["teachers_given"] == []
    config.validate()
    seeded = recipes.recipe(recipes.Run("stsb", "textsiam", "twin_seeds", 7), args)[0]
    assert seeded.seed == 7 and [t["train"].get("seed") for t in seeded.silver_teacher] == [None, 8, 9]
    # the plain run of seed 43, when there is one, is the second teacher
    source = recipes.teacher_source("twin+1", recipes.Run("stsb", "textsiam", "twin_seeds"))
    assert source.name == "stsb_plain_seed43"
    model = tmp_path / "stsb_plain_seed43" / "model"
    model.mkdir(parents=True)
    record = {"overrides": recipes.plain_overrides(source, args), "model_dir": str(model)}
    (tmp_path / "stsb_plain_seed43.json").write_text(
        json.dumps({**record, "run_wall_s": 9.0, "run_cpu_s": 8.0}), "utf-8"
    )
    config, _, facts = recipes.recipe(recipes.Run("stsb", "textsiam", "twin_seeds"), args)
    assert config.silver_teacher[1] == str(model) and config.silver_teacher[2]["train"]["seed"] == 44
    assert [(g["kind"], g["from_run"]) for g in facts["teachers_given"]] == [("twin+1", "stsb_plain_seed43")]
    for bad in ("ce+1", "twin+0", "twin+x"):
        with pytest.raises(ValueError, match=re.escape(f"unknown teacher {bad!r}: only twin takes")):
            recipes.teacher_kind(bad)


def test_teachers_trained_by_other_runs_are_reused(recipes: Any, bench: Any, tmp_path: Path) -> None:
    argv = ["--work-dir", str(tmp_path), "--smoke", "--ce-results", "none.json", "--max-steps", "3"]
    args = bench.parse_args(argv)
    run = recipes.Run("mrpc", "textsiam", "ce_twin")
    assert recipes.recipe(run, args)[2]["teachers_given"] == []  # nothing trained yet: both train in the run
    plain_model, ce_model = tmp_path / "mrpc_plain" / "model", tmp_path / "ce" / "model"
    plain_model.mkdir(parents=True)
    ce_model.mkdir(parents=True)
    plain = recipes.Run("mrpc", "textsiam")
    times = {"run_wall_s": 600.0, "run_cpu_s": 590.0}
    record = {"overrides": recipes.plain_overrides(plain, args), "model_dir": str(plain_model), **times}
    (tmp_path / "mrpc_plain.json").write_text(json.dumps(record), encoding="utf-8")
    config, _, facts = recipes.recipe(run, args)
    assert config.silver_teacher[1] == str(plain_model) and "train" in config.silver_teacher[0]
    assert facts["teachers_given"] == [
        {"kind": "twin", "from_run": "mrpc_plain", "model_dir": str(plain_model), "wall_s": 600.0, "cpu_s": 590.0}
    ]
    assert "(the one mrpc_plain trained: " in facts["teacher_settings"][1]
    twin = recipes.recipe(recipes.Run("mrpc", "textsiam", "twin"), args)[0]  # one reused teacher: its path as it is
    assert twin.silver_teacher == [str(plain_model)]
    ce_entry = config.silver_teacher[0]["train"]
    ce_fact = {"kind": "cross_encoder", "model_dir": str(ce_model), "train_wall_time_s": 120.0}
    ce_record = {**record, "model_dir": str(ce_model), "teachers": [{**ce_fact, "settings": {**ce_entry, "epochs": 9}}]}
    ce_record["overrides"] = [*recipes.plain_overrides(recipes.Run("mrpc", "textsiam", "ce"), args), "silver_teacher=x"]
    (tmp_path / "mrpc_silver_ce.json").write_text(json.dumps(ce_record), encoding="utf-8")
    assert len(recipes.recipe(run, args)[2]["teachers_given"]) == 1  # another cross-encoder recipe: trained here
    ce_record["teachers"][0]["settings"] = ce_entry
    (tmp_path / "mrpc_silver_ce.json").write_text(json.dumps(ce_record), encoding="utf-8")
    config, _, facts = recipes.recipe(run, args)
    assert config.silver_teacher == [str(ce_model), str(plain_model)]
    assert [(g["kind"], g["from_run"], g["wall_s"]) for g in facts["teachers_given"]] == [
        ("ce", "mrpc_silver_ce", 120.0),
        ("twin", "mrpc_plain", 600.0),
    ]
    config.validate()
    assert recipes.recipe(recipes.Run("mrpc", "textsiam", "ce_twin", 1), args)[2]["teachers_given"] == []  # seed 1
    assert recipes.recipe(recipes.Run("mrpc", "textsiam", "ce"), args)[2]["teachers_given"] == []  # its own teacher
    other = bench.parse_args([*argv, "--set", "batch_size=8"])  # the plain run had another recipe
    assert recipes.recipe(run, other)[2]["teachers_given"] == []
    assert recipes.recipe(run, bench.parse_args([*argv, "--train-teachers"]))[2]["teachers_given"] == []
    with pytest.raises(ValueError, match="unknown teacher 'given' to train"):
        recipes.teacher_source("given", run)


def _scored(report: Any, gold: np.ndarray, scores: np.ndarray) -> Any:
    """A Scored STS-B model whose figures are the Spearman of ``scores``."""
    from benchmarks.finetune_multitask_report import Scored
    from textsiam.evaluation.correlation import spearman

    record = {"n_pairs": len(gold), "metrics": {"cosine_spearman": spearman(scores, gold)}, "ci": {}}
    return Scored(record, gold, scores)


def test_the_student_is_chosen_on_dev_only(report: Any) -> None:
    def rec(name: str, dev: float | None) -> dict[str, Any] | None:
        return None if dev is None else {"name": name, "best_dev": dev, "dev_metric": "cosine_spearman"}

    runs = {"ce": rec("stsb_silver_ce", 86.0), "twin": rec("stsb_silver_twin", 85.0), "ce_twin": None}
    sel = report.choose_variant(runs)
    assert (sel["chosen"], sel["run"]) == ("ce", "stsb_silver_ce") and "twin 85.00" in sel["why"]
    assert [r["best_dev"] for r in sel["rows"]] == [86.0, 85.0, None]
    assert report.choose_variant({"ce": rec("a", 80.0), "twin": rec("b", 80.0)})["chosen"] == "ce"  # a tie: first
    assert report.choose_variant({"ce": None})["chosen"] is None

    rng = np.random.default_rng(0)
    gold = rng.uniform(0, 5, 80)
    scored = {  # the twin student is better on test, but dev chose ce: the comparisons are ce's
        "stsb_plain": _scored(report, gold, gold + rng.normal(0, 2.0, 80)),
        "stsb_st_plain": _scored(report, gold, gold + rng.normal(0, 2.0, 80)),
        "stsb_silver_ce": _scored(report, gold, gold + rng.normal(0, 3.0, 80)),
        "stsb_silver_twin": _scored(report, gold, gold + rng.normal(0, 0.1, 80)),
    }
    how = report.Scoring({}, None, 50, 0)
    out = report.analyse("stsb", sel["run"], scored, how)
    assert out["test"]["stsb_silver_twin"]["spearman"]["value"] > out["test"]["stsb_silver_ce"]["spearman"]["value"]
    assert [(c["against"], c["a"], c["b"]) for c in out["comparisons"]] == [
        ("st_plain", "stsb_st_plain", "stsb_silver_ce"),
        ("plain", "stsb_plain", "stsb_silver_ce"),
    ]
    assert out["comparisons"][0]["value_b"] == pytest.approx(out["test"]["stsb_silver_ce"]["spearman"]["value"])
    assert out["roles"]["stsb_silver_ce"] == "student (dev choice)" and out["roles"]["stsb_silver_twin"] == ""
    assert out["seed_comparisons"] == []  # one run per side


def test_a_dev_tie_goes_to_the_steadier_run(report: Any) -> None:
    def rec(name: str, devs: list[float]) -> dict[str, Any]:
        history = [{"step": i, "cosine_accuracy": d} for i, d in enumerate(devs)]
        return {"name": name, "best_dev": max(devs), "dev_metric": "cosine_accuracy", "dev_history": history}

    # MRPC's two runs of 2026-12-06: both best 82.75; the second is steadier over its four evaluations
    twin = rec("mrpc_silver_twin", [80.25, 82.75, 81.5, 82.75])
    matched = rec("mrpc_silver_twin_matched", [82.5, 81.0, 82.75, 82.25])
    sel = report.choose_variant({"twin": twin, "twin_matched": matched})
    assert sel["chosen"] == "twin_matched"
    assert sel["why"].endswith("(twin_matched 82.12, twin 81.81)")
    assert [r["mean_dev"] for r in sel["rows"]] == [81.8125, 82.125]
    # no tie: the best dev decides, however unsteady
    assert report.choose_variant({"twin": rec("a", [70.0, 83.0]), "ce": matched})["chosen"] == "twin"
    assert report.mean_dev({"dev_metric": "cosine_accuracy"}) is None


def _comp(dataset: str, difference: float, p: float, metric: str | None = None) -> dict[str, Any]:
    ci = {"low": difference - 1, "high": difference + 1}
    metric = metric or {"stsb": "spearman", "quora": "accuracy", "mrpc": "accuracy"}[dataset]
    return {"against": "st_plain", "metric": metric, "difference": difference, "ci": ci, "p_value": p}


def test_goals_are_computed_from_the_numbers(report: Any) -> None:
    beat, same, worse = (1.5, 0.01), (-0.4, 0.30), (-1.2, 0.02)
    case = {"stsb": [_comp("stsb", *beat)], "quora": [_comp("quora", *beat)], "mrpc": [_comp("mrpc", *same)]}
    goal = report.beats_st_goal(case, "g", "one run each")
    assert goal["met"] is True and goal["beats"] == 2 and [c["met"] for c in goal["checks"]] == [True, True, False]
    assert "no significant difference" in goal["checks"][2]["detail"]
    case["mrpc"] = [_comp("mrpc", *worse)]  # two wins, but significantly worse on the third
    assert report.beats_st_goal(case, "g", "")["met"] is False
    case["mrpc"] = [_comp("mrpc", *beat, metric="f1")]  # a win on a metric that is not the primary one: not run
    assert report.beats_st_goal(case, "g", "")["met"] is None
    assert (
        report.beats_st_goal({"stsb": [_comp("stsb", *same)], "quora": [_comp("quora", *same)]}, "g", "")["met"]
        is False
    )  # two without a win: the third cannot make two
    assert report.beats_st_goal({}, "g", "")["met"] is None

    runs = {"stsb_silver_ce": {"run_wall_s": 5000.0, "run_cpu_s": 4800.0}, "quora_silver_ce": {"run_wall_s": 8000.0}}
    runs["quora_silver_ce"]["run_cpu_s"] = 7900.0
    sel = {"stsb": {"run": "stsb_silver_ce"}, "quora": {"run": None}}
    assert report.time_goal(sel, runs)["met"] is None  # quora chose nothing
    assert report.time_goal({"stsb": sel["stsb"]}, runs)["met"] is True
    assert report.time_goal({**sel, "quora": {"run": "quora_silver_ce"}}, runs)["met"] is False
    ids = [g["id"] for g in report.goals(case, {"stsb": []}, sel, runs)]
    assert ids == ["beats_st_plain", "under_two_hours"]
    ids = [g["id"] for g in report.goals(case, {"stsb": [_comp("stsb", *beat)]}, sel, runs)]
    assert ids == ["beats_st_plain", "beats_st_plain_over_seeds", "under_two_hours"]


@pytest.mark.slow
def test_smoke_run(
    bench: Any, report: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path, one_torch_thread: None
) -> None:
    work, results = tmp_path / "work", tmp_path / "results"
    argv = ["--work-dir", str(work), "--model", str(tiny_model_dir), "--data-dir", data_dir, "--smoke"]
    argv += ["--results-dir", str(results), "--only", "mrpc", "--variants", "ce_twin", "--ce-results", "none.json"]
    argv += ["--max-train-pairs", "32", "--max-dev-pairs", "30", "--max-steps", "2"]
    argv += ["--max-test-pairs", "60", "--n-resamples", "20"]
    assert bench.main([*argv, "--side", "textsiam"]) is None
    plain, silver = bench.load_record(work, "mrpc_plain"), bench.load_record(work, "mrpc_silver_ce_twin")
    assert plain is not None and silver is not None and "silver" not in plain
    assert silver["silver"]["sizes"]["gold_pairs"] == 32 and silver["silver"]["sizes"]["silver_pairs"] > 0
    assert [t["kind"] for t in silver["teachers"]] == ["cross_encoder"]  # the twin teacher is mrpc_plain's model
    assert silver["config"]["silver_teacher"][1] == plain["model_dir"]
    assert [(g["kind"], g["from_run"]) for g in silver["teachers_given"]] == [("twin", "mrpc_plain")]
    assert silver["recipe_wall_s"] == pytest.approx(silver["run_wall_s"] + plain["run_wall_s"], abs=0.01)
    assert silver["teachers"][0]["dev_metric"] == "cross_encoder_accuracy"
    assert silver["ce_setting"]["source"].startswith("default") and silver["global_step"] == 2
    assert silver["run_cpu_s"] > 0 and silver["run_wall_s"] >= silver["train_wall_time_s"] > 0
    assert silver["teachers_reused"] == []
    (work / "mrpc_silver_ce_twin.json").unlink()  # as if killed after its teachers: a restart reuses them
    assert bench.main([*argv, "--side", "textsiam"]) is None
    again = bench.load_record(work, "mrpc_silver_ce_twin")
    assert again["teachers_reused"] == [0] and again["teachers"] == silver["teachers"]
    mtime = (work / "mrpc_silver_ce_twin.json").stat().st_mtime_ns
    assert bench.main([*argv, "--side", "textsiam", "--seeds", "1"]) is None  # base runs complete: seed 1 only
    assert (work / "mrpc_silver_ce_twin.json").stat().st_mtime_ns == mtime
    seed1 = bench.load_record(work, "mrpc_silver_ce_twin_seed1")
    assert seed1["config"]["seed"] == 1 and seed1["teachers_given"] == []  # no plain run of seed 1: both train
    assert [t["kind"] for t in seed1["teachers"]] == ["cross_encoder", "siamese"] and seed1["teachers"][1]["dev"] > 0
    assert bench.main([*argv, "--side", "st", "--seeds", "1"]) is None
    st = bench.load_record(work, "mrpc_st_plain")
    assert st["dev_metric"] == "cosine_accuracy" and st["global_step"] == 2 and st["run_cpu_s"] > 0

    payload = bench.main([*argv, "--side", "report"])
    saved = json.loads((results / "student_smoke.json").read_text(encoding="utf-8"))
    assert {"date", "command", "machine", "versions", "selection", "test", "comparisons", "goals"} <= set(saved)
    assert saved["selection"]["mrpc"]["run"] == "mrpc_silver_ce_twin" and saved["not_run"] == []
    test = saved["test"]["mrpc"]
    base = ["mrpc_plain", "mrpc_silver_ce_twin", "mrpc_st_plain"]
    assert sorted(test) == sorted([*base, "mrpc_silver_ce_twin_seed1", "mrpc_st_plain_seed1"])
    for figs in test.values():
        assert figs["n_pairs"] == 60
        for metric, _ in report.metrics_of("mrpc"):
            e = figs[metric]
            assert np.isfinite(e["value"]) and e["low"] <= e["value"] <= e["high"], (metric, e)
    comps = saved["comparisons"]["mrpc"]
    assert [(c["against"], c["metric"]) for c in comps] == [
        (a, m) for a in ("st_plain", "plain") for m in ("accuracy", "f1")
    ]
    for c in comps:
        assert (
            c["value_b"] == pytest.approx(test["mrpc_silver_ce_twin"][c["metric"]]["value"]) and 0 <= c["p_value"] <= 1
        )
    (pooled,) = [c for c in saved["seed_comparisons"]["mrpc"] if c["metric"] == "accuracy"]
    assert pooled["runs_b"] == ["mrpc_silver_ce_twin", "mrpc_silver_ce_twin_seed1"] and len(pooled["runs_a"]) == 2
    teachers = saved["teachers"]["mrpc"]
    assert [(t["kind"], t["runs"]) for t in teachers] == [  # the candidates: the seed runs' teachers are not
        ("cross_encoder", ["mrpc_silver_ce_twin"]),
        ("siamese", ["mrpc_silver_ce_twin"]),
        ("ensemble of 2", ["mrpc_silver_ce_twin"]),  # the two as one candidate, as they labelled
    ]
    assert all(np.isfinite(t["test"]["accuracy"]["value"]) and t["dev"] is not None for t in teachers)
    goals = {g["id"]: g for g in saved["goals"]}
    assert goals["beats_st_plain"]["met"] in (None, False) and goals["under_two_hours"]["met"] is True
    assert "beats_st_plain_over_seeds" in goals
    md = (results / "student_smoke.md").read_text(encoding="utf-8")
    assert "**Dev choice of the student**" in md and "**Teacher candidates**" in md and "**Goals**" in md
    assert "| mrpc_silver_ce_twin | student (dev choice) |" in md and "Training commands:" in md
    assert "teachers [0] finished by an earlier attempt: not in its times" in md
    assert "teachers trained by other runs (added to its recipe time" in md and "twin from mrpc_plain" in md
    assert payload is not None and payload["markdown"] in md


@pytest.mark.slow
def test_smoke_run_with_a_given_multi_task_teacher(
    bench: Any, report: Any, tiny_model_dir: Path, data_dir: str, tmp_path: Path, one_torch_thread: None
) -> None:
    from textsiam import SiameseModel

    multitask = tmp_path / "mt" / "all4" / "model"
    SiameseModel.from_pretrained(tiny_model_dir, prompts={"mrpc": "paraphrase: "}).save(multitask)
    history = [{"step": 2, "mean_dev": 70.0, "mrpc_cosine_accuracy": 66.5}]
    record = {"name": "all4", "train_wall_time_s": 30.0, "dev_metric": "mean_dev", "best_dev": 70.0}
    (tmp_path / "mt" / "all4.json").write_text(json.dumps({**record, "dev_history": history}), encoding="utf-8")
    work, results = tmp_path / "work", tmp_path / "results"
    argv = ["--work-dir", str(work), "--model", str(tiny_model_dir), "--data-dir", data_dir, "--smoke"]
    argv += ["--results-dir", str(results), "--only", "mrpc", "--given-teachers", str(multitask)]
    argv += ["--variants", "given", "--max-train-pairs", "32", "--max-dev-pairs", "30", "--max-steps", "2"]
    argv += ["--max-test-pairs", "60", "--n-resamples", "20"]
    assert bench.main([*argv, "--side", "textsiam"]) is None
    silver = bench.load_record(work, "mrpc_silver_given")
    assert [t["prompt_name"] for t in silver["silver"]["teachers"]] == ["mrpc"] and silver["teachers"] == []
    assert silver["recipe_wall_s"] == pytest.approx(silver["run_wall_s"] + 30.0, abs=0.01)
    payload = bench.main([*argv, "--side", "report"])
    assert payload is not None and payload["selection"]["mrpc"]["run"] == "mrpc_silver_given"
    (teacher,) = payload["teachers"]["mrpc"]
    assert (teacher["kind"], teacher["runs"], teacher["dev"]) == ("siamese", ["mrpc_silver_given"], 66.5)
    from benchmarks.augsbert_cross_encoder_report import eval_pairs
    from benchmarks.finetune_multitask_report import score_model

    how = report.Scoring(eval_pairs(data_dir, ["mrpc"], 60, bench.SEED), data_dir, 20, bench.SEED)
    prompted = report.score_twin(str(multitask), "textsiam", "t", "mrpc", how)  # with its mrpc prompt
    assert report.figures("mrpc", prompted)["accuracy"]["value"] == teacher["test"]["accuracy"]["value"]
    one = {"mrpc": how.pairs["mrpc"]}
    bare = score_model(
        SiameseModel.from_pretrained(multitask), "u", one, data_dir, n_resamples=20, seed=42, batch_size=64
    )
    assert np.abs(prompted.scores - bare["mrpc"].scores).max() > 1e-4  # the prompt was used
