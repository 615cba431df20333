"""``benchmarks/common.py``: a complete run of a work folder is reused only with the settings it was trained with.

Before this check, a second command with another ``--set`` or ``--model`` in the same work folder skipped the run
in silence and reported the old one under the new settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def common(import_benchmark: Any) -> Any:
    return import_benchmark("common")


def write_record(work: Path, name: str, config: dict[str, Any]) -> None:
    """A complete run: its record and its model folder."""
    (work / name / "model").mkdir(parents=True)
    record = {"name": name, "model_dir": str(work / name / "model"), "config": config}
    (work / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")


def test_changed_settings_names_each_trained_field(common: Any) -> None:
    record = {"config": {"learning_rate": 2e-5, "silver_teacher": "t", "silver_texts": ["train"], "output_dir": "a"}}
    now = {"learning_rate": 5e-5, "silver_teacher": "t", "silver_texts": ("train", "sick:train"), "output_dir": "b"}
    assert common.changed_settings(record, now) == [
        "learning_rate: recorded 2e-05, now 5e-05",
        "silver_texts: recorded ['train'], now ['train', 'sick:train']",
    ]
    assert common.changed_settings(record, now, ignore=["learning_rate", "silver_texts"]) == []
    # a field the record lacks was added after the run; a record without a config cannot be compared
    assert common.changed_settings({"config": {"epochs": 4}}, {"epochs": 4, "new_field": 1}) == []
    assert common.changed_settings({}, now) == []
    assert {"output_dir", "data_dir", "n_resamples"} <= common.UNTRAINED_FIELDS


def test_the_teacher_settings_of_a_run_without_a_teacher_are_not_compared(common: Any) -> None:
    """A plain run records the silver_* defaults of its day; a later default (silver_max_pairs: all, then 10,000)
    changes nothing it trained, so the run stays complete. A silver run's are compared."""
    plain = {"config": {"epochs": 4, "silver_teacher": None, "silver_max_pairs": None, "silver_strategies": ["nn"]}}
    now = {"epochs": 4, "silver_teacher": None, "silver_max_pairs": 10_000, "silver_strategies": ["bm25"]}
    assert common.changed_settings(plain, now) == []
    assert common.changed_settings(plain, {**now, "epochs": 2}) == ["epochs: recorded 4, now 2"]
    taught = {**now, "silver_teacher": "t"}  # a teacher now and not then: everything counts
    assert common.changed_settings(plain, taught) == [
        "silver_max_pairs: recorded None, now 10000",
        "silver_strategies: recorded ['nn'], now ['bm25']",
        "silver_teacher: recorded None, now 't'",
    ]


def test_complete_record_refuses_a_run_trained_otherwise(common: Any, tmp_path: Path) -> None:
    assert common.complete_record(tmp_path, "run", {"epochs": 1}) is None  # no record: not complete
    write_record(tmp_path, "run", {"epochs": 1, "model": None, "data_dir": "/old/data"})
    same = common.complete_record(tmp_path, "run", {"epochs": 1, "model": None, "data_dir": "/new/data"})
    assert same is not None and same["name"] == "run"
    with pytest.raises(common.ChangedRunError, match=r"run in .* was trained with other settings \(model: recorded"):
        common.complete_record(tmp_path, "run", {"epochs": 1, "model": "/some/model"})


def test_a_cross_encoder_benchmark_run_with_another_model_is_refused(
    import_benchmark: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``augsbert_cross_encoder --model M`` in a work folder whose run started from the default model: exit 2 and a
    message naming the setting, not a silent skip."""
    bench = import_benchmark("augsbert_cross_encoder")
    argv = ["--work-dir", str(tmp_path), "--side", "textsiam", "--only", "mrpc", "--lr", "5e-5", "--epochs", "3"]
    args = bench.parse_args(argv)
    (run,) = bench.runs_of(args, ("textsiam",))
    write_record(tmp_path, run.name, bench.recipe(run, args)[0].to_dict())
    bench.train_runs(args, "textsiam")  # the same settings: skipped, nothing trained
    with pytest.raises(SystemExit, match="^2$") as exit_info:  # exit status 2, as argparse's errors
        bench.main([*argv, "--model", str(tmp_path / "twin")])
    assert exit_info.value.code == 2
    assert f"model: recorded None, now '{tmp_path / 'twin'}'" in caplog.text


def test_the_student_benchmark_compares_the_settings_of_a_complete_run(
    import_benchmark: Any, common: Any, tmp_path: Path
) -> None:
    """A given teacher list is compared; the teacher a ``twin`` variant trains or reuses is not (which one its config
    names depends on the other runs), its other settings are."""
    bench = import_benchmark("augsbert_student")
    recipes = import_benchmark("augsbert_student_recipes")
    work, teachers = tmp_path / "work", [tmp_path / "teacher_a", tmp_path / "teacher_b"]
    for folder in teachers:
        folder.mkdir()
    base = ["--work-dir", str(work), "--side", "textsiam"]
    twin = recipes.Run("mrpc", "textsiam", "twin")
    args = bench.parse_args([*base, "--only", "mrpc_silver_twin", "--variants", "twin"])
    config = recipes.recipe(twin, args)[0].to_dict()
    write_record(work, twin.name, {**config, "silver_teacher": [str(work / "mrpc_plain" / "model")]})
    assert bench.is_complete(twin, args)
    assert not bench.is_complete(twin, bench.parse_args([*base, "--variants", "twin", "--force"]))
    changed = bench.parse_args([*base, "--variants", "twin", "--set", "silver_max_pairs=5000"])
    with pytest.raises(common.ChangedRunError, match=r"silver_max_pairs: recorded None, now 5000"):
        bench.is_complete(twin, changed)

    given = recipes.Run("mrpc", "textsiam", "given")
    one = bench.parse_args([*base, "--variants", "given", "--given-teachers", str(teachers[0])])
    write_record(work, given.name, recipes.recipe(given, one)[0].to_dict())
    assert bench.is_complete(given, one)
    both = bench.parse_args([*base, "--variants", "given", "--given-teachers", *map(str, teachers)])
    with pytest.raises(common.ChangedRunError, match=r"silver_teacher: recorded \['.*teacher_a'\], now \["):
        bench.is_complete(given, both)
