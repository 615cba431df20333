"""The teacher pipeline in a run (#26): ``silver_teacher`` in ``textsiam.fit`` and in a recipe: the student trains on
gold + silver pairs, the run records the silver set, a repeated or resumed run reuses the teacher's labels, a changed
teacher is detected, nothing is written without a run folder, and what does not fit is refused with a message."""

from __future__ import annotations

import json
import logging

import pytest
from cross_encoders import FakeCrossEncoder, make_tiny_cross_encoder

import textsiam
from textsiam.training import ConfigError, TrainConfig, train

from .helpers import make_clf_rows, make_sts_rows, write_csv


class CountingTeacher(FakeCrossEncoder):
    """A fake cross-encoder that counts the pairs it scores and can fail after some calls (a killed run)."""

    fail_after: int | None = None

    @property
    def scored(self) -> int:
        return sum(len(c) for c in self.calls)

    def predict(self, pairs, *args, **kwargs):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("killed while labelling")
        return super().predict(pairs, *args, **kwargs)


def _settings(**extra):
    return {"max_steps": 2, "batch_size": 4, "n_resamples": 0, "show_progress": False, "loss": "cosent", **extra}


def _record(run) -> dict:
    return json.loads((run / "silver" / "silver.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ce_dir(tmp_path_factory, default_tokenizer):
    path = tmp_path_factory.mktemp("teachers") / "ce"
    make_tiny_cross_encoder(default_tokenizer, seed=1).save(path)
    return path


def test_the_student_trains_on_gold_and_silver_and_the_run_records_them(tmp_path, tiny_model_dir, ce_dir):
    rows = make_sts_rows(16, 1)
    train_file = write_csv(tmp_path / "train.csv", rows)
    config = TrainConfig(
        model=str(tiny_model_dir),
        train_dataset=str(train_file),
        dev_dataset=None,
        test_datasets=[],
        loss="cosent",
        max_steps=2,
        batch_size=4,
        n_resamples=0,
        silver_teacher=str(ce_dir),
        silver_strategies=["bm25", "nn"],
        silver_per_text=2,
        output_dir=str(tmp_path / "run"),
    )
    result = train(config, show_progress=False)
    record = _record(tmp_path / "run")
    sizes = record["sizes"]
    assert sizes["gold_pairs"] == 16 and sizes["silver_pairs"] > 0
    assert sizes["train_pairs"] == 16 + sizes["silver_pairs"]
    assert sum(sizes["per_strategy"].values()) == sizes["silver_pairs"] and set(sizes["per_strategy"]) == {"bm25", "nn"}
    assert result.examples.startswith(f"{sizes['train_pairs']} pairs")  # the trainer saw gold + silver
    assert record["teachers"][0]["kind"] == "cross_encoder" and record["teachers"][0]["identified_by"] == "files"
    assert record["recipe"]["strategies"] == ["bm25", "nn"] and record["recipe"]["per_text"] == 2
    lines = (tmp_path / "run" / "silver" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sizes["silver_pairs"]
    labels = [json.loads(line)["label"] for line in lines]
    gold = [r[2] for r in rows]
    assert min(gold) <= min(labels) and max(labels) <= max(gold)  # on the gold scale (0-5)
    assert "silver_teacher" in (tmp_path / "run" / "train_config.yaml").read_text(encoding="utf-8")


def test_by_default_pairs_are_sampled_by_bm25_alone_without_embedding_the_texts(tmp_path, tiny_model_dir, monkeypatch):
    """The default sampling, chosen on STS-B dev (bm25 89.08, nn 89.00, both 88.99): BM25 neighbours only, so the
    start model never embeds the training texts for nearest neighbours (a cost that grows with their square)."""
    import textsiam.training.silver as silver

    def no_embedder(*args, **kwargs):
        raise AssertionError("the texts were embedded for nn pairs")

    monkeypatch.setattr(silver, "_embedder", no_embedder)
    assert TrainConfig().silver_strategies == ["bm25"]
    run = tmp_path / "run"
    textsiam.fit(
        str(tiny_model_dir), make_sts_rows(12, 4), **_settings(silver_teacher=CountingTeacher(), output_dir=run)
    )
    record = _record(run)
    assert record["recipe"]["strategies"] == ["bm25"] and set(record["sizes"]["per_strategy"]) == {"bm25"}
    assert record["sizes"]["silver_pairs"] > 0


def test_by_default_at_most_10000_silver_pairs_are_kept(tmp_path, tiny_model_dir, monkeypatch):
    """The default cap, chosen on STS-B dev (students of the same teacher: 2,500 pairs 89.01, 5,000 89.08, 10,000
    89.27): the sampling gets 10,000 as its limit, and the recipe records it."""
    import textsiam.training.silver as silver

    limits = []
    sample = silver.sample_pairs

    def recording(*args, **kwargs):
        limits.append(args[4])  # (texts_a, texts_b, strategies, per_text, max_pairs, seed)
        return sample(*args, **kwargs)

    monkeypatch.setattr(silver, "sample_pairs", recording)
    assert TrainConfig().silver_max_pairs == 10_000
    run = tmp_path / "run"
    textsiam.fit(
        str(tiny_model_dir), make_sts_rows(12, 4), **_settings(silver_teacher=CountingTeacher(), output_dir=run)
    )
    assert limits == [10_000] and _record(run)["recipe"]["max_pairs"] == 10_000


def test_a_repeated_or_resumed_run_reuses_the_teachers_labels(tmp_path, tiny_model_dir):
    rows = make_sts_rows(12, 2)
    teacher = CountingTeacher()
    run = tmp_path / "run"
    kwargs = _settings(silver_teacher=teacher, output_dir=run, save_total_limit=None)
    textsiam.fit(str(tiny_model_dir), rows, **kwargs)
    first = teacher.scored
    assert first == 12 + _record(run)["sizes"]["silver_pairs"]  # the gold pairs (for the map), then the silver ones
    textsiam.fit(str(tiny_model_dir), rows, overwrite=True, **kwargs)
    assert teacher.scored == first  # the same recipe and teacher: nothing labelled again
    textsiam.fit(str(tiny_model_dir), rows, resume=True, **{**kwargs, "max_steps": 3})
    assert teacher.scored == first


def test_a_run_killed_while_labelling_goes_on_from_its_last_chunk(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr("textsiam.training.silver_labels.CHUNK_PAIRS", 8)
    rows = make_sts_rows(12, 3)
    teacher = CountingTeacher()
    teacher.fail_after = 2
    kwargs = _settings(silver_teacher=teacher, output_dir=tmp_path / "run", silver_strategies=["bm25", "random"])
    with pytest.raises(KeyboardInterrupt, match="killed while labelling"):
        textsiam.fit(str(tiny_model_dir), rows, **kwargs)
    assert teacher.scored == 16 and len(list((tmp_path / "run" / "silver").rglob("chunk-*.json"))) == 2
    teacher.fail_after = None
    textsiam.fit(str(tiny_model_dir), rows, overwrite=True, **kwargs)
    assert teacher.scored == 12 + _record(tmp_path / "run")["sizes"]["silver_pairs"]  # every pair scored once


def test_a_changed_teacher_is_detected_and_labels_again(tmp_path, tiny_model_dir, caplog):
    rows = make_sts_rows(12, 4)
    run = tmp_path / "run"
    first = CountingTeacher(name="teacher-a")
    textsiam.fit(str(tiny_model_dir), rows, **_settings(silver_teacher=first, output_dir=run))
    (old,) = (run / "silver" / "scores").iterdir()
    (old / "notes.txt").write_text("mine\n", encoding="utf-8")  # not textsiam's: it stays
    (run / "silver" / "notes.txt").write_text("mine\n", encoding="utf-8")
    second = CountingTeacher(name="teacher-b")
    with caplog.at_level(logging.WARNING, logger="textsiam.training.silver"):
        textsiam.fit(str(tiny_model_dir), rows, overwrite=True, **_settings(silver_teacher=second, output_dir=run))
    assert "the teacher differs from the one that labelled the pairs" in caplog.text and "teacher-a" in caplog.text
    assert second.scored == first.scored  # every pair labelled again, by the new teacher
    assert _record(run)["teachers"][0]["name"] == "teacher-b"
    assert not list(old.glob("chunk-*.json")) and (old / "notes.txt").is_file()
    assert (run / "silver" / "notes.txt").is_file()


def test_without_output_dir_nothing_is_written(tmp_path, tiny_model, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    teacher = CountingTeacher()
    with caplog.at_level(logging.INFO, logger="textsiam.training.silver"):
        result = textsiam.fit(tiny_model, make_sts_rows(12, 5), **_settings(silver_teacher=teacher))
    assert list(tmp_path.iterdir()) == []
    assert teacher.scored > 12 and "silver: training on 12 gold +" in caplog.text
    assert result.examples.startswith(f"{teacher.scored} pairs")  # the 12 gold pairs, then the silver ones


def test_an_ensemble_of_a_cross_encoder_and_a_twin_tower_on_binary_labels(tmp_path, tiny_model, tiny_model_dir):
    rows = make_clf_rows(16, 6)
    teacher = CountingTeacher()
    textsiam.fit(
        tiny_model,
        rows,
        output_dir=tmp_path / "run",
        **_settings(loss="online_contrastive", silver_teacher=[teacher, str(tiny_model_dir)], silver_max_pairs=10),
    )
    record = _record(tmp_path / "run")
    assert [t["kind"] for t in record["teachers"]] == ["cross_encoder", "siamese"]
    assert record["sizes"]["silver_pairs"] == 10 and record["mapping"]["threshold"] == 0.5
    assert len(record["mapping"]["teachers"]) == 2
    labels = {json.loads(line)["label"] for line in (tmp_path / "run" / "silver" / "pairs.jsonl").open()}
    assert labels <= {0, 1}


def test_a_multi_task_twin_teacher_labels_with_the_prompt_named(tmp_path, tiny_model, tiny_model_dir):
    from textsiam import SiameseModel

    prompted = SiameseModel.from_pretrained(tiny_model_dir, prompts={"quora": "duplicate question: "})
    prompted.save(tmp_path / "teacher")
    rows = make_sts_rows(12, 8)
    settings = _settings(silver_teacher=str(tmp_path / "teacher"), silver_max_pairs=6)
    textsiam.fit(tiny_model, rows, output_dir=tmp_path / "plain", **settings)
    textsiam.fit(tiny_model, rows, output_dir=tmp_path / "run", **settings, silver_prompt_name="quora")
    plain, record = _record(tmp_path / "plain"), _record(tmp_path / "run")
    assert [t["prompt_name"] for t in record["teachers"]] == ["quora"] and plain["teachers"][0]["prompt_name"] is None
    assert record["teachers"][0]["weights_digest"] == plain["teachers"][0]["weights_digest"]
    pairs = [
        (tmp_path / r / "silver" / "pairs.jsonl").read_text(encoding="utf-8").splitlines() for r in ("plain", "run")
    ]
    scores = [[json.loads(line)["score"] for line in lines] for lines in pairs]
    assert scores[0] != scores[1]  # the same pairs, labelled with and without the prompt
    with pytest.raises(ConfigError, match="silver_prompt_name 'sts': the twin-tower teacher"):
        textsiam.fit(tiny_model, rows, **settings, silver_prompt_name="sts")


def test_what_does_not_fit_is_refused(tmp_path, tiny_model, default_tokenizer, sts_files):
    rows = make_sts_rows(8, 7)
    with pytest.raises(ConfigError, match="a cross-encoder student .* is not supported"):
        student = make_tiny_cross_encoder(default_tokenizer)
        textsiam.fit(student, make_clf_rows(8, 1), **_settings(loss=None, silver_teacher="some/teacher"))
    with pytest.raises(ConfigError, match="multi-task training .* are not supported yet"):
        textsiam.fit(tiny_model, {"a": rows, "b": rows}, **_settings(silver_teacher=CountingTeacher()))
    with pytest.raises(ConfigError, match=r"silver_strategies: unknown \['tfidf'\]"):
        textsiam.fit(tiny_model, rows, **_settings(silver_teacher="t", silver_strategies=["bm25", "tfidf"]))
    with pytest.raises(ConfigError, match="silver_per_text: setting.* of the teacher pipeline, which is off"):
        textsiam.fit(tiny_model, rows, **_settings(silver_per_text=5))
    with pytest.raises(ConfigError, match="silver_per_text must be >= 1, got 0"):
        textsiam.fit(tiny_model, rows, **_settings(silver_teacher="t", silver_per_text=0))
    with pytest.raises(ConfigError, match="loss 'softmax' does not train on"):
        textsiam.fit(tiny_model, rows, **_settings(silver_teacher="t", loss="softmax"))
    with pytest.raises(ConfigError, match="silver_prompt_name: setting.* of the teacher pipeline, which is off"):
        TrainConfig(silver_prompt_name="quora").validate()
    with pytest.raises(ConfigError, match="silver_prompt_name: name one of the twin-tower teachers' saved prompts"):
        TrainConfig(silver_teacher="t", silver_prompt_name=" ").validate()
    with pytest.raises(ConfigError, match="nn pairs texts by the start model's embeddings"):
        TrainConfig(silver_teacher="t", encoder="lstm", silver_strategies=["bm25", "nn"]).validate()
    with pytest.raises(ConfigError, match="silver pairs join labelled pairs .* are triplet rows"):
        triplets = [("a b", "a c", "d e"), ("f g", "f h", "i j")]
        textsiam.fit(tiny_model, triplets, **_settings(loss="mnrl", silver_teacher=CountingTeacher()))
    nli = {"premise": ["a b", "c d", "e f"], "hypothesis": ["a c", "c e", "f g"], "label": [0, 1, 2]}
    with pytest.raises(ConfigError, match="loss 'softmax' does not train on"):  # the loss chosen from the data
        textsiam.fit(tiny_model, nli, **_settings(loss=None, silver_teacher=CountingTeacher()))
    train_file, _ = sts_files
    recipe = TrainConfig(
        train_dataset=str(train_file),
        dev_dataset=None,
        silver_teacher="<in-memory teacher 0: X>",  # what a saved train_config.yaml of a fit(...) run says
        output_dir=str(tmp_path / "r"),
    )
    with pytest.raises(ConfigError, match="stands for a model given to textsiam.fit"):
        train(recipe)


def test_label_match_keeps_silver_pairs_in_the_gold_proportions_and_reuses_the_labels(tmp_path, tiny_model_dir):
    rows = make_clf_rows(24, 3)  # half duplicates; the silver neighbours share few words: mostly label 0
    teacher = CountingTeacher()
    run = tmp_path / "run"
    kwargs = _settings(silver_teacher=teacher, output_dir=run, loss="online_contrastive")
    textsiam.fit(str(tiny_model_dir), rows, **kwargs)
    every = [json.loads(line)["label"] for line in (run / "silver" / "pairs.jsonl").read_text().splitlines()]
    scored = teacher.scored
    assert 0 < sum(every) < len(every) / 2  # the unmatched silver set: mostly negatives
    textsiam.fit(str(tiny_model_dir), rows, overwrite=True, silver_label_match=True, **kwargs)
    assert teacher.scored == scored  # matching happens after labelling: the labels are reused
    record = _record(run)
    kept = [json.loads(line)["label"] for line in (run / "silver" / "pairs.jsonl").read_text().splitlines()]
    assert sum(kept) == sum(every) and len(kept) == 2 * sum(every)  # every positive, as many negatives (gold 50:50)
    assert record["sizes"]["silver_pairs"] == len(kept) == record["label_match"]["kept"]
    assert record["label_match"]["of"] == len(every) and record["label_match"]["gold_share"] == [0.5, 0.5]
    assert sum(record["sizes"]["per_strategy"].values()) == len(kept)


def test_silver_pairs_come_from_the_texts_named_and_a_changed_source_samples_again(tmp_path, tiny_model_dir, caplog):
    rows = make_sts_rows(12, 9)
    unlabelled = [" ".join(r[0].split()[::-1]) for r in make_sts_rows(10, 10)]  # texts no gold pair holds
    texts = tmp_path / "unlabelled.txt"
    texts.write_text("\n".join(unlabelled) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    kwargs = _settings(silver_teacher=CountingTeacher(), output_dir=run, silver_texts=[str(texts)], silver_per_text=2)
    textsiam.fit(str(tiny_model_dir), rows, **kwargs)
    pairs = [json.loads(line) for line in (run / "silver" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert pairs and all(p["text_a"] in unlabelled and p["text_b"] in unlabelled for p in pairs)
    record = _record(run)
    assert record["recipe"]["texts"]["sources"] == [{"source": str(texts), "texts": 10, "new": 10}]
    assert record["sizes"]["distinct_texts"] == 10
    texts.write_text("\n".join(unlabelled[:6]) + "\n", encoding="utf-8")  # the same setting, other texts
    with caplog.at_level(logging.WARNING, logger="textsiam.training.silver"):
        textsiam.fit(str(tiny_model_dir), rows, overwrite=True, **kwargs)
    assert "silver texts or start model) differs from the one in" in caplog.text
    assert _record(run)["sizes"]["distinct_texts"] == 6


def test_fit_takes_the_texts_themselves_and_the_saved_recipe_names_them(tmp_path, tiny_model_dir):
    rows = make_sts_rows(12, 11)
    unlabelled = [" ".join(r[1].split()[::-1]) for r in make_sts_rows(8, 12)]
    run = tmp_path / "run"
    kwargs = _settings(silver_teacher=CountingTeacher(), output_dir=run, silver_texts=[unlabelled])
    textsiam.fit(str(tiny_model_dir), rows, **kwargs)
    pairs = [json.loads(line) for line in (run / "silver" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert pairs and all(p["text_a"] in unlabelled and p["text_b"] in unlabelled for p in pairs)
    saved = (run / "train_config.yaml").read_text(encoding="utf-8")
    assert "<in-memory texts 0: 8 texts>" in saved and unlabelled[0] not in saved
