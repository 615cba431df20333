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

    def killed_on_the_second_chunk(model, kind, texts_a, texts_b, batch_size):
        if len(scored) == 1 and kill["on"]:
            raise KeyboardInterrupt("killed while labelling")
        scored.append(len(texts_a))
        return original(model, kind, texts_a, texts_b, batch_size)

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
