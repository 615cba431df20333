"""Distillation into a static tower, the vocabulary items, PCA-reduced targets, and checkpoints: a run interrupted
and resumed ends with the same student as an uninterrupted one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textsiam.training.distill import (
    CHECKPOINT_DIR,
    DISTILL_INFO_NAME,
    DistillConfig,
    build_student,
    distill,
    pca_reduce,
    teacher_targets,
    vocabulary_items,
    vocabulary_targets,
)

from .test_distill import TEXTS, mean_cosine

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def teacher(default_tokenizer):
    from helpers import make_tiny_model

    return make_tiny_model(default_tokenizer)


@pytest.fixture(scope="module")
def targets(teacher) -> np.ndarray:
    return teacher_targets(teacher, TEXTS, batch_size=16, show_progress=False)


@pytest.fixture(scope="module")
def vocab(teacher):
    items, ids = vocabulary_items(teacher.tokenizer)
    return items, ids, vocabulary_targets(teacher, items, batch_size=1024, show_progress=False)


def static_config(**overrides) -> DistillConfig:
    base = dict(
        tower="static",
        epochs=3,
        batch_size=8,
        lr=1e-2,
        embedding_lr=5e-2,
        device="cpu",
        show_progress=False,
        vocabulary=False,
    )
    base.update(overrides)
    return DistillConfig(**base)


def test_vocabulary_items_wrap_each_token_in_the_special_tokens(teacher, vocab):
    items, ids, rows = vocab
    tok = teacher.tokenizer
    special = set(tok.all_special_ids)
    assert len(ids) == len(tok) - len(special) and not special & set(ids.tolist())
    cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
    assert items.columns["input_ids"][0] == [cls_id, int(ids[0]), sep_id]
    word = tok.convert_tokens_to_ids("guitar")
    row = int(np.searchsorted(ids, word))
    np.testing.assert_allclose(rows[row], teacher.encode(["guitar"])[0], atol=1e-5)  # same as the text "guitar"
    assert rows.shape == (len(ids), teacher.embedding_dim)


def test_distilled_rows_start_as_the_teachers_token_embeddings(teacher, vocab):
    _, ids, rows = vocab
    student = build_student(static_config(), teacher, rows.shape[1], (ids, rows))
    weight = student.encoder.input_embeddings().weight.detach().numpy()
    np.testing.assert_array_equal(weight[ids], rows)
    assert not weight[teacher.tokenizer.cls_token_id].any()  # special tokens start at zero
    # one word's embedding points where the teacher's does (the special tokens add nothing)
    emb = student.encode(["guitar", "park"])
    assert mean_cosine(emb, teacher.encode(["guitar", "park"])) > 0.999


def test_static_student_learns_the_teacher(teacher, targets):
    cfg = static_config()
    result = distill(cfg, TEXTS, teacher=teacher, targets=targets)
    student, log = result.student, result.log
    assert log[-1]["loss"] < log[0]["loss"] and log[-1]["cosine_to_teacher"] > log[0]["cosine_to_teacher"]
    assert type(student.encoder).__name__ == "StaticEncoder" and student.projection is None
    assert mean_cosine(student.encode(TEXTS), targets) > 0.9
    # the static tower's vectors are all it has: saved trainable, so that fine-tuning changes them
    assert student.encoder.config.freeze_embeddings is False
    assert all(t.weight.requires_grad for t in student.encoder.lookup_tables())
    assert not any(t.sparse for t in student.encoder.lookup_tables())


def test_pca_dims_reduce_the_student(teacher, targets):
    result = distill(static_config(pca_dims=8, epochs=1), TEXTS, teacher=teacher, targets=targets)
    assert result.student.embedding_dim == 8 and result.student.projection is None
    cnn = distill(
        static_config(tower="cnn", tower_args={"num_filters": 4}, pca_dims=8, epochs=1),
        TEXTS,
        teacher=teacher,
        targets=targets,
    )
    assert cnn.student.embedding_dim == 8


def test_pca_reduce_keeps_dot_products():
    x = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    full = pca_reduce(x, 6)
    np.testing.assert_allclose(full @ full.T, x @ x.T, atol=1e-3)
    low = pca_reduce(x, 2)
    assert low.shape == (50, 2)
    with pytest.raises(ValueError, match="pca_dims"):
        pca_reduce(x, 7)


def test_vocabulary_only(teacher):
    result = distill(static_config(vocabulary=True, epochs=1, batch_size=2048), [], teacher=teacher)
    assert result.n_texts == 0 and result.log[0]["steps"] == -(-(len(teacher.tokenizer) - 5) // 2048)
    with pytest.raises(ValueError, match="empty"):
        distill(static_config(vocabulary=False), [], teacher=teacher)


@pytest.mark.parametrize("tower", ["static", "cnn"])
def test_interrupted_run_resumes_to_the_same_student(tmp_path, teacher, targets, tower):
    extra = {"tower_args": {"num_filters": 8}, "embeddings": None} if tower == "cnn" else {}
    cfg = dict(epochs=3, batch_size=8, checkpoint_steps=5, **extra)

    def run(out, metric=None, resume=False):
        config = static_config(tower=tower, output_dir=str(out), **cfg)
        return distill(config, TEXTS, teacher=teacher, targets=None, dev_metric=metric, resume=resume)

    calls = []

    def crash_in_epoch_2(student):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed in epoch 2")  # like a kill during its dev evaluation: mid-epoch state
        return 0.0

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt, match="killed in epoch 2"):
        run(out, crash_in_epoch_2)
    assert (out / CHECKPOINT_DIR / "state.safetensors").is_file() and not (out / "textsiam.json").exists()
    with pytest.raises(FileExistsError, match="resume"):
        run(out)
    resumed = run(out, lambda s: 0.0, resume=True)
    plain = run(tmp_path / "plain", lambda s: 0.0)
    np.testing.assert_array_equal(resumed.student.encode(TEXTS), plain.student.encode(TEXTS))
    for a, b in zip(resumed.log, plain.log, strict=True):
        assert a["epoch"] == b["epoch"] and a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    assert not (out / CHECKPOINT_DIR).exists() and (out / DISTILL_INFO_NAME).is_file()
    assert json.loads((out / DISTILL_INFO_NAME).read_text())["n_texts"] == len(TEXTS)


def test_resume_checks(tmp_path, teacher, targets):
    with pytest.raises(FileNotFoundError, match="no interrupted"):
        distill(static_config(output_dir=str(tmp_path / "none")), TEXTS, teacher=teacher, resume=True)
    with pytest.raises(ValueError, match="output_dir"):
        distill(static_config(), TEXTS, teacher=teacher, resume=True)
    out = tmp_path / "run"

    def crash(student):
        raise KeyboardInterrupt("killed at the first dev evaluation")

    with pytest.raises(KeyboardInterrupt, match="killed at the first dev evaluation"):
        distill(static_config(output_dir=str(out)), TEXTS, teacher=teacher, dev_metric=crash)
    with pytest.raises(ValueError, match="other texts"):
        distill(static_config(output_dir=str(out)), TEXTS[:-1], teacher=teacher, resume=True)
    with pytest.raises(ValueError, match="other texts"):
        distill(static_config(output_dir=str(out), lr=0.5), TEXTS, teacher=teacher, resume=True)
    (out / CHECKPOINT_DIR / "mine.txt").write_text("keep")
    fresh = distill(static_config(output_dir=str(out), overwrite=True, epochs=1), TEXTS, teacher=teacher)
    assert fresh.output_dir == out.resolve()
    assert (out / CHECKPOINT_DIR / "mine.txt").read_text() == "keep"  # only what the run wrote is removed
    assert sorted(p.name for p in (out / CHECKPOINT_DIR).iterdir()) == ["mine.txt"]
    assert torch.get_num_threads() == 1


def test_checkpoint_keeps_python_number_slots(tmp_path):
    """SparseAdam keeps its step as an int: restored as a tensor, its bias corrections would be computed in float32
    and a resumed run would drift from an uninterrupted one by ~1e-6."""
    from textsiam.training.distill import DistillCheckpoint

    table = torch.nn.Embedding(4, 2, sparse=True)
    optimizer = torch.optim.SparseAdam(table.parameters(), lr=0.1)
    table(torch.tensor([1, 2])).sum().backward()
    optimizer.step()
    checkpoint = DistillCheckpoint(tmp_path)
    with torch.random.fork_rng():
        checkpoint.save_state(table, [optimizer], [], {"epoch": 1})
        assert checkpoint.load_state(table, [optimizer], []) == {"epoch": 1}
    step = optimizer.state[table.weight]["step"]
    assert step == 1 and not isinstance(step, torch.Tensor)


@pytest.mark.parametrize("tower", ["static", "cnn"])
def test_a_student_fine_tunes_like_any_tower(tmp_path, teacher, targets, tiny_config, tower):
    """``textsiam train --set model=DIR`` on a distilled student: its trainable weights change, and the run saves an
    ordinary model of the same kind."""
    from textsiam import SiameseModel
    from textsiam.cli import main

    extra = {"tower_args": {"num_filters": 8}} if tower == "cnn" else {}
    student_dir = tmp_path / "student"
    distill(static_config(tower=tower, epochs=1, output_dir=str(student_dir), **extra), TEXTS, teacher=teacher)
    cfg_file = tiny_config(epochs=1).to_file(tmp_path / "cfg.yaml")
    out = tmp_path / "run"
    argv = ["train", "--config", str(cfg_file), "--set", f"model={student_dir}", "--output-dir", str(out), "-q"]
    assert main(argv) == 0
    before = SiameseModel.from_pretrained(student_dir, device="cpu")
    after = SiameseModel.from_pretrained(out / "model", device="cpu")
    assert type(after.encoder) is type(before.encoder) and after.embedding_dim == before.embedding_dim
    changed = [
        name
        for (name, a), (_, b) in zip(before.state_dict().items(), after.state_dict().items(), strict=True)
        if not torch.equal(a, b)
    ]
    # static: its token vectors (saved trainable) learn; cnn: its layers learn, its embeddings stay frozen
    want = "encoder.embedding.weight" if tower == "static" else "encoder.convs.0.weight"
    assert want in changed, changed
    if tower == "cnn":
        assert "encoder.embedding.weight" not in changed


def test_in_batch_contrast_adds_its_term_and_the_student_still_learns(teacher, targets):
    from textsiam.training.distill.fit import in_batch_contrast

    goal = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    good = in_batch_contrast(goal * 3.0, goal, 0.05)  # each row its own target: near-zero loss
    bad = in_batch_contrast(goal.roll(1, dims=0), goal, 0.05)  # each row another row's target
    assert float(good) < 0.05 < float(bad)
    plain = distill(static_config(epochs=2), TEXTS, teacher=teacher, targets=targets)
    both = distill(static_config(epochs=2, contrast_weight=1.0), TEXTS, teacher=teacher, targets=targets)
    assert both.log[-1]["loss"] > plain.log[-1]["loss"]  # the logged loss includes the contrastive term
    assert both.log[-1]["cosine_to_teacher"] > both.log[0]["cosine_to_teacher"]
    assert not np.array_equal(both.student.encode(TEXTS), plain.student.encode(TEXTS))
    with pytest.raises(ValueError, match="contrast_temperature"):
        DistillConfig(contrast_temperature=0)
    with pytest.raises(ValueError, match="contrast_weight"):
        DistillConfig(contrast_weight=-1)
