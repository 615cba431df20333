"""Distillation (``textsiam.training.distill``): a tiny BERT teacher distilled into LSTM and CNN students in seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textsiam.training.distill import (
    DISTILL_INFO_NAME,
    DistillConfig,
    DistillConfigError,
    build_student,
    default_corpus,
    distill,
    length_bucketed_batches,
    teacher_targets,
)

WORDS = "the a man woman cat dog plays eats runs guitar food park quickly slowly red blue big small house car".split()


def make_texts(n: int = 60, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 10)))) for _ in range(n)]


TEXTS = make_texts()
#: the tiny teacher is 32-dimensional: the LSTM (2 x 16) needs no projection, the CNN (3 x 16) does
TOWERS = {"lstm": {"hidden_size": 16}, "cnn": {"num_filters": 16}}


@pytest.fixture(scope="module")
def teacher(default_tokenizer):
    from helpers import make_tiny_model

    return make_tiny_model(default_tokenizer)


@pytest.fixture(scope="module")
def targets(teacher) -> np.ndarray:
    return teacher_targets(teacher, TEXTS, batch_size=16, chunk_size=25, show_progress=False)


def config(tower: str = "lstm", **overrides) -> DistillConfig:
    base = dict(
        tower=tower,
        tower_args=dict(TOWERS[tower]),
        epochs=4,
        batch_size=8,
        lr=1e-2,
        embedding_lr=1e-2,
        device="cpu",
        show_progress=False,
        vocabulary=False,  # the texts only: 60 of them (tests/training/test_distill_static.py adds the vocabulary)
        embeddings="pretrained",  # the tiny teacher's input word embeddings (no vocabulary pass)
    )
    base.update(overrides)
    return DistillConfig(**base)


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).mean())


def test_teacher_targets_match_one_encode_call(teacher, targets):
    assert targets.shape == (len(TEXTS), teacher.embedding_dim) and targets.dtype == np.float32
    np.testing.assert_allclose(targets, teacher.encode(TEXTS, batch_size=64), atol=1e-5)


@pytest.mark.parametrize("tower", ["lstm", "cnn"])
def test_student_learns_the_teacher(tower, teacher, targets):
    cfg = config(tower)
    before = mean_cosine(build_student(cfg, teacher).encode(TEXTS), targets)
    result = distill(cfg, TEXTS, teacher=teacher)  # targets computed here
    student, log = result.student, result.log
    assert [e["epoch"] for e in log] == [1, 2, 3, 4] and all(e["steps"] == 8 for e in log)
    losses = [e["loss"] for e in log]
    cosines = [e["cosine_to_teacher"] for e in log]
    assert losses[-1] < 0.5 * losses[0] and losses[-1] == min(losses)
    assert cosines[-1] > cosines[0] + 0.2 and cosines[-1] == max(cosines)
    after = mean_cosine(student.encode(TEXTS), targets)
    assert after > before + 0.2 and after > 0.7
    assert not student.training
    assert student.embedding_dim == teacher.embedding_dim
    assert (student.projection is not None) == (tower == "cnn")  # only where the tower's size differs
    assert student.tokenizer.get_vocab() == teacher.tokenizer.get_vocab()
    assert result.teacher_seconds > 0 and result.output_dir is None and result.n_texts == len(TEXTS)


def test_embeddings_start_from_the_teacher_and_learn_sparsely(teacher, targets):
    start = teacher.encoder.input_embeddings().weight.detach().clone()
    used = sorted({i for ids in teacher.tokenizer(TEXTS)["input_ids"] for i in ids})
    unused = torch.ones(len(start), dtype=torch.bool)
    unused[used] = False
    fixed = distill(config(epochs=1, embedding_lr=0.0), TEXTS, teacher=teacher, targets=targets).student
    assert torch.equal(fixed.encoder.input_embeddings().weight, start)
    moved = distill(config(epochs=1), TEXTS, teacher=teacher, targets=targets).student
    weight = moved.encoder.input_embeddings().weight
    assert not torch.equal(weight[used], start[used])
    assert torch.equal(weight[unused], start[unused])  # sparse Adam touches only the rows a batch uses
    assert not weight.requires_grad and moved.encoder.config.freeze_embeddings  # frozen for later fine-tuning
    unfrozen = distill(config(epochs=1, freeze_embeddings=False), TEXTS, teacher=teacher, targets=targets).student
    assert unfrozen.encoder.input_embeddings().weight.requires_grad
    assert not unfrozen.encoder.input_embeddings().sparse


def test_saved_student_round_trips(tmp_path, teacher, targets):
    from textsiam import SiameseModel

    out = tmp_path / "student"
    result = distill(config("cnn", epochs=2, output_dir=str(out)), TEXTS, teacher=teacher, targets=targets)
    assert result.output_dir == out.resolve()
    loaded = SiameseModel.from_pretrained(out, device="cpu")
    assert loaded.config == result.student.config
    np.testing.assert_array_equal(loaded.encode(TEXTS), result.student.encode(TEXTS))
    info = json.loads((out / DISTILL_INFO_NAME).read_text())
    assert info["n_texts"] == len(TEXTS) and len(info["log"]) == 2
    assert DistillConfig.from_dict(info["config"]) == result.config
    again = distill(config("cnn", epochs=1, output_dir=str(out)), TEXTS, teacher=teacher, targets=targets)
    assert again.output_dir == out.resolve()  # a model folder is replaced


def test_output_dir_with_other_files_is_refused_before_training(tmp_path, teacher, targets):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    calls = []
    with pytest.raises(FileExistsError, match="overwrite"):
        distill(config(output_dir=str(out)), TEXTS, teacher=teacher, targets=targets, callback=calls.append)
    assert calls == []
    distill(config(epochs=1, output_dir=str(out), overwrite=True), TEXTS, teacher=teacher, targets=targets)
    assert (out / "notes.txt").read_text() == "mine" and (out / "textsiam.json").is_file()


def test_same_seed_same_student(teacher, targets):
    def weights(seed: int) -> dict[str, torch.Tensor]:
        cfg = config("lstm", epochs=2, seed=seed, tower_args={"hidden_size": 16, "dropout": 0.2, "num_layers": 2})
        return distill(cfg, TEXTS, teacher=teacher, targets=targets).student.state_dict()

    torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b, c = weights(1), weights(1), weights(2)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's RNG is left alone
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_cosine_loss_dev_metric_and_callback(teacher, targets):
    seen = []

    def callback(entry, student):
        seen.append(entry["epoch"])
        return entry["epoch"] == 2  # stop after the second epoch

    dev = []
    result = distill(
        {**config("cnn").to_dict(), "loss": "cosine", "normalize": True, "epochs": 5},
        TEXTS,
        teacher=teacher,
        targets=targets,
        dev_metric=lambda student: dev.append(student.training) or 0.5,
        callback=callback,
    )
    assert seen == [1, 2] and len(result.log) == 2 and dev == [False, False]
    assert [e["dev_metric"] for e in result.log] == [0.5, 0.5]
    assert result.log[1]["cosine_to_teacher"] > result.log[0]["cosine_to_teacher"]
    assert result.student.normalize
    np.testing.assert_allclose(np.linalg.norm(result.student.encode(TEXTS[:5]), axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tower": "gru"}, "tower"),
        ({"loss": "kl"}, "loss"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"embedding_lr": -1.0}, "embedding_lr"),
        ({"warmup_ratio": 1.0}, "warmup_ratio"),
        ({"max_grad_norm": 0}, "max_grad_norm"),
        ({"projection": "yes"}, "projection"),
        ({"projection_activation": "swish"}, "projection_activation"),
        ({"embeddings": "glove"}, "embeddings"),
        ({"tower": "mlp"}, "tower"),
        ({"pca_dims": 0}, "pca_dims"),
        ({"tower": "static", "embeddings": "pretrained", "pca_dims": 16}, "pca_dims"),
        ({"tower": "static", "tower_args": {"token_weights": "yes"}}, "token_weights"),
        ({"tower": "static", "tower_args": {"hidden_size": 8}}, "hidden_size"),
        ({"checkpoint_steps": 0}, "checkpoint_steps"),
        ({"vocabulary": 1}, "vocabulary"),
        ({"freeze_embeddings": "no"}, "freeze_embeddings"),
        ({"max_seq_length": 0}, "max_seq_length"),
        ({"tower_args": {"hidden": 8}}, "hidden"),
        ({"tower_args": {"hidden_size": 0}}, "hidden_size"),
        ({"tower_args": {"pooling": "cls"}}, "pooling"),
        ({"tower_args": {"freeze_embeddings": False}}, "freeze_embeddings"),
        ({"tower_args": {"embedding_dim": 8}}, "embedding_dim"),
        ({"tower": "cnn", "tower_args": {"kernel_sizes": []}}, "kernel_sizes"),
        ({"overwrite": "no"}, "overwrite"),
    ],
)
def test_bad_config_values(overrides, field):
    with pytest.raises(ValueError, match=field) as info:
        DistillConfig(**overrides)
    assert isinstance(info.value, DistillConfigError)


def test_bad_config_lists_every_problem_and_unknown_fields():
    problems = r"\(2 problem\(s\)\):\n  - epochs must be a positive int or None, got -1\n  - lr must be a positive"
    with pytest.raises(DistillConfigError, match=problems) as info:
        DistillConfig(epochs=-1, lr="fast")
    assert len(info.value.problems) == 2
    with pytest.raises(DistillConfigError, match="unknown field.*learning_rate"):
        distill({"learning_rate": 1e-3}, TEXTS)


def test_bad_inputs(teacher, targets):
    with pytest.raises(ValueError, match="empty"):
        distill(config(), [], teacher=teacher)
    with pytest.raises(TypeError, match="single string"):
        distill(config(), "one text", teacher=teacher)
    with pytest.raises(ValueError, match="shape"):
        distill(config(), TEXTS, teacher=teacher, targets=targets[:10])
    with pytest.raises(ValueError, match="NaN"):
        distill(config(), TEXTS, teacher=teacher, targets=np.full_like(targets, np.nan))
    with pytest.raises(DistillConfigError, match="projection=False"):
        distill(config("cnn", projection=False), TEXTS, teacher=teacher, targets=targets)


def test_length_bucketed_batches_cover_every_text_once():
    lengths = np.random.default_rng(0).integers(1, 50, size=103)
    batches = length_bucketed_batches(lengths, 10, np.random.default_rng(1), bucket=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))
    assert all(len(b) <= 10 for b in batches)
    for b in batches:  # each batch is a run of one length-sorted chunk
        assert (np.diff(lengths[b]) >= 0).all()
    again = length_bucketed_batches(lengths, 10, np.random.default_rng(1), bucket=3)
    assert all(np.array_equal(x, y) for x, y in zip(batches, again, strict=True))


def test_default_corpus_adds_augmented_copies(monkeypatch):
    import textsiam.data

    base = ["one two three four five six", "a b c d e f g h", "single"]
    monkeypatch.setattr(textsiam.data, "all_sentences", lambda data_dir=None: list(base))
    texts = default_corpus(None, copies=2, prob=0.5, seed=3)
    assert texts[:3] == base and len(texts) == len(set(texts)) and len(texts) > 3
    assert "single" in texts and texts.count("single") == 1  # a one-word text cannot change
    assert default_corpus(None, copies=2, prob=0.5, seed=3) == texts
    assert default_corpus(None, copies=0) == base
    assert default_corpus(None, copies=1, limit=1)[0] == base[0]
    with pytest.raises(ValueError, match="copies"):
        default_corpus(None, copies=-1)
    with pytest.raises(ValueError, match="prob"):
        default_corpus(None, prob=2.0)
