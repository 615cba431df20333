"""A teacher trained inside the recipe (#26): ``silver_teacher: {train: {...}}`` trains a cross-encoder (or a twin
tower) on the gold pairs first, into ``output_dir/teachers/<index>``, and its silver labels train the student; a
repeated, resumed or restarted run reuses (or resumes) the teacher instead of training it again, a teacher of another
recipe is replaced only with ``overwrite``, nothing is written without a run folder, and a bad ``train`` mapping is
refused before anything loads."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

import textsiam
from textsiam.training import ConfigError, TrainConfig, train
from textsiam.training.silver_teachers import resolve_teachers, score_pairs, teacher_kind
from textsiam.training.teacher_run import read_record

from .helpers import make_sts_rows, write_csv

#: A teacher to train: a cross-encoder from the student's model (the tiny BERT), two steps.
TEACHER = {"train": {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-3}}


def _settings(**extra):
    return {"max_steps": 2, "batch_size": 4, "n_resamples": 0, "show_progress": False, "loss": "cosent", **extra}


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _weights(run: Path, index: int = 0) -> Path:
    return run / "teachers" / str(index) / "model" / "model.safetensors"


def test_a_teacher_trained_first_labels_the_silver_pairs(tmp_path, tiny_model_dir):
    rows = make_sts_rows(12, 1)
    run = tmp_path / "run"
    result = textsiam.fit(str(tiny_model_dir), rows, **_settings(silver_teacher=TEACHER, output_dir=run))
    folder = run / "teachers" / "0"
    assert teacher_kind(str(folder / "model")) == "cross_encoder"  # a cross-encoder trained from the student's model
    record = read_record(folder)
    assert record is not None and record["finished"] is True and record["recipe"] == TEACHER
    teacher_config = TrainConfig.from_file(folder / "train_config.yaml")
    assert teacher_config.model_type == "cross_encoder" and teacher_config.model == str(tiny_model_dir)
    assert teacher_config.train_dataset == result.config.train_dataset and teacher_config.max_steps == 2
    assert _json(folder / "train_log.json")  # it trained, through the same trainer as any run
    # the silver set names the trained teacher and fingerprints its files
    silver = _json(run / "silver" / "silver.json")
    (described,) = silver["teachers"]
    assert described["name"] == str(folder / "model") and described["kind"] == "cross_encoder"
    assert described["fingerprint"] == resolve_teachers(str(folder / "model"))[0].fingerprint
    # the raw scores in the store are the trained teacher's scores of the gold pairs, then of the candidates
    candidates = [json.loads(line) for line in (run / "silver" / "candidates.jsonl").read_text().splitlines()[1:]]
    texts_a = [r[0] for r in rows] + [c["text_a"] for c in candidates]
    texts_b = [r[1] for r in rows] + [c["text_b"] for c in candidates]
    (chunk,) = (run / "silver" / "scores").rglob("chunk-*.json")
    stored = np.asarray(_json(chunk)["scores"])
    teacher = textsiam.CrossEncoder(str(folder / "model"))
    np.testing.assert_allclose(stored, score_pairs(teacher, "cross_encoder", texts_a, texts_b, 32), atol=1e-5)
    assert silver["sizes"]["silver_pairs"] == len(candidates) > 0
    assert result.examples.startswith(f"{12 + len(candidates)} pairs")  # the student trained on gold + silver
    saved = yaml.safe_load((run / "train_config.yaml").read_text(encoding="utf-8"))
    assert saved["silver_teacher"] == TEACHER  # the student's recipe still describes the teacher, not its folder


def _count_teacher_runs(monkeypatch, kill_after_step: int | None = None) -> list[str]:
    """Spy on the runs of teachers (``run`` with an output_dir under ``teachers/``): their folders, in order; with
    ``kill_after_step``, a teacher run is interrupted once it has saved the checkpoint of that step."""
    from transformers import TrainerCallback

    import textsiam.training.run as run_module

    original = run_module.run
    runs: list[str] = []

    class Kill(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if kill_after_step is not None and state.global_step >= kill_after_step:
                raise KeyboardInterrupt("killed while training the teacher")

    def spy(config, **kwargs):
        if Path(config.output_dir).parent.name == "teachers":
            runs.append(config.output_dir)
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), Kill()]
        return original(config, **kwargs)

    monkeypatch.setattr(run_module, "run", spy)  # run() hands itself to the silver step, which trains the teachers
    return runs


def test_a_repeated_or_resumed_run_reuses_the_teacher(tmp_path, tiny_model_dir, monkeypatch, caplog):
    rows = make_sts_rows(12, 2)
    run = tmp_path / "run"
    runs = _count_teacher_runs(monkeypatch)
    kwargs = _settings(silver_teacher=TEACHER, output_dir=run, save_total_limit=None)
    textsiam.fit(str(tiny_model_dir), rows, **kwargs)
    assert runs == [str(run / "teachers" / "0")]
    trained = _weights(run).stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="textsiam.training.teacher_run"):
        textsiam.fit(str(tiny_model_dir), rows, overwrite=True, **kwargs)
        textsiam.fit(str(tiny_model_dir), rows, resume=True, **{**kwargs, "max_steps": 3})
    assert len(runs) == 1 and _weights(run).stat().st_mtime_ns == trained  # not trained again
    assert caplog.text.count("silver_teacher: reusing the teacher in") == 2


def test_a_changed_recipe_replaces_the_teacher_only_with_overwrite(tmp_path, tiny_model_dir, monkeypatch, caplog):
    from textsiam.training.run_folder import remove_run_artifacts

    rows = make_sts_rows(12, 3)
    run = tmp_path / "run"
    runs = _count_teacher_runs(monkeypatch)
    textsiam.fit(str(tiny_model_dir), rows, **_settings(silver_teacher=TEACHER, output_dir=run))
    folder = run / "teachers" / "0"
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    before = _json(run / "silver" / "silver.json")["teachers"][0]["fingerprint"]
    trained = _weights(run).stat().st_mtime_ns
    other = {"train": {**TEACHER["train"], "learning_rate": 5e-4}}
    remove_run_artifacts(run)  # what a run killed while labelling leaves: teachers/ and silver/, no checkpoint
    with pytest.raises(FileExistsError, match=r"teachers/0 holds a teacher trained from another recipe.*--overwrite"):
        textsiam.fit(str(tiny_model_dir), rows, **_settings(silver_teacher=other, output_dir=run))
    assert len(runs) == 1 and _weights(run).stat().st_mtime_ns == trained and read_record(folder)["recipe"] == TEACHER
    with caplog.at_level(logging.WARNING):
        textsiam.fit(str(tiny_model_dir), rows, overwrite=True, **_settings(silver_teacher=other, output_dir=run))
    assert "holds a teacher trained from another recipe: training this teacher there" in caplog.text
    assert len(runs) == 2 and read_record(folder)["recipe"] == other and _weights(run).stat().st_mtime_ns != trained
    assert (folder / "notes.txt").is_file()  # not textsiam's: it stays
    assert _json(run / "silver" / "silver.json")["teachers"][0]["fingerprint"] != before  # labelled again
    assert "the teacher differs from the one that labelled the pairs" in caplog.text


def test_a_run_killed_while_labelling_restarts_without_overwrite(tmp_path, tiny_model_dir, monkeypatch, caplog):
    import textsiam.training.silver_labels as silver_labels

    monkeypatch.setattr(silver_labels, "CHUNK_PAIRS", 8)
    original = silver_labels.score_pairs
    scored: list[int] = []
    kill = {"on": True}

    def killed_on_the_second_chunk(model, kind, texts_a, texts_b, batch_size, prompt_name=None):
        if len(scored) == 1 and kill["on"]:
            raise KeyboardInterrupt("killed while labelling")
        scored.append(len(texts_a))
        return original(model, kind, texts_a, texts_b, batch_size, prompt_name)

    monkeypatch.setattr(silver_labels, "score_pairs", killed_on_the_second_chunk)
    runs = _count_teacher_runs(monkeypatch)
    train_file = write_csv(tmp_path / "train.csv", make_sts_rows(12, 4))
    run = tmp_path / "run"
    config = TrainConfig(
        model=str(tiny_model_dir),
        train_dataset=str(train_file),
        dev_dataset=None,
        test_datasets=[],
        loss="cosent",
        max_steps=2,
        batch_size=4,
        n_resamples=0,
        silver_teacher=[TEACHER],
        silver_strategies=["bm25"],
        output_dir=str(run),
    )
    with pytest.raises(KeyboardInterrupt, match="killed while labelling"):
        train(config, show_progress=False)
    assert scored == [8] and len(list((run / "silver").rglob("chunk-*.json"))) == 1
    trained = _weights(run).stat().st_mtime_ns
    kill["on"] = False
    with caplog.at_level(logging.INFO, logger="textsiam"):
        train(config, show_progress=False)  # no overwrite, no resume: the folder holds only the start of the run
    assert "starting over (reusing what fits in silver/, teachers/)" in caplog.text
    assert "silver: reusing 1 of" in caplog.text and "silver_teacher[0]: reusing the teacher" in caplog.text
    assert len(runs) == 1 and _weights(run).stat().st_mtime_ns == trained
    silver = _json(run / "silver" / "silver.json")
    assert sum(scored) == 12 + silver["sizes"]["silver_pairs"]  # every pair scored once
    assert (run / "model").is_dir()


def test_a_run_killed_while_training_its_teacher_resumes_it(tmp_path, tiny_model_dir, monkeypatch, caplog):
    from textsiam.training import latest_checkpoint

    rows = make_sts_rows(12, 5)
    run = tmp_path / "run"
    settings = {"max_steps": 4, "eval_steps": 1, "save_total_limit": None, "logging_steps": 1}
    teacher = {"train": {**TEACHER["train"], **settings}}
    kwargs = _settings(silver_teacher=teacher, output_dir=run)
    _count_teacher_runs(monkeypatch, kill_after_step=2)
    with pytest.raises(KeyboardInterrupt, match="killed while training the teacher"):
        textsiam.fit(str(tiny_model_dir), rows, **kwargs)
    folder = run / "teachers" / "0"
    assert read_record(folder)["finished"] is False and not (folder / "model").exists()
    assert latest_checkpoint(folder / "checkpoints").name == "checkpoint-2"
    first = (folder / "checkpoints" / "checkpoint-2" / "model.safetensors").stat().st_mtime_ns
    monkeypatch.undo()
    runs = _count_teacher_runs(monkeypatch)  # no kill this time
    with caplog.at_level(logging.INFO, logger="textsiam"):
        textsiam.fit(str(tiny_model_dir), rows, **kwargs)  # no overwrite: the folder holds only the run's start
    assert "(resuming it)" in caplog.text and "checkpoint-2" in caplog.text
    assert runs == [str(folder)] and read_record(folder)["finished"] is True
    assert latest_checkpoint(folder / "checkpoints").name == "checkpoint-4"
    assert (folder / "checkpoints" / "checkpoint-2" / "model.safetensors").stat().st_mtime_ns == first  # kept
    assert [e["step"] for e in _json(folder / "train_log.json") if "loss" in e] == [1, 2, 3, 4]


def test_without_output_dir_nothing_is_written(tmp_path, tiny_model_dir, monkeypatch, caplog):
    work, scratch = tmp_path / "work", tmp_path / "scratch"
    work.mkdir()
    scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the teacher trains meanwhile
    with caplog.at_level(logging.INFO, logger="textsiam"):
        result = textsiam.fit(str(tiny_model_dir), make_sts_rows(12, 6), **_settings(silver_teacher=TEACHER))
    assert f"training a cross-encoder teacher on the gold pairs into {scratch}" in caplog.text
    assert f"silver teacher: {scratch}" in caplog.text  # the trained teacher labelled the pairs from there
    assert "silver: training on 12 gold +" in caplog.text and result.output_dir is None
    assert list(work.iterdir()) == [] and list(scratch.iterdir()) == []


def test_an_ensemble_of_a_twin_tower_trained_first_and_a_given_cross_encoder(
    tmp_path, tiny_model_dir, default_tokenizer
):
    from cross_encoders import make_tiny_cross_encoder

    ce_dir = tmp_path / "ce"
    make_tiny_cross_encoder(default_tokenizer, seed=1).save(ce_dir)
    run = tmp_path / "run"
    tower = {"train": {"model_type": "siamese", "loss": "cosine_similarity", "max_steps": 2, "batch_size": 4}}
    student = textsiam.SiameseModel.from_pretrained(str(tiny_model_dir))  # in hand: its folder starts the teacher
    textsiam.fit(student, make_sts_rows(12, 7), **_settings(silver_teacher=[str(ce_dir), tower], output_dir=run))
    silver = _json(run / "silver" / "silver.json")
    assert [t["kind"] for t in silver["teachers"]] == ["cross_encoder", "siamese"]
    assert [t["name"] for t in silver["teachers"]] == [str(ce_dir), str(run / "teachers" / "1" / "model")]
    teacher_config = TrainConfig.from_file(run / "teachers" / "1" / "train_config.yaml")
    assert teacher_config.model == str(tiny_model_dir) and teacher_config.loss == "cosine_similarity"
    assert not (run / "teachers" / "0").exists()


BAD_TEACHERS = [
    ({"train": {"epoch": 3}}, r"silver_teacher\.train: unknown key 'epoch' \(did you mean epochs\?\)"),
    ({"train": {"train_dataset": "x.csv"}}, r"silver_teacher\.train\.train_dataset: the teacher trains on the run's"),
    ({"train": {"dev_dataset": None}}, r"silver_teacher\.train\.dev_dataset: the teacher trains on the run's"),
    ({"train": {"silver_per_text": 2}}, r"silver_teacher\.train\.silver_per_text: a teacher trained first gets no"),
    ({"train": {"output_dir": "elsewhere"}}, r"silver_teacher\.train\.output_dir: a teacher trains into output_dir/"),
    ({"train": {"epochs": "many"}}, r"silver_teacher\.train\.epochs: expected a number, got 'many'"),
    ({"train": {"loss": "cosent"}}, r"silver_teacher\.train: loss 'cosent' trains a twin tower .* cross_encoder"),
    ({"train": {"pooling": "cls"}}, r"silver_teacher\.train: pooling: setting\(s\) of a twin tower"),
    ({"train": {"learning_rate": -1}}, r"silver_teacher\.train: learning_rate must be > 0, got -1"),
    ({"train": {"model_type": "lstm"}}, r"silver_teacher\.train: unknown model_type 'lstm'"),
    ({"train": 3}, r"silver_teacher\.train: expected a mapping of training settings"),
    (
        {"trian": {}},
        r"silver_teacher: a teacher to train first is \{train: \{settings\}\}.*unknown key\(s\) \['trian'\]",
    ),
]


@pytest.mark.parametrize(("teacher", "message"), BAD_TEACHERS, ids=[m[:40] for _, m in BAD_TEACHERS])
def test_a_bad_teacher_recipe_is_refused_before_anything_loads(tiny_model_dir, monkeypatch, teacher, message):
    def no_data(*args, **kwargs):
        raise AssertionError("the data were loaded before the config was checked")

    monkeypatch.setattr("textsiam.training.run.load_tasks", no_data)
    with pytest.raises(ConfigError, match=message):
        textsiam.fit(str(tiny_model_dir), make_sts_rows(8, 8), **_settings(silver_teacher=teacher))
    indexed = message.replace(r"silver_teacher", r"silver_teacher\[1\]", 1)
    with pytest.raises(ConfigError, match=indexed):  # in a list: named by its index
        TrainConfig(silver_teacher=["some/teacher", teacher], loss="cosent").validate()


def test_a_recipe_reads_teachers_to_train_from_yaml_and_set(tmp_path, sts_files):
    train_file, dev_file = sts_files
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"train_dataset: {train_file}\n"
        f"dev_dataset: {dev_file}\n"
        "loss: cosent\n"
        "silver_teacher:\n"
        "  - train: {model_type: cross_encoder, epochs: 3, learning_rate: 5.0e-5}\n"
        "  - runs/my_other_teacher\n",
        encoding="utf-8",
    )
    config = TrainConfig.from_file(recipe).validate()
    assert config.silver_teacher == [
        {"train": {"model_type": "cross_encoder", "epochs": 3, "learning_rate": 5.0e-5}},
        "runs/my_other_teacher",
    ]
    saved = config.to_file(tmp_path / "saved.yaml")
    assert TrainConfig.from_file(saved).silver_teacher == config.silver_teacher  # written and read back
    single = config.with_overrides(["silver_teacher={train: {epochs: 2}}", "silver_teacher.train.lr=1e-4"])
    assert single.silver_teacher == {"train": {"epochs": 2, "lr": 1e-4}}
    single.validate()
    with pytest.raises(ConfigError, match=r"silver_teacher\.train\.seed: the run subsamples the gold pairs"):
        single.with_overrides(["silver_teacher.train.seed=7", "max_train_pairs=10"]).validate()


def test_a_dev_evaluator_given_from_python_picks_the_students_checkpoints_too(tmp_path, tiny_model_dir):
    from textsiam.evaluation import STSEvaluator

    rows = make_sts_rows(30, 9)
    dev = {"sentence1": [r[0] for r in rows], "sentence2": [r[1] for r in rows], "score": [r[2] for r in rows]}
    evaluator = STSEvaluator(dev, name="my-dev", n_resamples=0)
    run = tmp_path / "run"
    # the teacher (a cross-encoder) chooses its checkpoint by cross_encoder_spearman on the same evaluator; the
    # student then by its own metric, not the name the teacher's run left on the evaluator
    result = textsiam.fit(
        str(tiny_model_dir), make_sts_rows(12, 9), dev=evaluator, **_settings(silver_teacher=TEACHER, output_dir=run)
    )
    assert result.metric_name == "cosine_spearman" and result.best_metric is not None
    teacher_log = _json(run / "teachers" / "0" / "train_log.json")
    assert any("eval_cross_encoder_spearman" in entry for entry in teacher_log)


def _fingerprint(config: TrainConfig, entry=None) -> str:
    from textsiam.training.sources import load_tasks
    from textsiam.training.teacher_recipe import teacher_view
    from textsiam.training.teacher_run import recipe_fingerprint

    view, problems = teacher_view(config, entry or TEACHER, "silver_teacher", "run/teachers/0")
    assert view is not None, problems
    return recipe_fingerprint(view, load_tasks(config)[0])


def test_the_fingerprint_reads_the_data_and_the_start_model_not_how_their_paths_are_written(
    tmp_path, tiny_model_dir, monkeypatch
):
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "train.csv", make_sts_rows(12, 10))
    write_csv(data / "dev.csv", make_sts_rows(8, 11))
    shutil.copytree(tiny_model_dir, tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    settings = {"test_datasets": [], "loss": "cosent", "silver_teacher": TEACHER, "output_dir": "run"}
    relative = TrainConfig(model="tiny", train_dataset="data/train.csv", dev_dataset="data/dev.csv", **settings)
    first = _fingerprint(relative)
    absolute = {"model": str(tmp_path / "tiny"), "train_dataset": str(data / "train.csv")}
    assert _fingerprint(TrainConfig(**{**relative.to_dict(), **absolute})) == first
    dotted = {"model": "./tiny", "dev_dataset": "./data/../data/dev.csv", "output_dir": str(tmp_path / "run")}
    assert _fingerprint(TrainConfig(**{**relative.to_dict(), **dotted})) == first
    no_weights = {"n_resamples": 10, "dataloader_num_workers": 1}  # the student's, inherited: not the weights
    assert _fingerprint(TrainConfig(**{**relative.to_dict(), **no_weights})) == first
    # what the teacher's weights depend on still counts: the rows, the recipe, the start model's files
    write_csv(data / "other_dev.csv", make_sts_rows(8, 12))
    assert _fingerprint(TrainConfig(**{**relative.to_dict(), "dev_dataset": "data/other_dev.csv"})) != first
    assert _fingerprint(relative, {"train": {**TEACHER["train"], "learning_rate": 5e-4}}) != first
    assert _fingerprint(TrainConfig(**{**relative.to_dict(), "label_transform": "none"})) != first
    (tmp_path / "tiny" / "config.json").write_text(
        (tmp_path / "tiny" / "config.json").read_text(encoding="utf-8") + " ", encoding="utf-8"
    )
    assert _fingerprint(relative) != first


def test_the_fingerprint_reads_the_pairs_of_a_dev_evaluator(tiny_model_dir):
    from textsiam.evaluation import STSEvaluator
    from textsiam.training.sources import GivenData, load_tasks
    from textsiam.training.teacher_recipe import teacher_view
    from textsiam.training.teacher_run import recipe_fingerprint

    def dev(seed):
        rows = make_sts_rows(8, seed)
        table = {"sentence1": [r[0] for r in rows], "sentence2": [r[1] for r in rows], "score": [r[2] for r in rows]}
        return STSEvaluator(table, name="my-dev", n_resamples=0)

    config = TrainConfig(
        model=str(tiny_model_dir),
        train_dataset="<in-memory: list, 12 rows>",
        dev_dataset="<in-memory: evaluator>",
        test_datasets=[],
        loss="cosent",
        silver_teacher=TEACHER,
    )
    view, _ = teacher_view(config, TEACHER, "silver_teacher", "run/teachers/0")
    prints = []
    for seed in (13, 13, 14):
        given = GivenData(train={"train": make_sts_rows(12, 12)}, dev={"train": dev(seed)})
        prints.append(recipe_fingerprint(view, load_tasks(config, given)[0]))
    assert prints[0] == prints[1] != prints[2]  # other dev pairs: a teacher chosen on other data


def test_a_teacher_killed_before_its_first_step_restarts_without_overwrite(tmp_path, tiny_model_dir):
    run = tmp_path / "run"
    folder = run / "teachers" / "0"
    # what a teacher run killed after it wrote its config, before training started (and teacher.json), leaves
    TrainConfig(model=str(tiny_model_dir), model_type="cross_encoder").to_file(folder / "train_config.yaml")
    (folder / "checkpoints").mkdir()
    textsiam.fit(str(tiny_model_dir), make_sts_rows(12, 15), **_settings(silver_teacher=TEACHER, output_dir=run))
    assert read_record(folder)["finished"] is True and (run / "model").is_dir()


def test_a_linked_teacher_folder_is_never_replaced(tmp_path, tiny_model_dir):
    elsewhere = tmp_path / "my_cross_encoder_run"
    TrainConfig(model=str(tiny_model_dir), model_type="cross_encoder").to_file(elsewhere / "train_config.yaml")
    (elsewhere / "evaluation.json").write_text("{}\n", encoding="utf-8")
    run = tmp_path / "run"
    (run / "teachers").mkdir(parents=True)
    (run / "teachers" / "0").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(FileExistsError, match=r"teachers/0 is a link.*not even with --overwrite"):
        textsiam.fit(
            str(tiny_model_dir),
            make_sts_rows(12, 16),
            overwrite=True,
            **_settings(silver_teacher=TEACHER, output_dir=run),
        )
    assert sorted(p.name for p in elsewhere.iterdir()) == ["evaluation.json", "train_config.yaml"]  # untouched


def test_a_path_in_a_teachers_settings_from_python_is_written_as_text(tmp_path, tiny_model_dir):
    run = tmp_path / "run"
    teacher = {"train": {**TEACHER["train"], "model": Path(tiny_model_dir)}}
    textsiam.fit(str(tiny_model_dir), make_sts_rows(12, 17), **_settings(silver_teacher=teacher, output_dir=run))
    saved = yaml.safe_load((run / "train_config.yaml").read_text(encoding="utf-8"))
    assert saved["silver_teacher"] == {"train": {**TEACHER["train"], "model": str(tiny_model_dir)}}
    assert TrainConfig.from_file(run / "teachers" / "0" / "train_config.yaml").model == str(tiny_model_dir)


def test_without_output_dir_under_torchrun_a_teacher_to_train_is_refused(tiny_model_dir, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a teacher was trained")

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr("textsiam.training.teacher_run.train_teacher", no_training)
    with pytest.raises(ConfigError, match=r"silver_teacher: .*several processes.*give output_dir"):
        textsiam.fit(str(tiny_model_dir), make_sts_rows(12, 18), **_settings(silver_teacher=TEACHER))


@pytest.mark.slow
def test_under_torchrun_every_process_labels_with_the_saved_teacher(tmp_path, tiny_config):
    from .test_distributed import torchrun

    teacher = {"train": {**TEACHER["train"], "n_resamples": 3000}}  # the main process evaluates it a while
    cfg = tiny_config(epochs=1, loss="cosent", silver_teacher=teacher, silver_strategies=["bm25"])
    log = torchrun(cfg.to_file(tmp_path / "ddp.yaml"), tmp_path)
    folder = tmp_path / "run" / "teachers" / "0"
    assert log.count(f"silver teacher: {folder / 'model'} (cross-encoder)") == 2, log[-5000:]  # each process
    assert "known by its name only" not in log
    assert read_record(folder)["finished"] is True


def test_a_student_in_hand_from_the_hub_starts_its_teacher_from_the_same_model(tiny_model, monkeypatch, caplog):
    started = []

    def spy(config, entry, *args, **kwargs):
        started.append(entry["train"].get("model"))
        raise KeyboardInterrupt("stop before training")

    monkeypatch.setattr("textsiam.training.teacher_run.train_teacher", spy)
    tiny_model.name_or_path = "some-org/some-model"  # as SiameseModel.from_pretrained("some-org/some-model") names it
    with pytest.raises(KeyboardInterrupt, match="stop before training"):
        textsiam.fit(tiny_model, make_sts_rows(12, 19), **_settings(silver_teacher=TEACHER))
    tiny_model.name_or_path = ""  # built in memory: the default model, said aloud
    with caplog.at_level(logging.WARNING), pytest.raises(KeyboardInterrupt, match="stop before training"):
        textsiam.fit(tiny_model, make_sts_rows(12, 19), **_settings(silver_teacher=TEACHER))
    assert started == ["some-org/some-model", None]
    assert "a teacher to train starts from the default model" in caplog.text
