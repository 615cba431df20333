"""Labelling silver pairs (#26): the teachers' kinds and scores (a cross-encoder's ``predict``, a twin tower's
similarity), the monotone map onto the gold label scale, the ensemble mean, the 0/1 threshold, the fingerprints
that key the cache, and the cached chunks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cross_encoders import FakeCrossEncoder, make_tiny_cross_encoder

from textsiam.model.model_kind import is_cross_encoder_model
from textsiam.training import ConfigError
from textsiam.training.fingerprints import folder_digest, model_fingerprint
from textsiam.training.silver_labels import BINARY_THRESHOLD, label_pairs, map_to_gold
from textsiam.training.silver_store import SilverStore
from textsiam.training.silver_teachers import (
    Teacher,
    given_teachers,
    resolve_teachers,
    score_pairs,
    teacher_kind,
)
from textsiam.training.sources import GivenData

A = ["A man plays a guitar.", "A cat sleeps.", "Stocks fell on Monday.", "It rains."]
B = ["Someone plays the guitar.", "Markets dropped.", "Shares fell on Monday.", "The sun shines."]


@pytest.fixture(scope="module")
def ce_dir(tmp_path_factory, default_tokenizer):
    path = tmp_path_factory.mktemp("teachers") / "ce"
    make_tiny_cross_encoder(default_tokenizer, seed=1).save(path)
    return path


def test_the_kind_of_a_teacher_is_detected(ce_dir, tiny_model_dir, tiny_model, default_tokenizer):
    assert is_cross_encoder_model(ce_dir) and not is_cross_encoder_model(tiny_model_dir)
    assert teacher_kind(ce_dir) == teacher_kind(str(ce_dir)) == "cross_encoder"
    assert teacher_kind(str(tiny_model_dir)) == teacher_kind(tiny_model) == "siamese"
    assert (
        teacher_kind(make_tiny_cross_encoder(default_tokenizer)) == teacher_kind(FakeCrossEncoder()) == "cross_encoder"
    )
    with pytest.raises(TypeError, match="a teacher is a CrossEncoder, a SiameseModel"):
        teacher_kind(42)


def test_a_cross_encoder_teacher_scores_with_predict(default_tokenizer):
    ce = make_tiny_cross_encoder(default_tokenizer, seed=2)
    got = score_pairs(ce, "cross_encoder", A, B, batch_size=3)
    np.testing.assert_allclose(got, ce.predict(list(zip(A, B, strict=True))), rtol=1e-6)
    two = make_tiny_cross_encoder(default_tokenizer, num_labels=2, seed=3)
    probs = two.predict(list(zip(A, B, strict=True)), apply_softmax=True)
    np.testing.assert_allclose(score_pairs(two, "cross_encoder", A, B, batch_size=2), probs[:, 1], rtol=1e-6)


def test_a_twin_tower_teacher_scores_with_its_similarity(tiny_model):
    got = score_pairs(tiny_model, "siamese", A, B, batch_size=2)
    np.testing.assert_allclose(got, tiny_model.similarity(A, B), rtol=1e-5, atol=1e-6)
    assert score_pairs(tiny_model, "siamese", [], [], batch_size=2).shape == (0,)


def test_a_twin_tower_teacher_encodes_with_the_saved_prompt_named(tmp_path, tiny_model_dir, ce_dir):
    from textsiam import SiameseModel

    prefix = "duplicate question: "
    model = SiameseModel.from_pretrained(tiny_model_dir, prompts={"quora": prefix})
    model.save(tmp_path / "multitask")
    got = score_pairs(model, "siamese", A, B, batch_size=2, prompt_name="quora")
    expected = model.similarity([prefix + a for a in A], [prefix + b for b in B])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(got - score_pairs(model, "siamese", A, B, batch_size=2)).max() > 1e-4  # the prompt changes them
    teachers = resolve_teachers([str(tmp_path / "multitask"), str(ce_dir)], None, "quora")
    assert [t.prompt_name for t in teachers] == ["quora", None]  # a cross-encoder takes no prompt
    assert teachers[0].describe()["prompt_name"] == "quora" and teachers[0].load().prompts == {"quora": prefix}
    (unprompted,) = resolve_teachers(str(tmp_path / "multitask"))
    assert unprompted.weights == teachers[0].weights and unprompted.fingerprint != teachers[0].fingerprint
    given = GivenData()
    name = given_teachers(model, given)
    assert resolve_teachers(name, given, "quora")[0].prompt_name == "quora"  # an object's prompts are read too
    with pytest.raises(ConfigError, match=r"silver_prompt_name 'sts': the twin-tower teacher '<in-memory teacher 0"):
        resolve_teachers(name, given, "sts")
    with pytest.raises(ConfigError, match=r"silver_prompt_name 'sts': the twin-tower .* \(its prompts: \['quora'"):
        resolve_teachers(str(tmp_path / "multitask"), None, "sts")
    with pytest.raises(ConfigError, match=r"has no prompt of that name \(its prompts: none\)"):
        resolve_teachers([str(ce_dir), str(tiny_model_dir)], None, "quora")
    late = Teacher("hub/name", str(tmp_path / "multitask"), "siamese", unprompted.weights, "sts")
    with pytest.raises(ConfigError, match="silver_prompt_name 'sts': the twin-tower teacher 'hub/name'"):
        late.load()  # a name whose prompts could not be read before loading is checked when it loads


def test_fingerprints_follow_the_weights(tmp_path, tiny_model, default_tokenizer):
    ce = make_tiny_cross_encoder(default_tokenizer, seed=4)
    ce.save(tmp_path / "one")
    first = folder_digest(tmp_path / "one")
    (tmp_path / "one" / "README.md").write_text("a note\n", encoding="utf-8")  # the card does not count
    assert folder_digest(tmp_path / "one") == first
    make_tiny_cross_encoder(default_tokenizer, seed=5).save(tmp_path / "one", overwrite=True)
    assert folder_digest(tmp_path / "one") != first
    before = model_fingerprint(tiny_model)
    assert before["from"] == "weights in memory" and model_fingerprint(tiny_model) == before
    with __import__("torch").no_grad():
        next(tiny_model.parameters()).add_(1.0)
    assert model_fingerprint(tiny_model)["digest"] != before["digest"]
    assert model_fingerprint(FakeCrossEncoder(name="x"))["from"] == "name only"


def test_model_objects_from_fit_stand_in_the_config_by_name(default_tokenizer):
    given = GivenData()
    ce = FakeCrossEncoder()
    names = given_teachers([ce, "some/folder"], given)
    assert names == ["<in-memory teacher 0: FakeCrossEncoder>", "some/folder"]
    assert given.teachers[names[0]] is ce
    assert given_teachers(ce, GivenData()) == "<in-memory teacher 0: FakeCrossEncoder>"
    (teacher,) = resolve_teachers(names[0], given)
    assert teacher.kind == "cross_encoder" and teacher.load() is ce
    with pytest.raises(ConfigError, match="stands for a model given to textsiam.fit"):
        resolve_teachers(names[0], GivenData())
    with pytest.raises(TypeError, match="a teacher is a CrossEncoder"):
        given_teachers([object()], GivenData())


def test_isotonic_map_onto_the_gold_scale_and_the_ensemble_mean():
    gold_raw = np.array([[0.1, 10.0], [0.4, 20.0], [0.6, 30.0], [0.9, 40.0]])
    gold_y = [0.0, 1.5, 3.5, 5.0]
    raw = np.array([[0.05, 5.0], [0.5, 25.0], [0.95, 45.0]])
    labels, scores, info = map_to_gold(gold_raw, gold_y, raw, "isotonic")
    # each teacher is mapped onto 0-5 (clipped at the ends, linear between fitted points), then averaged
    np.testing.assert_allclose(labels, [0.0, 2.5, 5.0])
    np.testing.assert_allclose(scores, labels)
    assert info["method"] == "isotonic" and info["gold_range"] == [0.0, 5.0] and len(info["teachers"]) == 2
    one, _, _ = map_to_gold(gold_raw[:, :1], gold_y, raw[:, :1], "isotonic")
    two, _, _ = map_to_gold(gold_raw[:, 1:], gold_y, raw[:, 1:], "isotonic")
    np.testing.assert_allclose(labels, (one + two) / 2)


def test_linear_map_is_clipped_to_the_gold_range():
    gold_raw = np.array([[0.0], [1.0]])
    labels, _, info = map_to_gold(gold_raw, [0.0, 5.0], np.array([[0.5], [2.0], [-1.0]]), "linear")
    np.testing.assert_allclose(labels, [2.5, 5.0, 0.0])
    assert info["method"] == "linear"


def test_binary_gold_labels_give_binary_silver_labels_at_the_threshold():
    gold_raw = np.array([[0.1], [0.2], [0.3], [0.7], [0.8], [0.9]])
    gold_y = [0, 0, 1, 0, 1, 1]  # isotonic: P(1 | score) is 0 up to 0.2, 1/2 for 0.3-0.7, 1 from 0.8
    labels, scores, info = map_to_gold(gold_raw, gold_y, np.array([[0.15], [0.5], [0.85]]), binary=True)
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 1]
    np.testing.assert_allclose(scores, [0.0, 0.5, 1.0])
    assert info["threshold"] == BINARY_THRESHOLD == 0.5 and info["silver_label_1"] == 2


def test_the_map_needs_two_different_gold_labels():
    with pytest.raises(ValueError, match="needs at least two different gold labels"):
        map_to_gold(np.array([[0.1], [0.2]]), [1, 1], np.array([[0.3]]))
    with pytest.raises(ValueError, match="unknown silver_mapping 'cubic'"):
        map_to_gold(np.array([[0.1], [0.2]]), [0, 1], np.array([[0.3]]), "cubic")


def test_labels_are_cached_in_chunks_and_reused(tmp_path, monkeypatch):
    monkeypatch.setattr("textsiam.training.silver_labels.CHUNK_PAIRS", 3)
    fake = FakeCrossEncoder()
    teacher = Teacher("fake", fake, "cross_encoder", model_fingerprint(fake))
    a, b = A * 2, B * 2
    store = SilverStore(tmp_path / "silver")
    first = label_pairs([teacher], a, b, "digest", store, batch_size=2)
    assert len(fake.calls) == 3  # 8 pairs in chunks of 3
    chunks = sorted((tmp_path / "silver" / "scores").rglob("chunk-*.json"))
    assert len(chunks) == 3 and json.loads(chunks[0].read_text())["format"] == "textsiam-silver-scores"
    chunks[1].unlink()  # as if the run had been killed while labelling
    again = label_pairs([teacher], a, b, "digest", store, batch_size=2)
    assert len(fake.calls) == 4 and fake.calls[-1] == list(zip(a[3:6], b[3:6], strict=True))
    np.testing.assert_array_equal(first, again)
    other = label_pairs([teacher], a, b, "other-pairs", store, batch_size=2)  # other pairs: new chunks, old ones go
    assert len(fake.calls) == 7 and other.shape == (8, 1)
    assert len(list((tmp_path / "silver" / "scores").rglob("chunk-*.json"))) == 3
    assert label_pairs([teacher], a, b, "x", SilverStore(None), batch_size=2).shape == (8, 1)  # no folder: in memory
