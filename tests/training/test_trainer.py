"""SiameseTrainingModel (loss modes) and SiameseTrainer (FGM, checkpoint format)."""

from __future__ import annotations

import datasets
import pytest
import torch
from helpers import make_tiny_model
from transformers import TrainingArguments

from textsiam.losses import get_loss
from textsiam.training import SiameseDataCollator
from textsiam.training.trainer import SiameseTrainer, SiameseTrainingModel, loss_mode, word_embeddings
from training.helpers import make_sts_rows


def _features(model, texts):
    return model.encoder.tokenize(texts)[0]


@pytest.mark.parametrize(
    ("loss_name", "kwargs", "mode"),
    [
        ("cosent", {}, "pair"),
        ("contrastive", {}, "pair"),
        ("triplet", {}, "triplet"),
        ("mnrl", {}, "in_batch"),
        ("simcse", {}, "two_views"),
        ("batch_hard_triplet", {}, "single"),
        ("mse", {}, "teacher"),
        ("softmax", {"embedding_dim": 32, "num_labels": 3}, "pair"),
    ],
)
def test_loss_modes_run_and_backpropagate(tiny_model, loss_name, kwargs, mode):
    loss = get_loss(loss_name, **kwargs)
    assert loss_mode(loss) == mode
    wrapper = SiameseTrainingModel(tiny_model, loss).train()
    fa = _features(tiny_model, ["a cat", "a dog", "stocks fell"])
    fb = _features(tiny_model, ["the cat", "the dog", "markets dropped"])
    fc = _features(tiny_model, ["rain", "sun", "snow"])
    labels = {
        "pair": torch.tensor([0.9, 0.5, 0.1]),
        "single": torch.tensor([0, 0, 1]),
        "teacher": torch.randn(3, 32),
    }.get(mode)
    if loss_name == "contrastive":
        labels = torch.tensor([1.0, 0.0, 1.0])
    if loss_name == "softmax":
        labels = torch.tensor([0, 1, 2])
    out = wrapper(fa, fb if mode != "single" else None, fc if mode in ("triplet", "mnrl") else None, labels)
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert word_embeddings(tiny_model).weight.grad is not None
    if loss_name == "softmax":  # the head is part of the trained module
        names = [n for n, _ in wrapper.named_parameters()]
        assert "loss.classifier.weight" in names
        assert wrapper.loss.classifier.weight.grad is not None


def test_simcse_uses_two_dropout_passes(tiny_model):
    calls = []
    loss = get_loss("simcse")
    original = loss.forward

    def spy(a, b=None, labels=None):
        calls.append((a.detach().clone(), b.detach().clone()))
        return original(a, b)

    loss.forward = spy
    wrapper = SiameseTrainingModel(tiny_model, loss).train()
    wrapper(_features(tiny_model, ["a cat sat", "a dog ran"]))
    a, b = calls[0]
    assert not torch.equal(a, b)  # different dropout masks


def _trainer(tmp_path, default_tokenizer, fgm_epsilon=0.0, max_steps=3):
    rows = make_sts_rows(24, 5)
    ds = datasets.Dataset.from_dict(
        {"text_a": [r[0] for r in rows], "text_b": [r[1] for r in rows], "label": [r[2] / 5 for r in rows]}
    )
    model = make_tiny_model(default_tokenizer, seed=0)
    args = TrainingArguments(
        output_dir=str(tmp_path / "ckpt"),
        per_device_train_batch_size=8,
        max_steps=max_steps,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        remove_unused_columns=False,
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    return SiameseTrainer(
        model=SiameseTrainingModel(model, get_loss("cosine_similarity")),
        args=args,
        train_dataset=ds,
        data_collator=SiameseDataCollator(model.encoder.tokenize),
        fgm_epsilon=fgm_epsilon,
    )


def test_fgm_restores_embeddings_and_adds_gradient(tmp_path, default_tokenizer):
    plain = _trainer(tmp_path / "a", default_tokenizer)
    fgm = _trainer(tmp_path / "b", default_tokenizer, fgm_epsilon=1.0)
    batch = next(iter(plain.get_train_dataloader()))
    grads = []
    for trainer in (plain, fgm):
        trainer.current_gradient_accumulation_steps = 1
        emb = word_embeddings(trainer.siamese_model).weight
        before = emb.detach().clone()
        loss = trainer.training_step(trainer.model, dict(batch))
        assert torch.isfinite(loss)
        assert torch.equal(emb.detach(), before)  # FGM put the weights back exactly
        grads.append(emb.grad.detach().clone())
    assert not torch.allclose(grads[0], grads[1])  # the adversarial pass added gradient


def test_fgm_changes_the_loss_trajectory(tmp_path, default_tokenizer):
    losses = []
    for eps, sub in ((0.0, "a"), (5.0, "b")):
        trainer = _trainer(tmp_path / sub, default_tokenizer, fgm_epsilon=eps, max_steps=4)
        trainer.train()
        losses.append([h["loss"] for h in trainer.state.log_history if "loss" in h])
    assert losses[0][0] == pytest.approx(losses[1][0])  # same first batch, same clean loss
    assert losses[0] != losses[1]


def test_checkpoint_is_safetensors_state_dict(tmp_path, default_tokenizer):
    from safetensors.torch import load_file

    trainer = _trainer(tmp_path, default_tokenizer, max_steps=1)
    trainer.train()
    trainer.save_model(str(tmp_path / "saved"))
    state = load_file(str(tmp_path / "saved" / "model.safetensors"))
    own = trainer.model.state_dict()
    assert set(state) == set(own)
    assert all(torch.equal(state[k], own[k].cpu()) for k in own)
    assert (tmp_path / "saved" / "training_args.json").is_file()
    assert not list((tmp_path / "saved").glob("*.bin"))


def test_trainer_rejects_column_removal(tmp_path, tiny_model):
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    with pytest.raises(ValueError, match="remove_unused_columns=False"):
        SiameseTrainer(model=SiameseTrainingModel(tiny_model, get_loss("cosent")), args=args)
